package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// Issue 4: the policy endpoints. PUT /v1/policies pushes a revision, GET
// /v1/policies lists them, POST /v1/policies/{revision}/activate rolls
// back, GET /v1/status tells which revision a replica serves.

// policyAnswer is one revision as the API returns it.
type policyAnswer struct {
	Revision  string    `json:"revision"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
	Source    string    `json:"source"`
	Active    bool      `json:"active"`
}

// statusAnswer is the answer of GET /v1/status.
type statusAnswer struct {
	Policy struct {
		Revision     string     `json:"revision"`
		Source       string     `json:"source"`
		LoadedAt     time.Time  `json:"loaded_at"`
		FollowsStore bool       `json:"follows_store"`
		LastError    string     `json:"last_error"`
		LastErrorAt  *time.Time `json:"last_error_at"`
		Reloads      uint64     `json:"reloads"`
		Evaluator    string     `json:"evaluator"`
		Fallback     string     `json:"evaluator_fallback"`
	} `json:"policy"`
	Store string `json:"store"`
}

// policyBody is a PUT /v1/policies body of the built-in policy plus extra
// files.
func policyBody(tb testing.TB, extra map[string]string) map[string]any {
	tb.Helper()
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(tb, err)
	out := map[string]string{}
	for name, content := range files {
		out[name] = string(content)
	}
	for name, content := range extra {
		out[name] = content
	}
	return map[string]any{"files": out}
}

// extraPackage is a valid addition to the built-in policy, with its test.
var extraPackage = map[string]string{
	"extra.rego":      "package gatehouse.extra\n\nimport rego.v1\n\nanswer := 42\n",
	"extra_test.rego": "package gatehouse.extra_test\n\nimport rego.v1\n\nimport data.gatehouse.extra\n\ntest_allow_answer if extra.answer == 42\n",
}

// newPolicyHarness serves the API over an engine that follows its store,
// with pam a policy_admin of the policy admin account "gatehouse" and vic
// an account_admin there.
func newPolicyHarness(t *testing.T) *harness {
	t.Helper()
	h := newEmbeddedHarness(t)
	now := time.Now().UTC()
	h.seed(engine.Change{
		Users: []engine.User{
			{ID: "pam", Email: "pam@example.com", CreatedAt: now},
			{ID: "vic", Email: "vic@example.com", CreatedAt: now},
		},
		Accounts: []engine.Account{{ID: "gatehouse", Name: "gatehouse", CreatedAt: now}},
		Members: []engine.Membership{
			{Account: "gatehouse", User: "pam", Roles: []string{"policy_admin"}, AddedBy: systemAdmin, AddedAt: now},
			{Account: "gatehouse", User: "vic", Roles: []string{"account_admin"}, AddedBy: systemAdmin, AddedAt: now},
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.eng.FollowPolicies(ctx, 50*time.Millisecond, quietLogger()) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool {
		rec := h.call(http.MethodGet, "/v1/status", systemAdmin, nil)
		return rec.Code == http.StatusOK && decodeAs[statusAnswer](t, rec).Policy.FollowsStore
	}, 30*time.Second, time.Millisecond)
	return h
}

func TestPolicyPushListRollback(t *testing.T) {
	h := newPolicyHarness(t)
	builtin := h.eng.Policy().Revision
	body := policyBody(t, extraPackage)

	rec := h.call(http.MethodPut, "/v1/policies", "pam", body)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	pushed := decodeAs[policyAnswer](t, rec)
	assert.Len(t, pushed.Revision, 16)
	assert.NotEqual(t, builtin, pushed.Revision)
	assert.Equal(t, "pam", pushed.Author)
	assert.Equal(t, "push", pushed.Source)
	assert.True(t, pushed.Active)
	assert.WithinDuration(t, time.Now(), pushed.CreatedAt, time.Minute)

	seedAcme(h)
	assert.Equal(t, pushed.Revision, h.decide("alice", "view", "acme").PolicyRevision,
		"R7: decisions report the revision that made them, the pushed one as soon as the push returns")

	rec = h.call(http.MethodGet, "/v1/status", "pam", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	status := decodeAs[statusAnswer](t, rec)
	assert.Equal(t, pushed.Revision, status.Policy.Revision)
	assert.Equal(t, "store revision "+pushed.Revision+" by pam", status.Policy.Source)
	assert.WithinDuration(t, time.Now(), status.Policy.LoadedAt, time.Minute)
	assert.True(t, status.Policy.FollowsStore)
	assert.Empty(t, status.Policy.LastError)
	assert.Nil(t, status.Policy.LastErrorAt)
	assert.Equal(t, "ok", status.Store)

	rec = h.call(http.MethodGet, "/v1/policies", "pam", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	list := decodeAs[struct {
		Items []policyAnswer `json:"items"`
	}](t, rec)
	require.Len(t, list.Items, 2)
	assert.Equal(t, pushed.Revision, list.Items[0].Revision)
	assert.True(t, list.Items[0].Active)
	assert.Equal(t, builtin, list.Items[1].Revision)
	assert.False(t, list.Items[1].Active)
	assert.Equal(t, "baseline: test", list.Items[1].Source)
	assert.NotContains(t, rec.Body.String(), "files", "listings leave the files out")

	rec = h.call(http.MethodPost, "/v1/policies/"+builtin+"/activate", systemAdmin, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	back := decodeAs[policyAnswer](t, rec)
	assert.Equal(t, builtin, back.Revision)
	assert.True(t, back.Active)
	assert.Equal(t, builtin, h.decide("alice", "view", "acme").PolicyRevision)
}

func TestPolicyEndpointErrors(t *testing.T) {
	h := newPolicyHarness(t)
	builtin := h.eng.Policy().Revision
	broken := policyBody(t, map[string]string{"broken.rego": "package gatehouse.broken\n\nimport rego.v1\n\nallow if input.x == == 1\n"})
	tests := []struct {
		name       string
		method     string
		path       string
		sub        string
		body       any
		status     int
		code       string
		violations []string // substrings of the violations, in order
		message    string   // a substring of the message
	}{
		{name: "no token", method: http.MethodPut, path: "/v1/policies", body: policyBody(t, extraPackage),
			status: http.StatusUnauthorized, code: "unauthenticated"},
		{name: "not a policy admin", method: http.MethodPut, path: "/v1/policies", sub: "vic", body: policyBody(t, extraPackage),
			status: http.StatusForbidden, code: "forbidden",
			violations: []string{"vic may not push a policy revision: that takes the policy_admin role in account gatehouse"}},
		{name: "a broken policy", method: http.MethodPut, path: "/v1/policies", sub: "pam", body: broken,
			status: http.StatusUnprocessableEntity, code: "validation_failed", violations: []string{"broken.rego:5: rego_parse_error"}},
		{name: "no files", method: http.MethodPut, path: "/v1/policies", sub: "pam", body: `{"files": {}}`,
			status: http.StatusBadRequest, code: "invalid_input", message: "files: is required"},
		{name: "a file that is not a string", method: http.MethodPut, path: "/v1/policies", sub: "pam", body: `{"files": {"a.rego": 5}}`,
			status: http.StatusBadRequest, code: "invalid_input", message: "files"},
		{name: "a path outside the set", method: http.MethodPut, path: "/v1/policies", sub: "pam", body: `{"files": {"../a.rego": ""}}`,
			status: http.StatusBadRequest, code: "invalid_input", message: `"../a.rego" must be a relative`},
		{name: "an unknown field", method: http.MethodPut, path: "/v1/policies", sub: "pam", body: `{"file": {}}`,
			status: http.StatusBadRequest, code: "invalid_input", message: "file: is not a known field"},
		{name: "malformed JSON", method: http.MethodPut, path: "/v1/policies", sub: "pam", body: `{"files":`,
			status: http.StatusBadRequest, code: "invalid_input"},
		{name: "a body over 1 MiB", method: http.MethodPut, path: "/v1/policies", sub: "pam",
			body:   policyBody(t, map[string]string{"big.json": `{"big": "` + strings.Repeat("x", 1<<20) + `"}`}),
			status: http.StatusRequestEntityTooLarge, code: "body_too_large"},
		{name: "list as a stranger", method: http.MethodGet, path: "/v1/policies", sub: "vic",
			status: http.StatusForbidden, code: "forbidden", violations: []string{"vic may not list policy revisions"}},
		{name: "list with a bad limit", method: http.MethodGet, path: "/v1/policies?limit=0", sub: "pam",
			status: http.StatusBadRequest, code: "invalid_input", message: "limit"},
		{name: "rollback as a stranger", method: http.MethodPost, path: "/v1/policies/" + builtin + "/activate", sub: "vic",
			status: http.StatusForbidden, code: "forbidden", violations: []string{"vic may not roll back to a policy revision"}},
		{name: "rollback to an unknown revision", method: http.MethodPost, path: "/v1/policies/0123456789abcdef/activate", sub: "pam",
			status: http.StatusNotFound, code: "not_found", message: "0123456789abcdef"},
		{name: "rollback to a malformed revision", method: http.MethodPost, path: "/v1/policies/a%20b/activate", sub: "pam",
			status: http.StatusBadRequest, code: "invalid_input", message: "revision"},
		{name: "status as a stranger", method: http.MethodGet, path: "/v1/status", sub: "vic",
			status: http.StatusForbidden, code: "forbidden", violations: []string{"vic may not read the policy status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := requireError(t, h.call(tt.method, tt.path, tt.sub, tt.body), tt.status, tt.code)
			assert.Contains(t, e.Error.Message, tt.message)
			require.Len(t, e.Error.Violations, len(tt.violations), "%v", e.Error.Violations)
			for i, want := range tt.violations {
				assert.Contains(t, e.Error.Violations[i], want)
			}
		})
	}
	rec := h.call(http.MethodGet, "/v1/policies", "pam", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"items": []}`, rec.Body.String(), "no refused push was stored")
	assert.Equal(t, builtin, h.eng.Policy().Revision, "and none activated")
}

// Issue 4, point 1: GET /v1/status shows the last reload error, with its
// file and line, while the previous revision keeps serving.
func TestStatusShowsLastReloadError(t *testing.T) {
	h := newPolicyHarness(t)
	builtin := h.eng.Policy().Revision
	_, err := h.eng.Reload(context.Background(), map[string][]byte{
		"decision.rego": []byte("package gatehouse.decision\n\nresult := := 1\n"),
	}, "/etc/gatehouse/policies")
	require.Error(t, err)

	rec := h.call(http.MethodGet, "/v1/status", systemAdmin, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	status := decodeAs[statusAnswer](t, rec)
	assert.Equal(t, builtin, status.Policy.Revision)
	assert.Equal(t, "test", status.Policy.Source)
	assert.Contains(t, status.Policy.LastError, "decision.rego:3")
	require.NotNil(t, status.Policy.LastErrorAt)
	assert.WithinDuration(t, time.Now(), *status.Policy.LastErrorAt, time.Minute)
	assert.Contains(t, rec.Body.String(), `"last_error_source":"/etc/gatehouse/policies"`)
}

// TestStatusNamesTheEvaluator: /v1/status says whether decisions run the
// compiled plan, and why a revision the plan interpreter cannot run (here:
// a `with` in the decision rules) is evaluated with topdown.
func TestStatusNamesTheEvaluator(t *testing.T) {
	h := newPolicyHarness(t)
	rec := h.call(http.MethodGet, "/v1/status", systemAdmin, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	status := decodeAs[statusAnswer](t, rec)
	assert.Equal(t, "plan", status.Policy.Evaluator)
	assert.Empty(t, status.Policy.Fallback)
	assert.NotContains(t, rec.Body.String(), "evaluator_fallback")

	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(t, err)
	const kind = "kind := derived.package_of[facts.action]\n"
	require.Contains(t, string(files["decision.rego"]), kind)
	files["decision.rego"] = []byte(strings.Replace(string(files["decision.rego"]), kind,
		"kind := k if {\n\tk := derived.package_of[facts.action] with input.unused as 1\n}\n", 1))
	_, err = h.eng.Reload(context.Background(), files, "with")
	require.NoError(t, err)
	rec = h.call(http.MethodGet, "/v1/status", systemAdmin, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	status = decodeAs[statusAnswer](t, rec)
	assert.Equal(t, "topdown", status.Policy.Evaluator)
	assert.Contains(t, status.Policy.Fallback, "WithStmt")
}
