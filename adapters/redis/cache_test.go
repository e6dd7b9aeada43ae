package redis_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/engine/storetest"
)

// testCacheBytes is the client-side cache of the tests: far more than
// they fill.
const testCacheBytes = 8 << 20

// newCachedStore opens a Store on srv with the client-side cache.
func newCachedStore(tb testing.TB, srv *redistest.Server) *redisstore.Store {
	tb.Helper()
	return newCachedStoreBytes(tb, srv, testCacheBytes)
}

// newCachedStoreBytes opens a Store on srv with a client-side cache of
// maxBytes.
func newCachedStoreBytes(tb testing.TB, srv *redistest.Server, maxBytes int64) *redisstore.Store {
	tb.Helper()
	return openStore(tb, srv, append(testTimeouts, redisstore.WithClientSideCache(maxBytes))...)
}

// TestConformanceCached runs the conformance suite on a Store whose
// decision reads go through the client-side cache.
func TestConformanceCached(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) engine.Store {
		s := newCachedStore(tb, redistest.Start(tb))
		_, ok := s.CacheStats()
		require.True(tb, ok, "a standalone store of database 0 caches")
		return s
	})
}

// seedDecision commits a user, an account with a partner and the user's
// memberships in both, and returns the version change of the account.
func seedDecision(t *testing.T, s engine.Store) engine.Change {
	t.Helper()
	change := engine.Change{
		Versions: map[string]uint64{"acme": 0, "partner": 0},
		Users:    []engine.User{{ID: "ann", Email: "ann@example.com"}},
		Accounts: []engine.Account{{ID: "acme", Name: "Acme", Partner: "partner"}, {ID: "partner", Name: "Partner"}},
		Members: []engine.Membership{
			{Account: "acme", User: "ann", Roles: []string{"admin"}},
			{Account: "partner", User: "ann", Roles: []string{"tm_admin"}},
		},
	}
	require.NoError(t, s.Commit(t.Context(), change))
	return change
}

// revoke removes ann's membership of acme, decided at version, and returns
// the token of that write.
func revoke(t *testing.T, s engine.Store, version uint64) engine.Token {
	t.Helper()
	change := engine.Change{
		Versions:       map[string]uint64{"acme": version},
		RemovedMembers: []engine.MemberRef{{Account: "acme", User: "ann"}},
	}
	require.NoError(t, s.Commit(t.Context(), change))
	return engine.Token{Versions: map[string]uint64{"acme": version + 1}}
}

// commandCalls returns how many commands redis-server ran, by name, from
// INFO commandstats.
func commandCalls(t *testing.T, c *redis.Client) map[string]int {
	t.Helper()
	info, err := c.Info(t.Context(), "commandstats").Result()
	require.NoError(t, err)
	calls := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, rest, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":calls=")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(rest, ",")
		calls[strings.TrimPrefix(name, "cmdstat_")], err = strconv.Atoi(n)
		require.NoError(t, err)
	}
	return calls
}

// TestWarmDecisionsMakeNoRoundTrips: once a decision's records are cached,
// N more decisions on them run no command on redis-server at all (INFO
// commandstats counts every command it ran, whatever the connection),
// and the cache counts the hits.
func TestWarmDecisionsMakeNoRoundTrips(t *testing.T) {
	srv := redistest.Start(t)
	s := newCachedStore(t, srv)
	seedDecision(t, s)
	want, err := s.Snapshot(t.Context(), "ann", "acme")
	require.NoError(t, err)
	require.NotNil(t, want.Membership)
	require.NotNil(t, want.PartnerMembership)

	admin := newClient(t, srv)
	before := commandCalls(t, admin)
	statsBefore, _ := s.CacheStats()
	const n = 1000
	token := engine.Token{Versions: map[string]uint64{"acme": 1}}
	for i := range n {
		var got engine.Snapshot
		if i%2 == 0 {
			got, err = s.Snapshot(t.Context(), "ann", "acme")
		} else {
			got, err = s.SnapshotAtLeast(t.Context(), "ann", "acme", token)
		}
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	after := commandCalls(t, admin)
	ran := map[string]int{}
	for name, calls := range after {
		if d := calls - before[name]; d > 0 && name != "info" {
			ran[name] = d
		}
	}
	assert.Empty(t, ran, "commands redis-server ran during %d warm decisions", n)
	assert.Equal(t, 1, after["info"]-before["info"], "only the INFO that counted")
	stats, ok := s.CacheStats()
	require.True(t, ok)
	t.Logf("%d warm decisions: %d Redis commands; cache hits %d, misses %d, %d entries, %d bytes",
		n, len(ran), stats.Hits-statsBefore.Hits, stats.Misses-statsBefore.Misses, stats.Entries, stats.Bytes)
	assert.GreaterOrEqual(t, stats.Hits-statsBefore.Hits, uint64(n*8), "each decision reads 8 keys or more from the cache")
	assert.Equal(t, statsBefore.Misses, stats.Misses)
}

// waitFor polls cond until it holds, failing after a generous limit, and
// returns how long it took.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	require.Eventually(t, cond, 30*time.Second, time.Millisecond, what)
	return time.Since(start)
}

// TestCacheInvalidatedByAnotherReplica: a revocation committed by another
// store (another replica) reaches the cached store by Redis's invalidation
// with no token, and at once with the token of the write.
func TestCacheInvalidatedByAnotherReplica(t *testing.T) {
	srv := redistest.Start(t)
	cached := newCachedStore(t, srv)
	other := newStore(t, srv)
	seedDecision(t, other)
	snap, err := cached.Snapshot(t.Context(), "ann", "acme")
	require.NoError(t, err)
	require.NotNil(t, snap.Membership)

	token := revoke(t, other, 1)
	got, err := cached.SnapshotAtLeast(t.Context(), "ann", "acme", token)
	require.NoError(t, err)
	assert.Nil(t, got.Membership, "with the write's token, the revocation is seen at once")

	took := waitFor(t, "the invalidation reaches the cache", func() bool {
		snap, err := cached.Snapshot(context.Background(), "ann", "acme")
		return err == nil && snap.Membership == nil
	})
	t.Logf("revocation seen without a token after %v", took)
	stats, _ := cached.CacheStats()
	assert.Positive(t, stats.Invalidations)
}

// trackingClients returns the ids of the connections redis-server tracks
// keys for (CLIENT LIST flag t).
func trackingClients(t *testing.T, c *redis.Client) []string {
	t.Helper()
	list, err := c.ClientList(t.Context()).Result()
	require.NoError(t, err)
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		var id string
		tracking := false
		for _, field := range strings.Fields(line) {
			k, v, _ := strings.Cut(field, "=")
			switch {
			case k == "id":
				id = v
			case k == "flags" && strings.Contains(v, "t"):
				tracking = true
			}
		}
		if tracking {
			ids = append(ids, id)
		}
	}
	return ids
}

// TestCacheDroppedWhenTrackingConnectionKilled: CLIENT KILL of the
// tracking connection, then a revocation while the store has no tracked
// connection: a decision with the write's token sees it at once, one
// without sees it as soon as the store notices the loss (the cache is
// dropped), never the cached membership for good.
func TestCacheDroppedWhenTrackingConnectionKilled(t *testing.T) {
	srv := redistest.Start(t)
	cached := newCachedStore(t, srv)
	other := newStore(t, srv)
	admin := newClient(t, srv)
	seedDecision(t, other)
	snap, err := cached.Snapshot(t.Context(), "ann", "acme")
	require.NoError(t, err)
	require.NotNil(t, snap.Membership)

	ids := trackingClients(t, admin)
	require.Len(t, ids, 1, "one tracking connection")
	require.NoError(t, admin.Do(t.Context(), "CLIENT", "KILL", "ID", ids[0]).Err())
	token := revoke(t, other, 1)

	got, err := cached.SnapshotAtLeast(t.Context(), "ann", "acme", token)
	require.NoError(t, err)
	assert.Nil(t, got.Membership, "with the write's token, the revocation is seen at once")
	took := waitFor(t, "the cache is dropped", func() bool {
		snap, err := cached.Snapshot(context.Background(), "ann", "acme")
		return err == nil && snap.Membership == nil
	})
	t.Logf("revocation seen without a token %v after the kill", took)
	stats, _ := cached.CacheStats()
	t.Logf("cache after the kill: %+v", stats)
}

// TestCacheDroppedWhenRedisRestarts: redis-server restarted empty (its
// data lost) while the cache held a membership: decisions fail closed
// while it is down, and after it is back they read what it holds now,
// not what the cache held; a token from before the restart, which the
// server no longer reaches, is an error wrapping ErrUnavailable.
func TestCacheDroppedWhenRedisRestarts(t *testing.T) {
	srv := redistest.Start(t)
	cached := newCachedStore(t, srv)
	seedDecision(t, cached)
	snap, err := cached.Snapshot(t.Context(), "ann", "acme")
	require.NoError(t, err)
	require.NotNil(t, snap.Membership)
	ahead := engine.Token{Versions: map[string]uint64{"acme": 1}}

	srv.Stop()
	_, err = cached.SnapshotAtLeast(t.Context(), "ann", "acme", engine.Token{})
	require.ErrorIs(t, err, engine.ErrUnavailable, "read around the cache while Redis is down")
	took := waitFor(t, "the lost connection drops the cache: decisions fail closed", func() bool {
		_, err := cached.Snapshot(context.Background(), "ann", "acme")
		return errors.Is(err, engine.ErrUnavailable)
	})
	t.Logf("decisions failed closed %v after redis-server stopped", took)
	srv.Restart()

	took = waitFor(t, "decisions read the restarted, empty Redis", func() bool {
		snap, err := cached.Snapshot(context.Background(), "ann", "acme")
		return err == nil && snap.Membership == nil && snap.User == nil
	})
	t.Logf("restarted Redis read %v after it came back", took)
	_, err = cached.SnapshotAtLeast(t.Context(), "ann", "acme", ahead)
	require.ErrorIs(t, err, engine.ErrUnavailable)
	stats, _ := cached.CacheStats()
	assert.Positive(t, stats.Drops, "the new tracking connection dropped the cache")
}

// TestCacheOnlyForDatabaseZero: go-redis caches for database 0 only; a
// store on another database reads Redis for every decision.
func TestCacheOnlyForDatabaseZero(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.Open("redis://"+srv.Addr()+"/3", redisstore.WithClientSideCache(testCacheBytes))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, ok := s.CacheStats()
	assert.False(t, ok)
	seedDecision(t, s)
	snap, err := s.Snapshot(t.Context(), "ann", "acme")
	require.NoError(t, err)
	assert.NotNil(t, snap.Membership)
}

// TestCacheSeesItsOwnCommits: a commit through the cached store is seen by
// its very next Snapshot, without a token (read-your-writes on one
// replica), each of many times.
func TestCacheSeesItsOwnCommits(t *testing.T) {
	srv := redistest.Start(t)
	s := newCachedStore(t, srv)
	seedDecision(t, s)
	member := engine.Membership{Account: "acme", User: "ann", Roles: []string{"admin"}}
	version := uint64(1)
	for i := range 50 {
		snap, err := s.Snapshot(t.Context(), "ann", "acme")
		require.NoError(t, err)
		require.NotNil(t, snap.Membership, "round %d", i)
		revoke(t, s, version)
		snap, err = s.Snapshot(t.Context(), "ann", "acme")
		require.NoError(t, err)
		require.Nil(t, snap.Membership, "round %d: the store's own revocation is seen at once", i)
		require.NoError(t, s.Commit(t.Context(), engine.Change{
			Versions: map[string]uint64{"acme": version + 1}, Members: []engine.Membership{member},
		}))
		version += 2
	}
}

// TestCacheMemoryIsBounded: reading far more records than the bound holds
// keeps the cache within its bound (go-redis's estimate), evicting the
// least recently used.
func TestCacheMemoryIsBounded(t *testing.T) {
	srv := redistest.Start(t)
	const bound = 32 << 10
	s := openStore(t, srv, append(testTimeouts, redisstore.WithClientSideCache(bound))...)
	const users = 400
	change := engine.Change{Versions: map[string]uint64{"acme": 0}, Accounts: []engine.Account{{ID: "acme", Name: "Acme"}}}
	for i := range users {
		id := fmt.Sprintf("user-%03d", i)
		change.Users = append(change.Users, engine.User{ID: id, Email: id + "@example.com", FirstName: "A name long enough to weigh"})
		change.Members = append(change.Members, engine.Membership{Account: "acme", User: id, Roles: []string{"account_viewer"}})
	}
	require.NoError(t, s.Commit(t.Context(), change))
	for i := range users {
		snap, err := s.Snapshot(t.Context(), fmt.Sprintf("user-%03d", i), "acme")
		require.NoError(t, err)
		require.NotNil(t, snap.Membership)
		stats, _ := s.CacheStats()
		require.LessOrEqual(t, stats.Bytes, int64(bound), "after %d decisions", i+1)
	}
	stats, _ := s.CacheStats()
	t.Logf("%d decisions on distinct users, bound %d bytes: %d entries, %d bytes", users, bound, stats.Entries, stats.Bytes)
	assert.Less(t, stats.Entries, 2*users, "least recently used entries were evicted")
	assert.Equal(t, int64(bound), stats.MaxBytes)
}
