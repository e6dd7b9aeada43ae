package engine_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// builtInEngine returns an engine over a fresh embedded store, serving the
// built-in policies.
func builtInEngine(tb testing.TB) *engine.Engine {
	tb.Helper()
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(tb, err)
	return newPolicyEngine(tb, files)
}

// seedAcme writes account acme (virtual account va1) with account_user
// alice and bob, account_viewer vera and account_admin adam.
func seedAcme(tb testing.TB, store engine.Store) {
	tb.Helper()
	now := time.Now().UTC()
	change := engine.Change{
		Versions: map[string]uint64{"acme": 0},
		Accounts: []engine.Account{{ID: "acme", Name: "Acme", VirtualAccounts: []string{"va1"}, CreatedAt: now}},
	}
	for user, role := range map[string]string{"alice": "account_user", "bob": "account_user", "vera": "account_viewer", "adam": "account_admin"} {
		change.Users = append(change.Users, engine.User{ID: user, Email: user + "@example.com", FirstName: user, LastName: "Acme", CreatedAt: now})
		change.Members = append(change.Members, engine.Membership{Account: "acme", User: user, Roles: []string{role}, AddedBy: "ops", AddedAt: now})
	}
	require.NoError(tb, store.Commit(context.Background(), change))
}

// userNoLongerViewer is the built-in policies where account_user no longer
// includes account_viewer (R1 changed): an account_user loses view on the
// account itself, and keeps it on virtual accounts through va_user (R3).
func userNoLongerViewer(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(tb, err)
	old := []byte(`"account_user": ["account_viewer"]`)
	require.Equal(tb, 1, bytes.Count(files["data.json"], old), "the built-in data.json names account_user's inclusions once")
	return withFile(files, "data.json", bytes.Replace(files["data.json"], old, []byte(`"account_user": []`), 1))
}

func TestReplayReportsExactlyTheFlips(t *testing.T) {
	ctx := context.Background()
	eng := builtInEngine(t)
	seedAcme(t, eng.Store())
	candidate, err := engine.CompilePolicy(ctx, userNoLongerViewer(t), "candidate")
	require.NoError(t, err)

	type ask struct{ subject, action, va string }
	asks := []ask{
		{"alice", "view", ""},    // flips: account_user no longer includes account_viewer
		{"alice", "view", "va1"}, // stays: account_user acts as va_user on va1 (R3)
		{"alice", "use", ""},     // stays
		{"bob", "view", ""},      // flips
		{"vera", "view", ""},     // stays
		{"vera", "use", ""},      // stays denied
		{"adam", "view", ""},     // stays: account_admin includes account_approver, which includes account_viewer
		{"nobody", "view", ""},   // stays denied: not a member
	}
	var logged []engine.LoggedDecision
	for _, a := range asks {
		req := engine.DecisionRequest{Subject: a.subject, Action: a.action, Resource: engine.Resource{Account: "acme", VirtualAccount: a.va}}
		d := eng.Decide(ctx, req)
		logged = append(logged, engine.LoggedDecision{
			DecisionID: d.DecisionID, Request: req, PolicyRevision: d.PolicyRevision,
			Verdict: engine.Verdict{Allow: d.Allow, Reasons: d.Reasons, Error: d.Error},
		})
	}
	active := eng.Policy()

	flips, err := eng.Replay(ctx, logged, candidate)
	require.NoError(t, err)
	require.Len(t, flips, 2)
	for i, subject := range []string{"alice", "bob"} {
		f := flips[i]
		assert.Equal(t, subject, f.Request.Subject)
		assert.Equal(t, "view", f.Request.Action)
		assert.Equal(t, logged[map[string]int{"alice": 0, "bob": 3}[subject]].DecisionID, f.DecisionID)
		assert.True(t, f.Before.Allow)
		assert.False(t, f.After.Allow)
		assert.NotEmpty(t, f.Before.Reasons)
		require.NotEmpty(t, f.After.Reasons)
		assert.Contains(t, f.After.Reasons[0], "account_viewer", "the candidate says why it denies")
	}
	assert.Same(t, active, eng.Policy(), "a replay leaves the active revision alone")

	same, err := eng.Replay(ctx, logged, active)
	require.NoError(t, err)
	assert.Empty(t, same, "replaying with the policy that decided flips nothing")
}

func TestReplayRefuses(t *testing.T) {
	ctx := context.Background()
	eng := newPolicyEngine(t, miniPolicy())
	masked := engine.LoggedDecision{DecisionID: "d1", Request: engine.DecisionRequest{Subject: "***", Action: "view", Resource: engine.Resource{Account: "acme"}}}

	_, err := eng.Replay(ctx, []engine.LoggedDecision{masked}, eng.Policy())
	require.ErrorIs(t, err, engine.ErrInvalid)
	assert.Contains(t, err.Error(), "d1")

	_, err = eng.Replay(ctx, nil, nil)
	require.Error(t, err)
}

func TestReplayStopsWhenTheStoreIsDown(t *testing.T) {
	ctx := context.Background()
	store, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	p, err := engine.CompilePolicy(ctx, miniPolicy(), "mini")
	require.NoError(t, err)
	eng, err := engine.New(store, p, engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(t, err)
	require.NoError(t, store.Close())

	logged := []engine.LoggedDecision{{
		DecisionID: "d1",
		Request:    engine.DecisionRequest{Subject: "root", Action: "view", Resource: engine.Resource{Account: "acme"}},
		Verdict:    engine.Verdict{Allow: true, Reasons: []string{"the admin may"}},
	}}
	_, err = eng.Replay(ctx, logged, p)
	require.ErrorIs(t, err, engine.ErrUnavailable, "an outage is not reported as flips (R45)")
}
