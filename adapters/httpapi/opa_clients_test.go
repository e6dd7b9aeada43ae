package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/engine"
)

// Questions of the demo's acme (seedDemoAcme), as OPA inputs.
const (
	aliceManages = `{"subject": "alice", "action": "manage", "resource": {"account": "acme"}}`
	bobManages   = `{"subject": "bob", "action": "manage", "resource": {"account": "acme"}}`
	carolViews   = `{"subject": "carol", "action": "view", "resource": {"account": "acme"}}`
	forgedInput  = `{"subject": "mallory", "action": "manage", "resource": {"account": "acme"},
		"membership": {"roles": ["account_admin"]}}`
)

// dataResultOf returns the Data API's result for input at path.
func (h *harness) dataResultOf(path, input string) json.RawMessage {
	h.tb.Helper()
	rec := h.call(http.MethodPost, path, "", `{"input": `+input+`}`)
	require.Equal(h.tb, http.StatusOK, rec.Code, rec.Body.String())
	return decodeAs[dataAnswer](h.tb, rec).Result
}

// Issue 10 §6: POST / is OPA's default decision. The body is the input,
// whole; the answer is the document itself (no result wrapper), the one
// the Data API answers for the same question, from the store; errors are
// OPA's {"code", "message"}; an undefined default decision is a 404
// undefined_document.
func TestDefaultDecisionAnswersAsOPA(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h := newHarness(t, kind.open(t))
			seedDemoAcme(h)
			for _, q := range []struct {
				name  string
				input string
				allow bool
			}{
				{"alice manages acme", aliceManages, true},
				{"bob may not manage acme", bobManages, false},
				{"carol is no member", carolViews, false},
			} {
				t.Run(q.name, func(t *testing.T) {
					before := h.decisionTotal()
					rec := h.call(http.MethodPost, "/", "", q.input)
					require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
					assert.JSONEq(t, string(h.dataResultOf(dataResult, q.input)), rec.Body.String(),
						"POST / answers the document of gatehouse/decision/result, unwrapped")
					got := decodeAs[map[string]any](t, rec)
					assert.Equal(t, q.allow, got["allow"])
					assert.NotContains(t, got, "result")
					assert.NotContains(t, got, "decision_id")
					assert.Equal(t, before+2, h.decisionTotal(), "POST / is a decision, counted like any other")
				})
			}
		})
	}
}

func TestDefaultDecisionRefusesBadInput(t *testing.T) {
	h := newEmbeddedHarness(t, httpapi.WithMaxBodyBytes(4096))
	seedDemoAcme(h)
	cases := []struct {
		name, body string
		status     int
		code       string
		message    string
	}{
		{"a forged membership", forgedInput, http.StatusBadRequest, "invalid_parameter",
			"input.membership: is filled by gatehouse from the store; a caller may not set it"},
		{"the input wrapped as for /v1/data", `{"input": ` + aliceManages + `}`, http.StatusBadRequest, "invalid_parameter",
			"input.input: is not a known field (the question has subject, action, resource, context and consistency)"},
		{"no body", ``, http.StatusBadRequest, "invalid_parameter",
			"input: is required: the decision question {subject, action, resource, context}"},
		{"malformed JSON", `{"subject": `, http.StatusBadRequest, "invalid_parameter", ""},
		{"a key twice", `{"subject": "alice", "subject": "bob", "action": "manage", "resource": {"account": "acme"}}`,
			http.StatusBadRequest, "invalid_parameter", "input.subject: appears twice"},
		{"not an object", `[1, 2]`, http.StatusBadRequest, "invalid_parameter",
			"input: must be an object: the decision question {subject, action, resource, context}"},
		{"a body past the limit", `{"subject": "` + strings.Repeat("a", 5000) + `"}`, http.StatusRequestEntityTooLarge, "invalid_parameter",
			"the request body is larger than 4096 bytes"},
	}
	before := h.decisionTotal()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := requireOPAError(t, h.call(http.MethodPost, "/", "", tc.body), tc.status, tc.code)
			if tc.message != "" {
				assert.Equal(t, tc.message, e.Message)
			}
		})
	}
	assert.Equal(t, before, h.decisionTotal(), "a refused input decides nothing")
}

// The default decision is configurable (OPA's default_decision); a
// document the decision leaves undefined is OPA's 404.
func TestDefaultDecisionPathIsConfigurable(t *testing.T) {
	grant, err := engine.ParseDataPath("gatehouse/decision/result/grant")
	require.NoError(t, err)
	h := newEmbeddedHarness(t, httpapi.WithDefaultDecision(grant))
	seedDemoAcme(h)

	rec := h.call(http.MethodPost, "/", "", aliceManages)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.JSONEq(t, string(h.dataResultOf(dataResult+"/grant", aliceManages)), rec.Body.String())

	before := h.decisionTotal()
	e := requireOPAError(t, h.call(http.MethodPost, "/", "", bobManages), http.StatusNotFound, "undefined_document")
	assert.Equal(t, "document undefined: data.gatehouse.decision.result.grant", e.Message)
	assert.Equal(t, before+1, h.decisionTotal(), "the undefined document was a real decision, a deny")

	allow, err := engine.ParseDataPath("gatehouse/decision/allow")
	require.NoError(t, err)
	h = newEmbeddedHarness(t, httpapi.WithDefaultDecision(allow))
	seedDemoAcme(h)
	for input, want := range map[string]string{aliceManages: "true", bobManages: "false"} {
		rec := h.call(http.MethodPost, "/", "", input)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.JSONEq(t, want, rec.Body.String(), input)
	}
}

// batchAnswer is the batch Data API's answer.
type batchAnswer struct {
	BatchDecisionID string                `json:"batch_decision_id"`
	Responses       map[string]dataAnswer `json:"responses"`
}

// opaBatchErrorAnswer is the batch Data API's error.
type opaBatchErrorAnswer struct {
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Errors  []opaErrorAnswer `json:"errors"`
}

// Issue 10 §6: POST /v1/batch/data/{path} is Enterprise OPA's batch Data
// API, which OPA's SDKs call in evaluateBatch: each input is answered as
// POST /v1/data answers it, by the caller's id, each a decision.
func TestBatchDataAPIAnswersEachInputAsTheDataAPI(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h := newHarness(t, kind.open(t))
			seedDemoAcme(h)
			inputs := map[string]string{"alice": aliceManages, "bob": bobManages, "carol": carolViews}
			body := `{"inputs": {"alice": ` + aliceManages + `, "bob": ` + bobManages + `, "carol": ` + carolViews + `}}`
			for _, path := range []string{dataResult, dataResult + "/allow", "/v1/data/gatehouse/decision/allow", dataResult + "/reasons/0"} {
				t.Run(path, func(t *testing.T) {
					batchPath := strings.Replace(path, "/v1/data/", "/v1/batch/data/", 1)
					before := h.decisionTotal()
					rec := h.call(http.MethodPost, batchPath, "", body)
					require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
					got := decodeAs[batchAnswer](t, rec)
					assert.NotEmpty(t, got.BatchDecisionID)
					require.Len(t, got.Responses, len(inputs))
					ids := map[string]bool{}
					for id, input := range inputs {
						assert.JSONEq(t, string(h.dataResultOf(path, input)), string(got.Responses[id].Result), id)
						assert.NotEmpty(t, got.Responses[id].DecisionID, id)
						ids[got.Responses[id].DecisionID] = true
					}
					assert.Len(t, ids, len(inputs), "each input is its own decision")
					assert.Equal(t, before+2*len(inputs), h.decisionTotal(), "each input is a decision, counted")
				})
			}

			t.Run("a document the decision leaves undefined has no result", func(t *testing.T) {
				rec := h.call(http.MethodPost, "/v1/batch/data/gatehouse/decision/result/grant", "", body)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				var got struct {
					Responses map[string]map[string]json.RawMessage `json:"responses"`
				}
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
				assert.Contains(t, got.Responses["alice"], "result")
				assert.NotContains(t, got.Responses["bob"], "result")
				assert.NotEmpty(t, got.Responses["bob"]["decision_id"])
			})
		})
	}
}

func TestBatchDataAPIMergesCommonInput(t *testing.T) {
	h := newEmbeddedHarness(t)
	seedDemoAcme(h)
	rec := h.call(http.MethodPost, "/v1/batch/data/gatehouse/decision/allow", "", `{
		"common_input": {"action": "manage", "resource": {"account": "acme"}, "subject": "carol"},
		"inputs": {"a": {"subject": "alice"}, "b": {"subject": "bob"}, "c": {}}}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := decodeAs[batchAnswer](t, rec)
	assert.JSONEq(t, "true", string(got.Responses["a"].Result), "an input's own subject wins over common_input's")
	assert.JSONEq(t, "false", string(got.Responses["b"].Result))
	assert.JSONEq(t, "false", string(got.Responses["c"].Result), "carol, from common_input, manages nothing")

	rec = h.call(http.MethodPost, "/v1/batch/data/gatehouse/decision/allow", "", `{"inputs": {}}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Empty(t, decodeAs[batchAnswer](t, rec).Responses, "an empty batch is answered empty, as in Enterprise OPA")
}

// Bad input in a batch is a 400 naming each refused input's field, and
// nothing is decided (R44); the batch is bounded.
func TestBatchDataAPIRefusesBadInput(t *testing.T) {
	h := newEmbeddedHarness(t)
	seedDemoAcme(h)
	const path = "/v1/batch/data/gatehouse/decision/result"
	before := h.decisionTotal()

	rec := h.call(http.MethodPost, path, "", `{"inputs": {"ok": `+aliceManages+`, "forged": `+forgedInput+`, "odd id": {"subject": "alice", "now_ns": 1}}}`)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	e := decodeAs[opaBatchErrorAnswer](t, rec)
	assert.Equal(t, "invalid_parameter", e.Code)
	assert.Equal(t, "inputs.forged.membership: is filled by gatehouse from the store; a caller may not set it"+
		" (and 1 more refused inputs: see errors; nothing was decided)", e.Message)
	assert.Equal(t, []opaErrorAnswer{
		{Code: "invalid_parameter", Message: "inputs.forged.membership: is filled by gatehouse from the store; a caller may not set it"},
		{Code: "invalid_parameter", Message: `inputs["odd id"].now_ns: is filled by gatehouse from the clock; a caller may not set it`},
	}, e.Errors)

	rec = h.call(http.MethodPost, path, "", `{"common_input": {"tenant": {}}, "inputs": {"a": `+aliceManages+`}}`)
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	e = decodeAs[opaBatchErrorAnswer](t, rec)
	assert.Equal(t, "inputs.a.tenant: is filled by gatehouse from the store; a caller may not set it (nothing was decided)", e.Message,
		"a field of common_input is named in the input it was merged into")
	assert.Len(t, e.Errors, 1)

	many := make([]string, httpapi.MaxBatchInputs+1)
	for i := range many {
		many[i] = `"q` + strconv.Itoa(i) + `": ` + aliceManages
	}
	for _, tc := range []struct {
		name, path, body string
		status           int
		code, message    string
	}{
		{"more inputs than a batch holds", path, `{"inputs": {` + strings.Join(many, ", ") + `}}`, http.StatusBadRequest, "invalid_parameter",
			"inputs: holds 101 inputs; a batch holds at most 100"},
		{"no inputs", path, `{}`, http.StatusBadRequest, "invalid_parameter", ""},
		{"inputs not an object", path, `{"inputs": [` + aliceManages + `]}`, http.StatusBadRequest, "invalid_parameter", ""},
		{"an unknown field", path, `{"inputs": {}, "input": {}}`, http.StatusBadRequest, "invalid_parameter", ""},
		{"an id twice", path, `{"inputs": {"a": ` + aliceManages + `, "a": ` + bobManages + `}}`, http.StatusBadRequest, "invalid_parameter", ""},
		{"no body", path, ``, http.StatusBadRequest, "invalid_parameter", "body: a JSON body is required"},
		{"a path that is no entry point", "/v1/batch/data/gatehouse/decision_test", `{"inputs": {"a": ` + aliceManages + `}}`,
			http.StatusNotFound, "undefined_document", ""},
		{"the data root", "/v1/batch/data", `{"inputs": {"a": ` + aliceManages + `}}`, http.StatusNotFound, "undefined_document", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := requireOPAError(t, h.call(http.MethodPost, tc.path, "", tc.body), tc.status, tc.code)
			if tc.message != "" {
				assert.Equal(t, tc.message, e.Message)
			}
		})
	}
	assert.Equal(t, before, h.decisionTotal(), "a refused batch decides nothing")
}

// On OPA's paths a method the path does not have is a 405 in OPA's shape.
func TestOPAPathsAnswerWrongMethodsInOPAShape(t *testing.T) {
	h := newEmbeddedHarness(t)
	for _, tc := range []struct{ method, path, allow string }{
		{http.MethodGet, "/", "POST"},
		{http.MethodPut, "/", "POST"},
		{http.MethodGet, "/v1/batch/data/gatehouse/decision/result", "POST"},
		{http.MethodDelete, "/v1/batch/data", "POST"},
		{http.MethodOptions, "/v1/data/gatehouse/decision/result", "GET, POST, PUT, PATCH, DELETE, HEAD"},
	} {
		rec := h.call(tc.method, tc.path, "", nil)
		e := requireOPAError(t, rec, http.StatusMethodNotAllowed, "invalid_operation")
		assert.Contains(t, e.Message, "method "+tc.method+" is not allowed on "+tc.path)
		assert.ElementsMatch(t, strings.Split(tc.allow, ", "), strings.Split(rec.Header().Get("Allow"), ", "), tc.method+" "+tc.path)
	}
}
