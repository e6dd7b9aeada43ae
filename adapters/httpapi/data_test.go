package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

const dataResult = "/v1/data/gatehouse/decision/result"

// seedDemoAcme writes the demo's acme: alice its account_admin, bob a
// va_user on acme-emea, carol a user with no membership.
func seedDemoAcme(h *harness) {
	h.tb.Helper()
	now := time.Now().UTC()
	h.seed(engine.Change{
		Users: []engine.User{
			{ID: "alice", Email: "alice@acme.example", CreatedAt: now},
			{ID: "bob", Email: "bob@acme.example", CreatedAt: now},
			{ID: "carol", Email: "carol@acme.example", CreatedAt: now},
		},
		Accounts: []engine.Account{{ID: "acme", Name: "Acme", VirtualAccounts: []string{"acme-emea", "acme-us"}, CreatedAt: now}},
		Members: []engine.Membership{
			{Account: "acme", User: "alice", Roles: []string{"account_admin"}, Contact: "primary", AddedBy: systemAdmin, AddedAt: now},
			{Account: "acme", User: "bob", Roles: []string{}, VARoles: map[string]string{"acme-emea": "va_user"}, AddedBy: "alice", AddedAt: now},
		},
	})
}

// dataAnswer is OPA's Data API answer.
type dataAnswer struct {
	Result     json.RawMessage `json:"result"`
	DecisionID string          `json:"decision_id"`
}

// opaErrorAnswer is OPA's error body.
type opaErrorAnswer struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// requireOPAError checks an answer is OPA's error body, exactly
// {"code", "message"}, with status and code, and returns it.
func requireOPAError(tb testing.TB, rec *httptest.ResponseRecorder, status int, code string) opaErrorAnswer {
	tb.Helper()
	require.Equal(tb, status, rec.Code, rec.Body.String())
	var raw map[string]any
	require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &raw), rec.Body.String())
	require.ElementsMatch(tb, []string{"code", "message"}, keysOf(raw), rec.Body.String())
	var e opaErrorAnswer
	require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &e))
	require.Equal(tb, code, e.Code, rec.Body.String())
	require.NotEmpty(tb, e.Message)
	return e
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// dataGet asks GET path with input as OPA's "input" query parameter.
func (h *harness) dataGet(path, input string) *httptest.ResponseRecorder {
	h.tb.Helper()
	return h.call(http.MethodGet, path+"?input="+url.QueryEscape(input), "", nil)
}

// decisionCount reads gatehouse_decisions_total{result} from /metrics.
func (h *harness) decisionCount(result string) int {
	h.tb.Helper()
	body := h.call(http.MethodGet, "/metrics", "", nil).Body.String()
	series := `gatehouse_decisions_total{result="` + result + `"} `
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			require.NoError(h.tb, err, line)
			return n
		}
	}
	return 0
}

func (h *harness) decisionTotal() int {
	return h.decisionCount("allow") + h.decisionCount("deny") + h.decisionCount("error")
}

// Issue 7 §1: an OPA client gets, from the Data API, the answer
// /v1/decisions gives for the same question, computed from the store, with
// POST or GET; the decisions are counted like any other.
func TestDataAPIAnswersAsDecisions(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h := newHarness(t, kind.open(t))
			seedDemoAcme(h)
			questions := []struct {
				name  string
				input string
				allow bool
			}{
				{"the issue's example: alice manages acme", `{"subject": "alice", "action": "manage", "resource": {"account": "acme"}}`, true},
				{"bob uses acme-emea (R2)", `{"subject": "bob", "action": "use", "resource": {"account": "acme", "virtual_account": "acme-emea"}}`, true},
				{"bob may not use acme-us (R2)", `{"subject": "bob", "action": "use", "resource": {"account": "acme", "virtual_account": "acme-us"}}`, false},
				{"carol is no member", `{"subject": "carol", "action": "view", "resource": {"account": "acme"}, "context": {}}`, false},
				{"an unknown subject (R7)", `{"subject": "mallory", "action": "manage", "resource": {"account": "acme"}}`, false},
			}
			for _, q := range questions {
				t.Run(q.name, func(t *testing.T) {
					rec := h.call(http.MethodPost, "/v1/decisions", "", q.input)
					require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
					var want struct {
						Allow   bool            `json:"allow"`
						Reasons []string        `json:"reasons"`
						Grant   json.RawMessage `json:"grant"`
					}
					require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &want))
					require.Equal(t, q.allow, want.Allow, want.Reasons)
					wantResult, err := json.Marshal(want)
					require.NoError(t, err)
					if want.Grant == nil {
						wantResult = []byte(`{"allow": ` + strconv.FormatBool(want.Allow) + `, "reasons": ` + mustJSON(t, want.Reasons) + `}`)
					}

					before := h.decisionTotal()
					for method, rec := range map[string]*httptest.ResponseRecorder{
						"POST": h.call(http.MethodPost, dataResult, "", `{"input": `+q.input+`}`),
						"GET":  h.dataGet(dataResult, q.input),
					} {
						require.Equal(t, http.StatusOK, rec.Code, "%s %s", method, rec.Body.String())
						got := decodeAs[dataAnswer](t, rec)
						assert.JSONEq(t, string(wantResult), string(got.Result), method)
						assert.NotEmpty(t, got.DecisionID, method)
					}
					assert.Equal(t, before+2, h.decisionTotal(), "each Data API query is a decision, counted in gatehouse_decisions_total")

					for _, path := range []string{"/v1/data/gatehouse/decision/result/allow", "/v1/data/gatehouse/decision/allow"} {
						got := decodeAs[dataAnswer](t, h.call(http.MethodPost, path, "", `{"input": `+q.input+`}`))
						assert.JSONEq(t, strconv.FormatBool(q.allow), string(got.Result), path)
						got = decodeAs[dataAnswer](t, h.dataGet(path, q.input))
						assert.JSONEq(t, strconv.FormatBool(q.allow), string(got.Result), path)
					}
					got := decodeAs[dataAnswer](t, h.call(http.MethodPost, dataResult+"/reasons/0", "", `{"input": `+q.input+`}`))
					assert.JSONEq(t, mustJSON(t, want.Reasons[0]), string(got.Result))
				})
			}

			t.Run("a document below the entry point that the decision leaves undefined has no result", func(t *testing.T) {
				rec := h.call(http.MethodPost, dataResult+"/grant", "", `{"input": {"subject": "carol", "action": "view", "resource": {"account": "acme"}}}`)
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				var got map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
				assert.NotContains(t, got, "result")
				assert.NotEmpty(t, got["decision_id"])

				got = nil
				rec = h.call(http.MethodPost, dataResult+"/grant/kind", "", `{"input": {"subject": "alice", "action": "manage", "resource": {"account": "acme"}}}`)
				require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
				assert.JSONEq(t, `"membership"`, string(got["result"]))
			})
		})
	}
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	return string(b)
}

// Issue 7 §1: the records a decision is made on come from the store; a
// caller that sends its own user, account or membership is refused, never
// allowed, and nothing is decided.
func TestDataAPIRefusesForgedInput(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h := newHarness(t, kind.open(t))
			seedDemoAcme(h)
			forged := `{"subject": "mallory", "action": "manage", "resource": {"account": "acme"},
				"user": {"id": "mallory", "email": "m@evil.example", "first_name": "M", "last_name": "M", "organization": ""},
				"account": {"id": "acme", "name": "Acme", "virtual_accounts": [], "partner": "", "settings": {}},
				"membership": {"roles": ["account_admin"], "va_roles": {}, "contact": "primary", "privileges": {}, "added_by": "ops"}}`
			before := h.decisionTotal()
			e := requireOPAError(t, h.call(http.MethodPost, dataResult, "", `{"input": `+forged+`}`), http.StatusBadRequest, "invalid_parameter")
			assert.Equal(t, "input.account: is filled by gatehouse from the store; a caller may not set it", e.Message)
			requireOPAError(t, h.dataGet(dataResult, forged), http.StatusBadRequest, "invalid_parameter")
			requireOPAError(t, h.call(http.MethodPost, "/v1/data/gatehouse/decision/allow", "", `{"input": `+forged+`}`), http.StatusBadRequest, "invalid_parameter")

			question := `"subject": "mallory", "action": "manage", "resource": {"account": "acme"}`
			for field, value := range map[string]string{
				"user": `{"id": "mallory"}`, "account": `{"id": "acme"}`, "membership": `{"roles": ["account_admin"]}`,
				"partner_membership": `{"roles": ["tm_admin"]}`, "tenant": `{"exclusive": false, "grants": []}`,
				"now_ns": `1`, "grants": `[]`, "Subject": `"alice"`,
			} {
				t.Run(field, func(t *testing.T) {
					input := `{` + question + `, "` + field + `": ` + value + `}`
					e := requireOPAError(t, h.call(http.MethodPost, dataResult, "", `{"input": `+input+`}`), http.StatusBadRequest, "invalid_parameter")
					assert.True(t, strings.HasPrefix(e.Message, "input."+field+":"), e.Message)
					e = requireOPAError(t, h.dataGet(dataResult, input), http.StatusBadRequest, "invalid_parameter")
					assert.True(t, strings.HasPrefix(e.Message, "input."+field+":"), e.Message)
				})
			}
			assert.Equal(t, before, h.decisionTotal(), "a refused input is no decision")

			d := h.decide("mallory", "manage", "acme")
			assert.False(t, d.Allow, "mallory is still unknown to the store: %v", d.Reasons)
		})
	}
}

// Issue 7 §1: every path but the entry points (the data root, package
// roots, test packages, admission, helper rules) answers 404 in OPA's shape
// at once, and evaluates nothing: a test rule that would burn the whole
// decision deadline is never run.
func TestDataAPIAnswersOnlyEntryPoints(t *testing.T) {
	h := newEmbeddedHarness(t)
	seedDemoAcme(h)
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(t, err)
	files["slow_test.rego"] = []byte(`package gatehouse.slow_test

import rego.v1

test_slow if count([x | some x in numbers.range(1, 1000000000)]) > 0

slow := count([x | some x in numbers.range(1, 1000000000)])
`)
	policy, err := engine.CompilePolicy(t.Context(), files, "with a slow test")
	require.NoError(t, err)
	h.eng.SetPolicy(policy)

	question := `{"subject": "alice", "action": "manage", "resource": {"account": "acme"}}`
	before := h.decisionTotal()
	tests := []struct{ path, ref string }{
		{"/v1/data", "data"},
		{"/v1/data/", "data"},
		{"/v1/data/gatehouse", "data.gatehouse"},
		{"/v1/data/gatehouse/slow_test", "data.gatehouse.slow_test"},
		{"/v1/data/gatehouse/slow_test/test_slow", "data.gatehouse.slow_test.test_slow"},
		{"/v1/data/gatehouse/slow_test/slow", "data.gatehouse.slow_test.slow"},
		{"/v1/data/gatehouse/decision_test", "data.gatehouse.decision_test"},
		{"/v1/data/gatehouse/roles_test/test_allow_role_added_by_data", "data.gatehouse.roles_test.test_allow_role_added_by_data"},
		{"/v1/data/gatehouse/decision", "data.gatehouse.decision"},
		{"/v1/data/gatehouse/decision/problems", "data.gatehouse.decision.problems"},
		{"/v1/data/gatehouse/admission/result", "data.gatehouse.admission.result"},
		{"/v1/data/gatehouse/roles", "data.gatehouse.roles"},
		{"/v1/data/gatehouse/config", "data.gatehouse.config"},
		{"/v1/data/gatehouse/decision/result/nothing", "data.gatehouse.decision.result.nothing"},
		{"/v1/data/gatehouse/con%20fig", `data.gatehouse["con fig"]`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			for method, send := range map[string]func() *httptest.ResponseRecorder{
				"POST": func() *httptest.ResponseRecorder {
					return h.call(http.MethodPost, tt.path, "", `{"input": `+question+`}`)
				},
				"POST without body": func() *httptest.ResponseRecorder { return h.call(http.MethodPost, tt.path, "", nil) },
				"GET":               func() *httptest.ResponseRecorder { return h.dataGet(tt.path, question) },
			} {
				start := time.Now()
				rec := send()
				took := time.Since(start)
				e := requireOPAError(t, rec, http.StatusNotFound, "undefined_document")
				assert.True(t, strings.HasPrefix(e.Message, "document missing: "+tt.ref+" "), "%s: %s", method, e.Message)
				t.Logf("%s %s answered 404 in %s", method, tt.path, took)
			}
		})
	}
	assert.Equal(t, before, h.decisionTotal(), "nothing was decided")

	// The premise: evaluating the slow rule does burn a deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = rego.New(rego.Query("data.gatehouse.slow_test.slow"),
		rego.Module("slow_test.rego", string(files["slow_test.rego"]))).Eval(ctx)
	require.Error(t, err, "the slow rule runs into the deadline when evaluated")
}

// R44 on the Data API: bad input is a 400 (413 for a body over the limit)
// in OPA's shape, naming the field; other methods are a 405.
func TestDataAPIBadInput(t *testing.T) {
	h := newEmbeddedHarness(t, httpapi.WithMaxBodyBytes(512))
	seedDemoAcme(h)
	q := `"subject": "alice", "action": "view", "resource": {"account": "acme"}`
	tests := []struct {
		name, method, body, query string
		status                    int
		field                     string
	}{
		{name: "no body", method: http.MethodPost, status: 400, field: "input"},
		{name: "no input", method: http.MethodPost, body: `{}`, status: 400, field: "input"},
		{name: "null input", method: http.MethodPost, body: `{"input": null}`, status: 400, field: "input"},
		{name: "input not an object", method: http.MethodPost, body: `{"input": [1]}`, status: 400, field: "input"},
		{name: "malformed body", method: http.MethodPost, body: `{"input": `, status: 400, field: "body"},
		{name: "unknown body field", method: http.MethodPost, body: `{"inptu": {}}`, status: 400, field: "inptu"},
		{name: "body over the limit", method: http.MethodPost, body: `{"input": {"subject": "` + strings.Repeat("a", 600) + `"}}`, status: 413},
		{name: "subject twice", method: http.MethodPost, body: `{"input": {` + q + `, "subject": "root"}}`, status: 400, field: "input.subject"},
		{name: "subject in two cases", method: http.MethodPost, body: `{"input": {` + q + `, "SUBJECT": "root"}}`, status: 400, field: "input.SUBJECT"},
		{name: "account twice in resource", method: http.MethodPost, body: `{"input": {"subject": "a", "action": "view", "resource": {"account": "x", "account": "acme"}}}`, status: 400, field: "input.resource.account"},
		{name: "a key twice deep in context", method: http.MethodPost, body: `{"input": {` + q + `, "context": {"a": [{"b": 1, "b": 2}]}}}`, status: 400, field: "input.context.a[0].b"},
		{name: "bad subject", method: http.MethodPost, body: `{"input": {"subject": "a b", "action": "view", "resource": {"account": "acme"}}}`, status: 400, field: "input.subject"},
		{name: "missing account", method: http.MethodPost, body: `{"input": {"subject": "a", "action": "view", "resource": {}}}`, status: 400, field: "input.resource.account"},
		{name: "context not an object", method: http.MethodPost, body: `{"input": {` + q + `, "context": 1}}`, status: 400, field: "input.context"},
		{name: "GET without input", method: http.MethodGet, status: 400, field: "input"},
		{name: "GET malformed input", method: http.MethodGet, query: `{"subject": `, status: 400, field: "input"},
		{name: "GET two values in input", method: http.MethodGet, query: `{` + q + `} {}`, status: 400, field: "input"},
		{name: "GET subject twice", method: http.MethodGet, query: `{` + q + `, "subject": "root"}`, status: 400, field: "input.subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec *httptest.ResponseRecorder
			switch {
			case tt.method == http.MethodGet && tt.query != "":
				rec = h.dataGet(dataResult, tt.query)
			case tt.method == http.MethodGet:
				rec = h.call(http.MethodGet, dataResult, "", nil)
			case tt.body == "":
				rec = h.call(tt.method, dataResult, "", nil)
			default:
				rec = h.call(tt.method, dataResult, "", tt.body)
			}
			e := requireOPAError(t, rec, tt.status, "invalid_parameter")
			if tt.field != "" {
				assert.True(t, strings.HasPrefix(e.Message, tt.field+":"), "the message %q names %q", e.Message, tt.field)
			}
		})
	}
	t.Run("GET reads the last input, as OPA does", func(t *testing.T) {
		rec := h.call(http.MethodGet, dataResult+"/allow?input="+url.QueryEscape(`{"subject": "x"}`)+"&input="+url.QueryEscape(`{`+q+`}`), "", nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.JSONEq(t, `true`, string(decodeAs[dataAnswer](t, rec).Result))
	})
	for _, method := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
		t.Run(method+" is not offered", func(t *testing.T) {
			rec := h.call(method, dataResult, "", `{}`)
			requireOPAError(t, rec, http.StatusMethodNotAllowed, "invalid_operation")
			assert.Equal(t, "GET, POST", rec.Header().Get("Allow"))
		})
	}
}

// Issue 7 §1: an integer above 2^53 in context reaches the policy unchanged
// through /v1/decisions, /v1/decisions/batch and the Data API (POST and
// GET). The test policy allows exactly 9007199254740993, and echoes what
// it saw.
func TestContextNumbersStayExactOverHTTP(t *testing.T) {
	h := newEmbeddedHarness(t)
	policy, err := engine.CompilePolicy(t.Context(), map[string][]byte{"decision.rego": []byte(numberEchoPolicy)}, "numbers")
	require.NoError(t, err)
	h.eng.SetPolicy(policy)

	const echo = "context.n is 9007199254740993"
	for _, n := range []string{"9007199254740993", "9007199254740993.0", "90071992547409930e-1"} {
		t.Run(n, func(t *testing.T) {
			question := `{"subject": "alice", "action": "view", "resource": {"account": "acme"}, "context": {"n": ` + n + `, "deep": [{"m": ` + n + `}]}}`

			rec := h.call(http.MethodPost, "/v1/decisions", "", question)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			d := decodeAs[decisionAnswer](t, rec)
			assert.True(t, d.Allow, "/v1/decisions: %v", d.Reasons)

			rec = h.call(http.MethodPost, "/v1/decisions/batch", "", `{"checks": [`+question+`, `+question+`]}`)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			batch := decodeAs[struct {
				Results []decisionAnswer `json:"results"`
			}](t, rec)
			require.Len(t, batch.Results, 2)
			for _, r := range batch.Results {
				assert.True(t, r.Allow, "batch: %v", r.Reasons)
			}

			for method, rec := range map[string]*httptest.ResponseRecorder{
				"POST": h.call(http.MethodPost, dataResult, "", `{"input": `+question+`}`),
				"GET":  h.dataGet(dataResult, question),
			} {
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				var got struct {
					Allow   bool     `json:"allow"`
					Reasons []string `json:"reasons"`
				}
				require.NoError(t, json.Unmarshal(decodeAs[dataAnswer](t, rec).Result, &got))
				assert.True(t, got.Allow, "Data API %s: %v", method, got.Reasons)
			}
			if n == "9007199254740993" {
				assert.Equal(t, []string{echo, "context.deep[0].m is 9007199254740993"}, d.Reasons)
			}
		})
	}
	t.Run("one less is another number", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/decisions", "", `{"subject": "alice", "action": "view", "resource": {"account": "acme"}, "context": {"n": 9007199254740992, "deep": [{"m": 9007199254740992}]}}`)
		d := decodeAs[decisionAnswer](t, rec)
		assert.False(t, d.Allow, d.Reasons)
		assert.Equal(t, []string{"context.n is 9007199254740992", "context.deep[0].m is 9007199254740992"}, d.Reasons)
	})
}

// numberEchoPolicy allows exactly when context.n and context.deep[0].m are
// 2^53+1, and its reasons echo the values the policy saw.
const numberEchoPolicy = `package gatehouse.decision

import rego.v1

default result := {"allow": false, "reasons": ["no context.n"]}

result := {
	"allow": exact,
	"reasons": [sprintf("context.n is %v", [input.context.n]), sprintf("context.deep[0].m is %v", [input.context.deep[0].m])],
} if {
	"n" in object.keys(input.context)
}

default exact := false

exact if {
	input.context.n == 9007199254740993
	input.context.deep[0].m == 9007199254740993
}
`

func FuzzDataBody(f *testing.F) {
	for _, seed := range []string{
		`{"input":{"subject":"alice","action":"view","resource":{"account":"acme"}}}`,
		`{"input":{"subject":"alice","action":"view","resource":{"account":"acme"},"now_ns":1}}`,
		`{"input":{"subject":"alice","action":"view","resource":{"account":"acme","virtual_account":"va1"},` +
			`"user":{"id":"alice"},"account":{"id":"acme","virtual_accounts":["va1"],"settings":{}},` +
			`"membership":{"roles":["account_user"],"va_roles":{"va1":"va_viewer"},"privileges":{"x":"y"},"expires_at_ns":5},` +
			`"tenant":{"exclusive":true,"grants":[{"request":"r","expires_at_ns":"x"}]},"now_ns":1e30}}`,
		`{"input":{"subject":"a","action":"view","resource":{"account":"b"},"context":{"n":1e400,"a":[[[{"x":1,"X":2}]]]}}}`,
		`{"input":null}`, `{"input":[1,2,3]}`, `{"input":12345678901234567890123}`, `{}`, ``, `{"inptu":1}`,
		`{"input":{"subject":"a","subject":"b"}}`, `{"input":"x"} []`, `[[[[[[[[[[`,
	} {
		f.Add(seed)
	}
	h := newEmbeddedHarness(f)
	seedAcme(h)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{dataResult, "/v1/data/gatehouse/decision/allow", "/v1/data/gatehouse"} {
			rec := h.with(t).call(http.MethodPost, path, "", body)
			require.Contains(t, []int{http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge}, rec.Code,
				"body %q answered %s", body, rec.Body.String())
			var answer map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer), "answer %q", rec.Body.String())
			if rec.Code >= 400 {
				requireOPAError(t, rec, rec.Code, answer["code"].(string))
			}
			rec = h.with(t).call(http.MethodGet, path+"?input="+url.QueryEscape(body), "", nil)
			require.Contains(t, []int{http.StatusOK, http.StatusBadRequest, http.StatusNotFound}, rec.Code,
				"input %q answered %s", body, rec.Body.String())
		}
	})
}

// BenchmarkDecisionHTTPWithContext is BenchmarkDecisionHTTP with numbers in
// context, which the decoder keeps exact (json.Number).
func BenchmarkDecisionHTTPWithContext(b *testing.B) {
	h := newEmbeddedHarness(b)
	seedAcme(h)
	const body = `{"subject":"alice","action":"use","resource":{"account":"acme","virtual_account":"va1"},"context":{"n":9007199254740993,"ip":"10.0.0.1","ports":[80,443]}}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/decisions", strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
}
