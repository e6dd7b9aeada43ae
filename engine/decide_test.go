package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// decisionNow is the fixed clock of the decision tests.
var decisionNow = time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)

// builtinPolicy compiles the built-in policies.
func builtinPolicy(tb testing.TB) *engine.Policy {
	tb.Helper()
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(tb, err)
	p, err := engine.CompilePolicy(context.Background(), files, "built-in")
	require.NoError(tb, err)
	return p
}

// openEmbedded opens a fresh embedded store in a temporary directory.
func openEmbedded(tb testing.TB, opts ...embedded.Option) *embedded.Store {
	tb.Helper()
	s, err := embedded.Open(tb.TempDir(), opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { s.Close() })
	return s
}

// seedDecisionData writes the accounts and memberships the decision tests ask about.
func seedDecisionData(tb testing.TB, s engine.Store) {
	tb.Helper()
	expired := decisionNow.Add(-time.Second)
	later := decisionNow.Add(time.Hour)
	change := engine.Change{
		Versions: map[string]uint64{"acme": 0},
		Accounts: []engine.Account{{ID: "acme", Name: "Acme", VirtualAccounts: []string{"emea", "us"}}},
		Users: []engine.User{
			{ID: "alice", Email: "alice@acme.example"},
			{ID: "bob", Email: "bob@acme.example"},
			{ID: "eve", Email: "eve@acme.example"},
			{ID: "tim", Email: "tim@acme.example"},
			{ID: "carol", Email: "carol@acme.example"},
		},
		Members: []engine.Membership{
			{Account: "acme", User: "alice", Roles: []string{"account_admin"}, AddedBy: "ops"},
			{Account: "acme", User: "bob", Roles: []string{}, VARoles: map[string]string{"emea": "va_user"}, AddedBy: "alice"},
			{Account: "acme", User: "eve", Roles: []string{"account_user"}, AddedBy: "alice", ExpiresAt: &expired},
			{Account: "acme", User: "tim", Roles: []string{"account_user"}, AddedBy: "alice", ExpiresAt: &later, Request: "req-1"},
		},
	}
	require.NoError(tb, s.Commit(context.Background(), change))
}

func TestDecide(t *testing.T) {
	store := openEmbedded(t)
	seedDecisionData(t, store)
	eng, err := engine.New(store, builtinPolicy(t), engine.WithClock(func() time.Time { return decisionNow }), engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(t, err)

	tests := []struct {
		name      string
		subject   string
		action    string
		account   string
		va        string
		allow     bool
		reasonHas string
	}{
		{name: "R1 admin manages", subject: "alice", action: "manage", account: "acme", allow: true, reasonHas: "account_admin"},
		{name: "R3 account role holds on virtual accounts", subject: "alice", action: "use", account: "acme", va: "us", allow: true},
		{name: "R2 va role on its own virtual account", subject: "bob", action: "use", account: "acme", va: "emea", allow: true, reasonHas: "va_user"},
		{name: "R2 va role not on another virtual account", subject: "bob", action: "use", account: "acme", va: "us", allow: false},
		{name: "R4 virtual account not in the account", subject: "alice", action: "view", account: "acme", va: "apac", allow: false, reasonHas: "apac"},
		{name: "R7 expired membership is absent", subject: "eve", action: "view", account: "acme", allow: false, reasonHas: "expired"},
		{name: "R7 membership before its expiry", subject: "tim", action: "use", account: "acme", allow: true},
		{name: "R7 unknown subject", subject: "mallory", action: "view", account: "acme", allow: false},
		{name: "R7 unknown account", subject: "alice", action: "view", account: "nowhere", allow: false},
		{name: "R7 unknown action", subject: "alice", action: "launch", account: "acme", allow: false},
		{name: "user without membership", subject: "carol", action: "view", account: "acme", allow: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := eng.Decide(t.Context(), engine.DecisionRequest{
				Subject: tc.subject, Action: tc.action,
				Resource: engine.Resource{Account: tc.account, VirtualAccount: tc.va},
			})
			assert.Equal(t, tc.allow, d.Allow, "reasons: %v", d.Reasons)
			require.NotEmpty(t, d.Reasons)
			if tc.reasonHas != "" {
				assert.Contains(t, fmt.Sprint(d.Reasons), tc.reasonHas)
			}
			assert.NotEmpty(t, d.DecisionID)
			assert.Equal(t, eng.Policy().Revision, d.PolicyRevision)
			assert.Empty(t, d.Error)
		})
	}

	t.Run("R7 an allow names the grant behind it", func(t *testing.T) {
		d := eng.Decide(t.Context(), engine.DecisionRequest{Subject: "tim", Action: "use", Resource: engine.Resource{Account: "acme"}})
		require.True(t, d.Allow)
		require.NotNil(t, d.Grant)
		assert.Equal(t, "membership", d.Grant.Kind)
		assert.Equal(t, "req-1", d.Grant.Request)
		assert.Equal(t, "alice", d.Grant.ApprovedBy)
	})
	t.Run("R7 expiry is judged at decision time, to the instant", func(t *testing.T) {
		clock := decisionNow
		eng, err := engine.New(store, eng.Policy(), engine.WithClock(func() time.Time { return clock }), engine.WithDecisionTimeout(testDecisionTimeout))
		require.NoError(t, err)
		ask := engine.DecisionRequest{Subject: "tim", Action: "use", Resource: engine.Resource{Account: "acme"}}
		clock = decisionNow.Add(time.Hour - time.Nanosecond)
		assert.True(t, eng.Decide(t.Context(), ask).Allow)
		clock = decisionNow.Add(time.Hour)
		assert.False(t, eng.Decide(t.Context(), ask).Allow)
	})
	t.Run("decision ids are unique", func(t *testing.T) {
		ask := engine.DecisionRequest{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "acme"}}
		assert.NotEqual(t, eng.Decide(t.Context(), ask).DecisionID, eng.Decide(t.Context(), ask).DecisionID)
	})
}

func TestDecideFailsClosed(t *testing.T) {
	ask := engine.DecisionRequest{Subject: "alice", Action: "manage", Resource: engine.Resource{Account: "acme"}}

	t.Run("R45 store unavailable", func(t *testing.T) {
		store := openEmbedded(t)
		seedDecisionData(t, store)
		eng, err := engine.New(store, builtinPolicy(t), engine.WithClock(func() time.Time { return decisionNow }), engine.WithDecisionTimeout(testDecisionTimeout))
		require.NoError(t, err)
		require.True(t, eng.Decide(t.Context(), ask).Allow)

		require.NoError(t, store.Close())
		d := eng.Decide(t.Context(), ask)
		assert.False(t, d.Allow)
		assert.Equal(t, "store_unavailable", d.Error)
		assert.Contains(t, d.Reasons[0], "store")
		assert.Error(t, eng.Ready(t.Context()))
	})

	t.Run("R7 undefined policy result", func(t *testing.T) {
		files := map[string][]byte{"decision.rego": []byte("package gatehouse.decision\n\nresult := {\"allow\": true} if input.never\n")}
		assertDeniedBy(t, files, ask, "undefined")
	})
	t.Run("R7 oddly shaped policy result", func(t *testing.T) {
		files := map[string][]byte{"decision.rego": []byte("package gatehouse.decision\n\nresult := {\"allow\": \"yes\", \"reasons\": [\"x\"]}\n")}
		assertDeniedBy(t, files, ask, "boolean allow")
	})
	t.Run("R7 allow without reasons", func(t *testing.T) {
		files := map[string][]byte{"decision.rego": []byte("package gatehouse.decision\n\nresult := {\"allow\": true, \"reasons\": []}\n")}
		assertDeniedBy(t, files, ask, "no reasons")
	})
	t.Run("timeout", func(t *testing.T) {
		store := openEmbedded(t)
		eng, err := engine.New(store, builtinPolicy(t), engine.WithDecisionTimeout(testDecisionTimeout))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		d := eng.Decide(ctx, ask)
		assert.False(t, d.Allow)
		assert.Equal(t, "timeout", d.Error)
	})
	t.Run("R44 malformed request is a deny naming the field", func(t *testing.T) {
		store := openEmbedded(t)
		eng, err := engine.New(store, builtinPolicy(t), engine.WithDecisionTimeout(testDecisionTimeout))
		require.NoError(t, err)
		d := eng.Decide(t.Context(), engine.DecisionRequest{Subject: "alice", Action: "view"})
		assert.False(t, d.Allow)
		assert.Contains(t, d.Reasons[0], "resource.account")
	})
}

func assertDeniedBy(t *testing.T, files map[string][]byte, ask engine.DecisionRequest, reason string) {
	t.Helper()
	p, err := engine.CompilePolicy(t.Context(), files, "test")
	require.NoError(t, err)
	eng, err := engine.New(openEmbedded(t), p, engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(t, err)
	d := eng.Decide(t.Context(), ask)
	assert.False(t, d.Allow)
	assert.Equal(t, "policy_error", d.Error)
	assert.Contains(t, d.Reasons[0], reason)
}

func TestCompilePolicyErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{name: "syntax error names file and line", files: map[string][]byte{"bad.rego": []byte("package gatehouse.decision\n\nresult := {\n")}, want: "bad.rego:4"},
		{name: "strict mode refuses unused variables", files: map[string][]byte{"decision.rego": []byte("package gatehouse.decision\n\nresult := {\"allow\": false, \"reasons\": [\"no\"]} if {\n\tx := 1\n}\n")}, want: "decision.rego:4"},
		{name: "no decision rule", files: map[string][]byte{"other.rego": []byte("package other\n\nx := 1\n")}, want: "data.gatehouse.decision.result"},
		{name: "bad data file", files: map[string][]byte{"data.json": []byte("[1,2]")}, want: "top level must be an object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.CompilePolicy(t.Context(), tc.files, "test")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestRevisionIsAContentHash(t *testing.T) {
	a := map[string][]byte{"a.rego": []byte("package a"), "b.json": []byte("{}")}
	b := map[string][]byte{"b.json": []byte("{}"), "a.rego": []byte("package a")}
	c := map[string][]byte{"a.rego": []byte("package a "), "b.json": []byte("{}")}
	assert.Equal(t, engine.Revision(a), engine.Revision(b))
	assert.NotEqual(t, engine.Revision(a), engine.Revision(c))
}
