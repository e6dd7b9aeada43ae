package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

// OPA's error codes (v1 REST API), used on /v1/data paths only.
const (
	opaCodeInvalidParameter  = "invalid_parameter"
	opaCodeInvalidOperation  = "invalid_operation"
	opaCodeUndefinedDocument = "undefined_document"
	opaCodeInternal          = "internal_error"
)

// queryData answers POST and GET /v1/data/{path} as OPA's Data API does,
// for the documented entry points only (engine.ParseDataPath): any other
// path is a 404 undefined_document before anything is read or evaluated.
// The input (the POST body's "input", or GET's "input" query parameter
// holding JSON, the last one when repeated, as OPA reads it) is the
// decision question, read by engine.ParseDecisionInput: fields gatehouse
// fills from the store or the clock are refused with 400. The decision is
// made by the engine as POST /v1/decisions makes it (store, cache, fail
// closed, decision log, metrics), and answered as {"result": ...,
// "decision_id": ...}, without result when the document below the entry
// point is undefined (e.g. the grant of a deny). Errors are OPA's
// {"code", "message"}. Other OPA query parameters (pretty, explain,
// metrics, provenance...) are ignored.
func (s *Server) queryData(c *gin.Context) {
	path, err := engine.ParseDataPath(c.Param("path"))
	if err != nil {
		s.renderDataError(c, err)
		return
	}
	raw, err := s.dataInput(c)
	if err != nil {
		s.renderDataError(c, err)
		return
	}
	req, err := question(c, raw)
	if err != nil {
		s.renderDataError(c, err)
		return
	}
	res, err := s.eng.Query(c.Request.Context(), path, req)
	if err != nil {
		s.renderDataError(c, err)
		return
	}
	if !res.Defined {
		s.renderOK(c, dataUndefinedResponse{DecisionID: res.DecisionID})
		return
	}
	s.renderOK(c, dataResponse{Result: res.Result, DecisionID: res.DecisionID})
}

// queryDataRoot answers the data root (/v1/data without a path): it is not
// an entry point.
func (s *Server) queryDataRoot(c *gin.Context) {
	_, err := engine.ParseDataPath("")
	s.renderDataError(c, err)
}

// writeData answers the Data API's writes (PUT, PATCH, DELETE), which
// gatehouse does not offer: its data is the store, changed through the
// directory, member and request endpoints.
func (s *Server) writeData(c *gin.Context) {
	c.Header("Allow", "GET, POST")
	c.AbortWithStatusJSON(http.StatusMethodNotAllowed, opaError{
		Code:    opaCodeInvalidOperation,
		Message: "gatehouse's Data API only reads decisions (GET, POST); its data is changed through the directory, member and request endpoints",
	})
}

// dataInput returns the raw input of a Data API query, nil when absent.
func (s *Server) dataInput(c *gin.Context) (json.RawMessage, error) {
	if c.Request.Method == http.MethodGet {
		values := c.Request.URL.Query()["input"]
		if len(values) == 0 {
			return nil, nil
		}
		return json.RawMessage(values[len(values)-1]), nil
	}
	var req dataRequest
	if err := s.decodeBody(c, &req, bodyOptional); err != nil {
		return nil, err
	}
	return req.Input, nil
}

// decodeInput decodes one JSON value with exact numbers (json.Number),
// refusing an object key given twice or twice in different case anywhere in
// it; nil for an absent input.
func decodeInput(raw json.RawMessage) (any, error) { return decodeInputAt("input", raw) }

// decodeInputAt is decodeInput for an input whose errors name it field
// (e.g. inputs.a in a batch).
func decodeInputAt(field string, raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if err := checkKeys(field, raw); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, engine.Invalid(field, "is not one JSON value: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, engine.Invalid(field, "must hold one JSON value, but more follows it")
	}
	return v, nil
}

// keyFrame is one open object or array of checkKeys's walk.
type keyFrame struct {
	path string
	// keys maps each lower-cased key of an object to the key; nil for an array.
	keys map[string]string
	// index is the next index of an array.
	index int
	// value is the path of an object's value about to be read, "" when a
	// key comes next.
	value string
}

// checkKeys walks raw and refuses an object holding a key twice, or two
// keys that differ only in case, naming the field (R44). It walks
// iteratively: nesting depth costs no stack.
func checkKeys(field string, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var stack []*keyFrame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return engine.Invalid(field, "is not valid JSON: %v", err)
		}
		var top *keyFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				stack[len(stack)-1].value = ""
			}
			continue
		}
		if top != nil && top.keys != nil && top.value == "" {
			key, _ := tok.(string)
			folded := strings.ToLower(key)
			if prev, seen := top.keys[folded]; seen {
				if prev == key {
					return engine.Invalid(top.path+"."+key, "appears twice")
				}
				return engine.Invalid(top.path+"."+key, "differs from %q only in case", prev)
			}
			top.keys[folded] = key
			top.value = top.path + "." + key
			continue
		}
		path := field
		switch {
		case top != nil && top.keys == nil:
			path = top.path + "[" + strconv.Itoa(top.index) + "]"
			top.index++
		case top != nil:
			path = top.value
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &keyFrame{path: path, keys: map[string]string{}})
		case json.Delim('['):
			stack = append(stack, &keyFrame{path: path})
		default:
			if top != nil {
				top.value = ""
			}
		}
	}
}

// renderDataError answers err on a /v1/data path in OPA's shape
// {"code", "message"}, with the status of the one error table
// (errorResponse): 400 and 413 invalid_parameter, 401 unauthorized, 404
// undefined_document, otherwise internal_error.
func (s *Server) renderDataError(c *gin.Context, err error) {
	status, body, internal := errorResponse(err)
	code := opaCodeInternal
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		code = opaCodeInvalidParameter
	case http.StatusNotFound:
		code = opaCodeUndefinedDocument
	case http.StatusUnauthorized:
		code = opaCodeUnauthorized
		c.Header("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	if internal {
		s.log.ErrorContext(c.Request.Context(), "request failed",
			"method", c.Request.Method, "path", c.Request.URL.Path, "error", err)
	}
	c.AbortWithStatusJSON(status, opaError{Code: code, Message: body.Message})
}

// question reads the decision question of an OPA-shaped request from its
// raw input (engine.ParseDecisionInput: fields gatehouse fills from the
// store are refused), asked by the authenticated caller, if any.
func question(c *gin.Context, raw []byte) (engine.DecisionRequest, error) {
	input, err := decodeInput(raw)
	if err != nil {
		return engine.DecisionRequest{}, err
	}
	req, err := engine.ParseDecisionInput(input)
	if err != nil {
		return engine.DecisionRequest{}, err
	}
	req.Caller = caller(c)
	return req, nil
}
