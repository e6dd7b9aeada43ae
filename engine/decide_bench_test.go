package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// Sizes of the benchmark's directory (issue: 10,000 accounts, 100,000 memberships).
const (
	benchAccounts       = 10_000
	benchMembersPerAcct = 10
)

// loadBenchData fills store with benchAccounts accounts of benchMembersPerAcct
// members each, in batched commits.
func loadBenchData(b *testing.B, store engine.Store) {
	b.Helper()
	ctx := context.Background()
	const batch = 500
	for start := 0; start < benchAccounts; start += batch {
		change := engine.Change{Versions: map[string]uint64{}}
		for i := start; i < start+batch; i++ {
			id := fmt.Sprintf("acct-%05d", i)
			change.Versions[id] = 0
			change.Accounts = append(change.Accounts, engine.Account{ID: id, Name: id, VirtualAccounts: []string{id + "-va"}})
			for j := range benchMembersPerAcct {
				user := fmt.Sprintf("user-%05d", (i*benchMembersPerAcct+j)%(benchAccounts*benchMembersPerAcct/10))
				change.Members = append(change.Members, engine.Membership{
					Account: id, User: user, Roles: []string{"account_user"}, AddedBy: "ops",
				})
			}
		}
		for u := start * benchMembersPerAcct / 10; u < (start+batch)*benchMembersPerAcct/10; u++ {
			change.Users = append(change.Users, engine.User{ID: fmt.Sprintf("user-%05d", u)})
		}
		require.NoError(b, store.Commit(ctx, change))
	}
}

// benchDecide measures one decision about a member of one of the accounts.
func benchDecide(b *testing.B, store engine.Store, opts ...engine.Option) {
	loadBenchData(b, store)
	eng, err := engine.New(store, builtinPolicy(b), append(opts, engine.WithClock(func() time.Time { return decisionNow }))...)
	require.NoError(b, err)
	ask := engine.DecisionRequest{
		Subject: "user-02420", Action: "view",
		Resource: engine.Resource{Account: "acct-04242", VirtualAccount: "acct-04242-va"},
	}
	require.True(b, eng.Decide(b.Context(), ask).Allow, "benchmark decision must be an allow")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if !eng.Decide(b.Context(), ask).Allow {
			b.Fatal("decision flipped")
		}
	}
}

// BenchmarkDecideEmbedded: one decision, embedded store, 10,000 accounts and
// 100,000 memberships.
func BenchmarkDecideEmbedded(b *testing.B) {
	benchDecide(b, openEmbedded(b, embedded.WithNoSync()))
}

// BenchmarkDecideEmbeddedCached: as BenchmarkDecideEmbedded, with the
// decision cache on: the store is still read, the policy is not evaluated.
func BenchmarkDecideEmbeddedCached(b *testing.B) {
	benchDecide(b, openEmbedded(b, embedded.WithNoSync()), engine.WithDecisionCache(10_000))
}

// BenchmarkDecideRedis: one decision, Redis store (a real redis-server on
// loopback), 10,000 accounts and 100,000 memberships.
func BenchmarkDecideRedis(b *testing.B) {
	srv := redistest.Start(b)
	store, err := redisstore.Open(srv.URL())
	require.NoError(b, err)
	b.Cleanup(func() { store.Close() })
	benchDecide(b, store)
}

// BenchmarkDecideRedisCached: as BenchmarkDecideRedis, with the decision cache on.
func BenchmarkDecideRedisCached(b *testing.B) {
	srv := redistest.Start(b)
	store, err := redisstore.Open(srv.URL())
	require.NoError(b, err)
	b.Cleanup(func() { store.Close() })
	benchDecide(b, store, engine.WithDecisionCache(10_000))
}

// BenchmarkPolicyOnly: the policy evaluation alone, store read excluded,
// through the same engine path with a store holding only the one account.
func BenchmarkPolicyOnly(b *testing.B) {
	for _, ev := range []engine.Evaluator{engine.EvaluatorTopdown, engine.EvaluatorPlan} {
		b.Run("evaluator="+string(ev), func(b *testing.B) {
			store := openEmbedded(b, embedded.WithNoSync())
			seedDecisionData(b, store)
			eng, err := engine.New(store, builtinPolicy(b), engine.WithClock(func() time.Time { return decisionNow }), engine.WithEvaluator(ev))
			require.NoError(b, err)
			ask := engine.DecisionRequest{Subject: "alice", Action: "use", Resource: engine.Resource{Account: "acme", VirtualAccount: "us"}}
			b.ReportAllocs()
			for b.Loop() {
				eng.Decide(b.Context(), ask)
			}
		})
	}
}
