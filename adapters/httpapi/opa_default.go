package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

// DefaultDecisionPath is the document POST / answers unless
// WithDefaultDecision says otherwise: the whole decision result. OPA's own
// default is system/main (its --set=default_decision).
const DefaultDecisionPath = "gatehouse/decision/result"

// WithDefaultDecision sets the Data API entry point whose document POST /
// answers (OPA's default decision). The zero DataPath, and the default, is
// DefaultDecisionPath.
func WithDefaultDecision(p engine.DataPath) Option {
	return func(s *Server) { s.defaultDecision = p }
}

// queryDefault answers POST /, OPA's default decision: the body is the
// input, whole (not wrapped in "input"), read as the Data API reads an
// input (engine.ParseDecisionInput: forged store records and unknown fields
// are refused with 400 naming the field, e.g. input.user). The decision is
// made as POST /v1/decisions makes it (store, cache, fail closed, decision
// log, metrics), and the answer is the document at the default decision
// path itself, as OPA answers it: no "result" wrapper, no decision_id. A
// document the decision leaves undefined (e.g. the grant of a deny, when
// the default decision is gatehouse/decision/result/grant) is OPA's 404
// {"code": "undefined_document", "message": "document undefined: <ref>"}.
// Errors are OPA's {"code", "message"}.
func (s *Server) queryDefault(c *gin.Context) {
	raw, err := s.readBody(c)
	if err != nil {
		s.renderDataError(c, err)
		return
	}
	req, err := question(c, raw)
	if err != nil {
		s.renderDataError(c, err)
		return
	}
	res, err := s.eng.Query(c.Request.Context(), s.defaultDecision, req)
	if err != nil {
		s.renderDataError(c, err)
		return
	}
	if !res.Defined {
		s.renderDataError(c, s.defaultDecision.Undefined())
		return
	}
	s.renderOK(c, res.Result)
}

// readBody reads the request body, at most s.maxBody bytes (413 past it);
// nil for an empty body.
func (s *Server) readBody(c *gin.Context) ([]byte, error) {
	if c.Request.Body == nil {
		return nil, nil
	}
	b := s.buffers.get()
	defer s.buffers.put(b)
	if _, err := b.buf.ReadFrom(http.MaxBytesReader(c.Writer, c.Request.Body, s.maxBody)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, engine.Invalid("body", "could not be read: %v", err)
	}
	data := bytes.TrimSpace(b.buf.Bytes())
	if len(data) == 0 {
		return nil, nil
	}
	return bytes.Clone(data), nil
}

// isOPAPath reports whether path is one of OPA's (the default decision,
// the Data API, the batch Data API), whose every answer, 405 included, is
// in OPA's shape.
func isOPAPath(path string) bool {
	if path == "/" {
		return true
	}
	for _, root := range []string{"/v1/data", "/v1/batch/data"} {
		if path == root || strings.HasPrefix(path, root+"/") {
			return true
		}
	}
	return false
}

// opaMethodNotAllowed answers a method an OPA path does not have: 405
// invalid_operation in OPA's shape; allow lists the methods it has.
func (s *Server) opaMethodNotAllowed(c *gin.Context, allow string) {
	c.Header("Allow", allow)
	c.AbortWithStatusJSON(http.StatusMethodNotAllowed, opaError{
		Code:    opaCodeInvalidOperation,
		Message: "method " + c.Request.Method + " is not allowed on " + c.Request.URL.Path + "; allowed: " + allow,
	})
}
