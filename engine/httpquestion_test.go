package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// httpRequest is a request by subject to method path, as the Envoy adapter
// gives it.
func httpRequest(subject, method, path string) engine.HTTPRequest {
	return engine.HTTPRequest{
		Method:   method,
		Path:     path,
		Segments: strings.Split(strings.TrimPrefix(path, "/"), "/"),
		Headers:  map[string]string{"x-request-id": "r1"},
		Host:     "app.example",
		Subject:  subject,
	}
}

// policyWithEnvoy compiles the built-in policies with envoy.rego replaced
// by src ("" leaves it out).
func policyWithEnvoy(tb testing.TB, src string) *engine.Policy {
	tb.Helper()
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(tb, err)
	delete(files, "envoy_test.rego")
	delete(files, "envoy.rego")
	if src != "" {
		files["envoy.rego"] = []byte(src)
	}
	p, err := engine.CompilePolicy(context.Background(), files, "test")
	require.NoError(tb, err)
	return p
}

// R4, R7: an HTTP request is decided through the policy's mapping
// (data.gatehouse.envoy.question), and every answer, failures included, is
// a decision the observers see.
func TestDecideHTTP(t *testing.T) {
	store := openEmbedded(t)
	seedDecisionData(t, store)
	rec := &decisionRecorder{}
	eng, err := engine.New(store, builtinPolicy(t), engine.WithClock(func() time.Time { return decisionNow }),
		engine.WithDecisionTimeout(testDecisionTimeout), engine.WithObserver(rec))
	require.NoError(t, err)

	tests := []struct {
		name      string
		req       engine.HTTPRequest
		question  engine.DecisionRequest
		allow     bool
		reasonHas string
	}{
		{
			name:     "R4 an admin reads the account",
			req:      httpRequest("alice", "GET", "/accounts/acme"),
			question: engine.DecisionRequest{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "acme"}},
			allow:    true, reasonHas: "account_admin",
		},
		{
			name:     "R2 a va_user writes in their virtual account",
			req:      httpRequest("bob", "POST", "/accounts/acme/virtual-accounts/emea/licenses"),
			question: engine.DecisionRequest{Subject: "bob", Action: "use", Resource: engine.Resource{Account: "acme", VirtualAccount: "emea"}},
			allow:    true, reasonHas: "va_user",
		},
		{
			name:      "R2 a va_user does not delete in their virtual account",
			req:       httpRequest("bob", "DELETE", "/accounts/acme/virtual-accounts/emea"),
			question:  engine.DecisionRequest{Subject: "bob", Action: "manage", Resource: engine.Resource{Account: "acme", VirtualAccount: "emea"}},
			reasonHas: "manage",
		},
		{
			name:      "R7 an unknown account is denied",
			req:       httpRequest("alice", "GET", "/accounts/nowhere"),
			question:  engine.DecisionRequest{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "nowhere"}},
			reasonHas: `unknown account "nowhere"`,
		},
		{
			name:      "R44 a path segment that is no id is denied, naming the field",
			req:       httpRequest("alice", "GET", "/accounts/a b"),
			question:  engine.DecisionRequest{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "a b"}},
			reasonHas: "resource.account",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, d := eng.DecideHTTP(t.Context(), tt.req)
			assert.Equal(t, tt.question, q)
			assert.Equal(t, tt.allow, d.Allow, "reasons: %v", d.Reasons)
			assert.Empty(t, d.Error)
			assert.Contains(t, strings.Join(d.Reasons, "; "), tt.reasonHas)
			assert.NotEmpty(t, d.DecisionID)
			assert.Equal(t, eng.Policy().Revision, d.PolicyRevision)
		})
	}
	require.Len(t, rec.decisions, len(tests), "every answer is observed")

	t.Run("R7 a request without a question is denied and observed", func(t *testing.T) {
		before := len(rec.decisions)
		q, d := eng.DecideHTTP(t.Context(), httpRequest("", "GET", "/accounts/acme"))
		assert.False(t, d.Allow)
		assert.Empty(t, d.Error, "an unmapped request is a plain deny, not a failure")
		assert.Equal(t, []string{`denied: the policy asks no question about "GET" "/accounts/acme" (data.gatehouse.envoy.question is undefined)`}, d.Reasons)
		assert.Equal(t, map[string]any{"http": map[string]any{"method": "GET", "path": "/accounts/acme"}}, q.Context)
		require.Len(t, rec.decisions, before+1)
		assert.Equal(t, d.DecisionID, rec.decisions[before].DecisionID)

		_, err := eng.Question(t.Context(), httpRequest("alice", "OPTIONS", "/accounts/acme"))
		require.ErrorIs(t, err, engine.ErrNoQuestion)
	})

	t.Run("R45 the store closed is a deny, store_unavailable", func(t *testing.T) {
		closed := openEmbedded(t)
		seedDecisionData(t, closed)
		eng, err := engine.New(closed, builtinPolicy(t), engine.WithDecisionTimeout(testDecisionTimeout))
		require.NoError(t, err)
		require.NoError(t, closed.Close())
		q, d := eng.DecideHTTP(t.Context(), httpRequest("alice", "GET", "/accounts/acme"))
		assert.Equal(t, "alice", q.Subject)
		assert.False(t, d.Allow)
		assert.Equal(t, "store_unavailable", d.Error)
	})

	t.Run("R45 a caller's deadline already passed is a deny, timeout", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, d := eng.DecideHTTP(ctx, httpRequest("alice", "GET", "/accounts/acme"))
		assert.False(t, d.Allow)
		assert.Equal(t, "timeout", d.Error)
	})
}

// R7: a policy without the mapping, or whose mapping is malformed or fails,
// denies every HTTP request (fail closed) with error policy_error.
func TestDecideHTTPFailsClosedOnPolicyErrors(t *testing.T) {
	store := openEmbedded(t)
	seedDecisionData(t, store)
	tests := []struct {
		name      string
		envoy     string
		reasonHas string
	}{
		{name: "no mapping", reasonHas: "the policy defines no data.gatehouse.envoy.question"},
		{
			name:      "subject not a string",
			envoy:     "package gatehouse.envoy\nquestion := {\"subject\": 7, \"action\": \"view\", \"resource\": {\"account\": \"acme\"}}\n",
			reasonHas: "data.gatehouse.envoy.question.subject is not a string",
		},
		{
			name:      "no resource",
			envoy:     "package gatehouse.envoy\nquestion := {\"subject\": \"alice\", \"action\": \"view\"}\n",
			reasonHas: "has no resource object",
		},
		{
			name:      "not an object",
			envoy:     "package gatehouse.envoy\nquestion := \"alice may view acme\"\n",
			reasonHas: "is not an object",
		},
		{
			name:      "context not an object",
			envoy:     "package gatehouse.envoy\nquestion := {\"subject\": \"alice\", \"action\": \"view\", \"resource\": {\"account\": \"acme\"}, \"context\": [1]}\n",
			reasonHas: "context is not an object",
		},
		{
			name:      "evaluation error",
			envoy:     "package gatehouse.envoy\nquestion := {\"subject\": \"alice\", \"action\": \"view\", \"resource\": {\"account\": x}} if {\n\tx := input.segments[_]\n}\n",
			reasonHas: "conflict",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eng, err := engine.New(store, policyWithEnvoy(t, tt.envoy), engine.WithDecisionTimeout(testDecisionTimeout))
			require.NoError(t, err)
			_, d := eng.DecideHTTP(t.Context(), httpRequest("alice", "GET", "/accounts/acme"))
			assert.False(t, d.Allow)
			assert.Equal(t, "policy_error", d.Error)
			assert.Contains(t, strings.Join(d.Reasons, "; "), tt.reasonHas)
		})
	}
}

// The input of the mapping is the documented one (POLICIES.md): method,
// path, segments, query, headers, host and subject.
func TestHTTPQuestionInput(t *testing.T) {
	echo := `package gatehouse.envoy
question := {"subject": "alice", "action": "view", "resource": {"account": "acme"}, "context": {"input": input}}
`
	eng, err := engine.New(openEmbedded(t), policyWithEnvoy(t, echo))
	require.NoError(t, err)
	req := httpRequest("alice", "PUT", "/accounts/acme/x%2Fy")
	req.Segments = []string{"accounts", "acme", "x/y"}
	req.Query = map[string][]string{"page": {"2"}, "tag": {"a", "b"}}
	q, err := eng.Question(t.Context(), req)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"method":   "PUT",
		"path":     "/accounts/acme/x%2Fy",
		"segments": []any{"accounts", "acme", "x/y"},
		"query":    map[string]any{"page": []any{"2"}, "tag": []any{"a", "b"}},
		"headers":  map[string]any{"x-request-id": "r1"},
		"host":     "app.example",
		"subject":  "alice",
	}, q.Context["input"])

	req.Subject = ""
	q, err = eng.Question(t.Context(), req)
	require.NoError(t, err)
	assert.NotContains(t, q.Context["input"], "subject", "no verified subject, no subject key")
}
