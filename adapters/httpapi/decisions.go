package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

// MaxBatchChecks bounds the checks of one POST /v1/decisions/batch.
const MaxBatchChecks = 100

// decide answers POST /v1/decisions. It is the hot path: one strict decode
// into a small struct, one engine call, one encode into a pooled buffer.
// Numbers in context stay exact (json.Number): an integer above 2^53
// reaches the policy unchanged. With consistency.at_least, the decision is
// made on state at least as fresh as that write's token; a malformed token
// is a 400 naming the field.
func (s *Server) decide(c *gin.Context) {
	var req decisionRequest
	if err := s.decodeBody(c, &req, bodyRequired|bodyNumbers); err != nil {
		s.renderError(c, err)
		return
	}
	dr := req.toEngine()
	dr.Caller = caller(c)
	if err := dr.Validate(); err != nil {
		s.renderError(c, err)
		return
	}
	var err error
	if dr.AtLeast, err = req.Consistency.atLeast("consistency"); err != nil {
		s.renderError(c, err)
		return
	}
	s.render(c, http.StatusOK, newDecisionResponse(s.eng.Decide(c.Request.Context(), dr)))
}

// decideBatch answers POST /v1/decisions/batch, in the order of the checks.
// Numbers in context stay exact, as in decide. A consistency beside the
// checks applies to every check that names none of its own.
func (s *Server) decideBatch(c *gin.Context) {
	var req batchRequest
	if err := s.decodeBody(c, &req, bodyRequired|bodyNumbers); err != nil {
		s.renderError(c, err)
		return
	}
	if len(req.Checks) == 0 || len(req.Checks) > MaxBatchChecks {
		s.renderError(c, &engine.ViolationError{Violations: []string{
			"a batch must hold from 1 to " + strconv.Itoa(MaxBatchChecks) +
				" checks (it has " + strconv.Itoa(len(req.Checks)) + ")",
		}})
		return
	}
	all, err := req.Consistency.atLeast("consistency")
	if err != nil {
		s.renderError(c, err)
		return
	}
	reqs := make([]engine.DecisionRequest, len(req.Checks))
	for i, check := range req.Checks {
		reqs[i] = check.toEngine()
		reqs[i].Caller = caller(c)
		if err := reqs[i].Validate(); err != nil {
			s.renderError(c, prefixField("checks["+strconv.Itoa(i)+"].", err))
			return
		}
		if reqs[i].AtLeast, err = check.Consistency.atLeast("checks[" + strconv.Itoa(i) + "].consistency"); err != nil {
			s.renderError(c, err)
			return
		}
		if reqs[i].AtLeast == nil {
			reqs[i].AtLeast = all
		}
	}
	decisions := s.eng.DecideBatch(c.Request.Context(), reqs)
	out := batchResponse{Results: make([]decisionResponse, len(decisions))}
	for i, d := range decisions {
		out.Results[i] = newDecisionResponse(d)
	}
	s.renderOK(c, out)
}

// prefixField names a field of a nested object in a *engine.FieldError.
func prefixField(prefix string, err error) error {
	var fe *engine.FieldError
	if errors.As(err, &fe) {
		return &engine.FieldError{Field: prefix + fe.Field, Message: fe.Message}
	}
	return err
}
