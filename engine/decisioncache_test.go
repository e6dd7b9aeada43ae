package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// randomPolicy answers with a fresh random reason on every evaluation, so
// that two equal answers prove the second came from the cache.
func randomPolicy(tb testing.TB, cache bool) *engine.Policy {
	tb.Helper()
	data := `{"gatehouse": {"config": {"decision_cache": false}}}`
	if cache {
		data = `{"gatehouse": {"config": {"decision_cache": true}}}`
	}
	files := map[string][]byte{
		"data.json": []byte(data),
		"decision.rego": []byte(`package gatehouse.decision

result := {"allow": is_object(input.membership), "reasons": [uuid.rfc4122("evaluation")]}
`),
	}
	p, err := engine.CompilePolicy(tb.Context(), files, "test")
	require.NoError(tb, err)
	return p
}

func TestDecisionCacheIsExact(t *testing.T) {
	ask := engine.DecisionRequest{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "acme"}}
	newEngine := func(t *testing.T, p *engine.Policy, clock *time.Time) (*engine.Engine, engine.Store) {
		store := openEmbedded(t)
		seedDecisionData(t, store)
		eng, err := engine.New(store, p, engine.WithDecisionCache(100), engine.WithClock(func() time.Time { return *clock }), engine.WithDecisionTimeout(testDecisionTimeout))
		require.NoError(t, err)
		return eng, store
	}

	t.Run("a question asked again is answered from the cache", func(t *testing.T) {
		now := decisionNow
		eng, _ := newEngine(t, randomPolicy(t, true), &now)
		first, second := eng.Decide(t.Context(), ask), eng.Decide(t.Context(), ask)
		assert.True(t, first.Allow)
		assert.Equal(t, first.Reasons, second.Reasons)
		assert.NotEqual(t, first.DecisionID, second.DecisionID, "every decision has its own id")
	})
	t.Run("another question is evaluated", func(t *testing.T) {
		now := decisionNow
		eng, _ := newEngine(t, randomPolicy(t, true), &now)
		other := ask
		other.Resource.VirtualAccount = "emea"
		assert.NotEqual(t, eng.Decide(t.Context(), ask).Reasons, eng.Decide(t.Context(), other).Reasons)
	})
	t.Run("a change of data is evaluated", func(t *testing.T) {
		now := decisionNow
		eng, store := newEngine(t, randomPolicy(t, true), &now)
		before := eng.Decide(t.Context(), ask)
		state, err := store.AccountState(t.Context(), "acme")
		require.NoError(t, err)
		require.NoError(t, store.Commit(t.Context(), engine.Change{
			Versions:       map[string]uint64{"acme": state.Version},
			RemovedMembers: []engine.MemberRef{{Account: "acme", User: "alice"}},
		}))
		after := eng.Decide(t.Context(), ask)
		assert.True(t, before.Allow)
		assert.False(t, after.Allow, "the removed membership must not be answered from the cache")
	})
	t.Run("a new policy revision is evaluated", func(t *testing.T) {
		now := decisionNow
		eng, _ := newEngine(t, randomPolicy(t, true), &now)
		before := eng.Decide(t.Context(), ask)
		eng.SetPolicy(builtinPolicy(t))
		after := eng.Decide(t.Context(), ask)
		assert.NotEqual(t, before.PolicyRevision, after.PolicyRevision)
		assert.NotEqual(t, before.Reasons, after.Reasons)
	})
	t.Run("questions with a context are never cached", func(t *testing.T) {
		now := decisionNow
		eng, _ := newEngine(t, randomPolicy(t, true), &now)
		withContext := ask
		withContext.Context = map[string]any{"ip": "10.0.0.1"}
		assert.NotEqual(t, eng.Decide(t.Context(), withContext).Reasons, eng.Decide(t.Context(), withContext).Reasons)
	})
	t.Run("a policy that does not allow caching is always evaluated", func(t *testing.T) {
		now := decisionNow
		eng, _ := newEngine(t, randomPolicy(t, false), &now)
		assert.NotEqual(t, eng.Decide(t.Context(), ask).Reasons, eng.Decide(t.Context(), ask).Reasons)
	})
	t.Run("R7 a cached answer ends at the instant a membership expires, whichever way the clock moves", func(t *testing.T) {
		now := decisionNow
		eng, _ := newEngine(t, builtinPolicy(t), &now)
		tim := engine.DecisionRequest{Subject: "tim", Action: "use", Resource: engine.Resource{Account: "acme"}}
		expiry := decisionNow.Add(time.Hour) // seedDecisionData: tim's membership

		now = expiry.Add(-time.Nanosecond)
		assert.True(t, eng.Decide(t.Context(), tim).Allow)
		assert.True(t, eng.Decide(t.Context(), tim).Allow, "answered from the cache")
		now = expiry
		assert.False(t, eng.Decide(t.Context(), tim).Allow)
		assert.False(t, eng.Decide(t.Context(), tim).Allow, "answered from the cache")
		now = expiry.Add(-time.Nanosecond)
		assert.True(t, eng.Decide(t.Context(), tim).Allow, "a clock set back must not get the cached deny")
	})
}
