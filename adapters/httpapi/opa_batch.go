package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

// MaxBatchInputs bounds the inputs of one POST /v1/batch/data/{path}, as
// MaxBatchChecks bounds POST /v1/decisions/batch.
const MaxBatchInputs = MaxBatchChecks

// batchDataRequest is the body of the batch Data API (Enterprise OPA's
// POST /v1/batch/data/{path}): inputs by the caller's ids, and an optional
// common_input deep-merged under each (an input's own values win). The
// inputs are kept raw, to be read strictly and with exact numbers.
type batchDataRequest struct {
	Inputs      map[string]json.RawMessage `json:"inputs"`
	CommonInput json.RawMessage            `json:"common_input"`
}

// batchDataResponse is the batch Data API's answer when every input was
// answered: {"batch_decision_id", "responses": {id: {"result"?,
// "decision_id"}}}. A response has no result when the document below the
// entry point is undefined for its input, as in the Data API.
type batchDataResponse struct {
	BatchDecisionID string                     `json:"batch_decision_id"`
	Responses       map[string]json.RawMessage `json:"responses"`
}

// opaBatchError is the batch Data API's error: OPA's {"code", "message"},
// with errors listing each input refused (its message names it:
// inputs.<id>.<field>).
type opaBatchError struct {
	Code    string     `json:"code"`
	Message string     `json:"message"`
	Errors  []opaError `json:"errors,omitempty"`
}

// queryBatch answers POST /v1/batch/data/{path}, the batch Data API of
// Enterprise OPA that OPA's SDKs call in evaluateBatch: every input is the
// decision question for the same entry point (engine.ParseDataPath; any
// other path is a 404 undefined_document, nothing evaluated), each decided
// as POST /v1/data decides it (logged and counted one by one). The answer
// is 200 {"batch_decision_id", "responses": {id: {"result", "decision_id"}}}.
//
// Inputs are checked before anything is decided (R44): more than
// MaxBatchInputs, a missing inputs, or any input that is not a valid
// question (forged store records, unknown fields, keys twice) is a 400
// invalid_parameter whose message names the first bad input's field
// (inputs.<id>.user) and whose errors list every bad input. A decision
// that cannot be made is a deny (fail closed), never an error, so the 207
// and 500 answers of Enterprise OPA's per-input evaluation errors do not
// occur.
func (s *Server) queryBatch(c *gin.Context) {
	path, err := engine.ParseDataPath(c.Param("path"))
	if err != nil {
		s.renderDataError(c, err)
		return
	}
	var body batchDataRequest
	if err := s.decodeBody(c, &body, bodyRequired); err != nil {
		s.renderDataError(c, err)
		return
	}
	switch {
	case body.Inputs == nil:
		s.renderDataError(c, engine.Invalid("inputs", "is required: an object of decision questions by id, e.g. {\"inputs\": {\"a\": {\"subject\": ...}}}"))
		return
	case len(body.Inputs) > MaxBatchInputs:
		s.renderDataError(c, engine.Invalid("inputs", "holds %d inputs; a batch holds at most %d", len(body.Inputs), MaxBatchInputs))
		return
	}
	var common any
	if len(body.CommonInput) > 0 {
		if common, err = decodeInputAt("common_input", body.CommonInput); err != nil {
			s.renderDataError(c, err)
			return
		}
	}
	ids := make([]string, 0, len(body.Inputs))
	for id := range body.Inputs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	reqs := make([]engine.DecisionRequest, len(ids))
	var refused []opaError
	for i, id := range ids {
		req, err := batchQuestion(id, body.Inputs[id], common)
		if err != nil {
			_, e, _ := errorResponse(err)
			refused = append(refused, opaError{Code: opaCodeInvalidParameter, Message: e.Message})
			continue
		}
		req.Caller = caller(c)
		reqs[i] = req
	}
	if len(refused) > 0 {
		c.AbortWithStatusJSON(http.StatusBadRequest, opaBatchError{
			Code:    opaCodeInvalidParameter,
			Message: batchRefusal(refused),
			Errors:  refused,
		})
		return
	}
	res, err := s.eng.QueryBatch(c.Request.Context(), path, reqs)
	if err != nil {
		s.renderDataError(c, err)
		return
	}
	out := batchDataResponse{BatchDecisionID: res.BatchDecisionID, Responses: make(map[string]json.RawMessage, len(ids))}
	for i, r := range res.Results {
		var v any = dataUndefinedResponse{DecisionID: r.DecisionID}
		if r.Defined {
			v = dataResponse{Result: r.Result, DecisionID: r.DecisionID}
		}
		raw, err := json.Marshal(v)
		if err != nil {
			s.renderDataError(c, err)
			return
		}
		out.Responses[ids[i]] = raw
	}
	s.renderOK(c, out)
}

// queryBatchRoot answers the batch Data API on the data root: it is not an
// entry point.
func (s *Server) queryBatchRoot(c *gin.Context) {
	_, err := engine.ParseDataPath("")
	s.renderDataError(c, err)
}

// batchQuestion reads the input called id (merged over common, when
// given) as a decision question; errors name the field below
// inputs.<id>.
func batchQuestion(id string, raw json.RawMessage, common any) (engine.DecisionRequest, error) {
	field := batchInputField(id)
	input, err := decodeInputAt(field, raw)
	if err != nil {
		return engine.DecisionRequest{}, err
	}
	if common != nil {
		input = mergeInput(common, input)
	}
	req, err := engine.ParseDecisionInput(input)
	if err != nil {
		return engine.DecisionRequest{}, renameInputField(field, err)
	}
	return req, nil
}

// batchInputField names the input called id: inputs.<id>, or
// inputs["<id>"] when id is not a plain id.
func batchInputField(id string) string {
	if engine.ValidID(id) {
		return "inputs." + id
	}
	return "inputs[" + strconv.Quote(id) + "]"
}

// renameInputField names the field of an *engine.FieldError below field
// instead of below input.
func renameInputField(field string, err error) error {
	if fe, ok := err.(*engine.FieldError); ok {
		if rest, ok := strings.CutPrefix(fe.Field, "input"); ok {
			return &engine.FieldError{Field: field + rest, Message: fe.Message}
		}
	}
	return err
}

// mergeInput deep-merges input over common, as Enterprise OPA merges
// common_input: objects merge key by key, and for any other value the
// input's wins. Neither argument is changed.
func mergeInput(common, input any) any {
	cm, ok := common.(map[string]any)
	if !ok {
		return input
	}
	im, ok := input.(map[string]any)
	if !ok {
		return input
	}
	out := make(map[string]any, len(cm)+len(im))
	for k, v := range cm {
		out[k] = v
	}
	for k, v := range im {
		if prev, both := out[k]; both {
			out[k] = mergeInput(prev, v)
			continue
		}
		out[k] = v
	}
	return out
}

// batchRefusal is the message of a refused batch: the first refusal, and
// how many more there are.
func batchRefusal(refused []opaError) string {
	msg := refused[0].Message
	if n := len(refused) - 1; n > 0 {
		msg += " (and " + strconv.Itoa(n) + " more refused inputs: see errors; nothing was decided)"
	} else {
		msg += " (nothing was decided)"
	}
	return msg
}
