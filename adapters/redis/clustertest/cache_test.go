package clustertest_test

import (
	"bufio"
	"context"
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

// testCacheBytes is the client-side cache of each master in the tests:
// far more than they fill.
const testCacheBytes = 8 << 20

// openCachedStore opens a Store on c under prefix with the client-side
// cache, closed when the test ends.
func openCachedStore(tb testing.TB, c *redistest.Cluster, prefix string) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.Open(c.URL(), redisstore.WithPrefix(prefix), redisstore.WithClientSideCache(testCacheBytes),
		redisstore.WithReadTimeout(time.Minute), redisstore.WithWriteTimeout(time.Minute))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() }) // the suite may have closed it already
	_, ok := s.CacheStats()
	require.True(tb, ok, "a cluster store caches")
	return s
}

// TestConformanceCached runs the conformance suite, its race tests
// included, on one 3-master cluster through stores whose decision reads go
// through the client-side cache of each master.
func TestConformanceCached(t *testing.T) {
	c := startCluster(t)
	n := 0
	storetest.Run(t, func(tb testing.TB) engine.Store {
		n++
		return openCachedStore(tb, c, fmt.Sprintf("c%d", n))
	})
}

// masterClients returns a plain client on each master of c.
func masterClients(t *testing.T, c *redistest.Cluster) []*redis.Client {
	t.Helper()
	clients := make([]*redis.Client, len(c.Masters))
	for i, m := range c.Masters {
		clients[i] = redis.NewClient(&redis.Options{Addr: m.Addr()})
		t.Cleanup(func() { _ = clients[i].Close() })
	}
	return clients
}

// commandCalls returns how many commands the masters ran, by name, summed
// over INFO commandstats of each.
func commandCalls(t *testing.T, masters []*redis.Client) map[string]int {
	t.Helper()
	calls := map[string]int{}
	for _, m := range masters {
		info, err := m.Info(t.Context(), "commandstats").Result()
		require.NoError(t, err)
		sc := bufio.NewScanner(strings.NewReader(info))
		for sc.Scan() {
			name, rest, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":calls=")
			if !ok {
				continue
			}
			n, _, _ := strings.Cut(rest, ",")
			v, err := strconv.Atoi(n)
			require.NoError(t, err)
			calls[strings.TrimPrefix(name, "cmdstat_")] += v
		}
	}
	return calls
}

// seedDecision commits a user, an account with a partner and the user's
// memberships in both (accounts and user in three hash slots), through s.
func seedDecision(t *testing.T, s engine.Store) {
	t.Helper()
	require.NoError(t, s.Commit(t.Context(), engine.Change{
		Versions: map[string]uint64{"acme": 0, "partner": 0},
		Users:    []engine.User{{ID: "ann", Email: "ann@example.com"}},
		Accounts: []engine.Account{{ID: "acme", Name: "Acme", Partner: "partner"}, {ID: "partner", Name: "Partner"}},
		Members: []engine.Membership{
			{Account: "acme", User: "ann", Roles: []string{"admin"}},
			{Account: "partner", User: "ann", Roles: []string{"tm_admin"}},
		},
	}))
}

// revoke removes ann's membership of acme, decided at version, and returns
// the token of that write.
func revoke(t *testing.T, s engine.Store, version uint64) engine.Token {
	t.Helper()
	require.NoError(t, s.Commit(t.Context(), engine.Change{
		Versions:       map[string]uint64{"acme": version},
		RemovedMembers: []engine.MemberRef{{Account: "acme", User: "ann"}},
	}))
	return engine.Token{Versions: map[string]uint64{"acme": version + 1}}
}

// seeded waits until s reads the whole seed of seedDecision and returns it.
func seeded(t *testing.T, s *redisstore.Store) engine.Snapshot {
	t.Helper()
	var snap engine.Snapshot
	require.Eventually(t, func() bool {
		var err error
		snap, err = s.Snapshot(context.Background(), "ann", "acme")
		return err == nil && snap.User != nil && snap.Membership != nil && snap.PartnerMembership != nil
	}, 30*time.Second, time.Millisecond, "the seed is read")
	return snap
}

// TestWarmDecisionsMakeNoRoundTrips: once a decision's records, spread
// over the masters, are cached, N more decisions on them run no command on
// any master (INFO commandstats summed over all), and the cache counts the
// hits.
func TestWarmDecisionsMakeNoRoundTrips(t *testing.T) {
	c := startCluster(t)
	s := openCachedStore(t, c, "warm")
	seedDecision(t, s)
	want := seeded(t, s)

	masters := masterClients(t, c)
	before := commandCalls(t, masters)
	statsBefore, _ := s.CacheStats()
	const n = 1000
	token := engine.Token{Versions: map[string]uint64{"acme": 1}}
	for i := range n {
		var got engine.Snapshot
		var err error
		if i%2 == 0 {
			got, err = s.Snapshot(t.Context(), "ann", "acme")
		} else {
			got, err = s.SnapshotAtLeast(t.Context(), "ann", "acme", token)
		}
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	after := commandCalls(t, masters)
	ran := map[string]int{}
	for name, calls := range after {
		if d := calls - before[name]; d > 0 && name != "info" {
			ran[name] = d
		}
	}
	assert.Empty(t, ran, "commands the masters ran during %d warm decisions", n)
	assert.Equal(t, len(masters), after["info"]-before["info"], "only the INFOs that counted")
	stats, _ := s.CacheStats()
	t.Logf("%d warm decisions on a 3-master cluster: %d Redis commands; cache hits %d, misses %d, %d entries, %d bytes",
		n, len(ran), stats.Hits-statsBefore.Hits, stats.Misses-statsBefore.Misses, stats.Entries, stats.Bytes)
	assert.GreaterOrEqual(t, stats.Hits-statsBefore.Hits, uint64(n*8), "each decision reads 8 keys or more from the cache")
	assert.Equal(t, statsBefore.Misses, stats.Misses)
}

// TestCacheInvalidatedByAnotherReplica: a revocation committed by another
// store (another replica) reaches the cached store by the invalidation of
// the master holding the account, with no token; with the write's token
// no decision allows, from the first.
func TestCacheInvalidatedByAnotherReplica(t *testing.T) {
	c := startCluster(t)
	cached := openCachedStore(t, c, "inval")
	other := openStore(t, c, "inval")
	seedDecision(t, other)
	seeded(t, cached)

	token := revoke(t, other, 1)
	got, err := cached.SnapshotAtLeast(t.Context(), "ann", "acme", token)
	require.NoError(t, err)
	assert.Nil(t, got.Membership, "with the write's token, the revocation is seen at once")

	start := time.Now()
	require.Eventually(t, func() bool {
		snap, err := cached.SnapshotAtLeast(context.Background(), "ann", "acme", token)
		require.NoError(t, err)
		require.Nil(t, snap.Membership, "a decision with the write's token allowed")
		snap, err = cached.Snapshot(context.Background(), "ann", "acme")
		return err == nil && snap.Membership == nil
	}, 30*time.Second, time.Millisecond, "the invalidation reaches the cache")
	t.Logf("revocation seen without a token after %v", time.Since(start))
	stats, _ := cached.CacheStats()
	assert.Positive(t, stats.Invalidations)
}

// trackingClients returns the ids of the connections a master tracks keys
// for (CLIENT LIST flag t).
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
// tracking connections on the master holding acme, then a revocation while
// the store has no tracked connection there: a decision with the write's
// token sees it at once, one without as soon as the store notices the loss
// (the cache is dropped), never the cached membership for good.
func TestCacheDroppedWhenTrackingConnectionKilled(t *testing.T) {
	c := startCluster(t)
	cached := openCachedStore(t, c, "kill")
	other := openStore(t, c, "kill")
	seedDecision(t, other)
	seeded(t, cached)

	owner := newSlotOwner(t, c)
	master := redis.NewClient(&redis.Options{Addr: owner.of("kill:{a:acme}:version").Addr()})
	t.Cleanup(func() { _ = master.Close() })
	ids := trackingClients(t, master)
	require.NotEmpty(t, ids, "a tracking connection on acme's master")
	for _, id := range ids {
		// go-redis may keep a second client on the master for its seed
		// address, whose tracking connection reads no decision record.
		require.NoError(t, master.Do(t.Context(), "CLIENT", "KILL", "ID", id).Err())
	}
	token := revoke(t, other, 1)

	got, err := cached.SnapshotAtLeast(t.Context(), "ann", "acme", token)
	require.NoError(t, err)
	assert.Nil(t, got.Membership, "with the write's token, the revocation is seen at once")
	start := time.Now()
	require.Eventually(t, func() bool {
		snap, err := cached.Snapshot(context.Background(), "ann", "acme")
		return err == nil && snap.Membership == nil
	}, 30*time.Second, time.Millisecond, "the cache is dropped")
	t.Logf("revocation seen without a token %v after the kill", time.Since(start))
	require.Eventually(t, func() bool {
		_, err := cached.Snapshot(context.Background(), "ann", "acme")
		stats, _ := cached.CacheStats()
		return err == nil && stats.Drops > 0
	}, 30*time.Second, time.Millisecond, "the new tracking connection dropped the cache")
	stats, _ := cached.CacheStats()
	t.Logf("cache after the kill: %+v", stats)
}

// TestCacheSeesItsOwnCommits: a commit through the cached cluster store is
// seen by its very next Snapshot, without a token (read-your-writes on one
// replica: Commit returns once every master's tracking connection has
// delivered the commit's invalidations), each of many times.
func TestCacheSeesItsOwnCommits(t *testing.T) {
	c := startCluster(t)
	s := openCachedStore(t, c, "own")
	seedDecision(t, s)
	seeded(t, s)
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

// nodeID returns the cluster node id of the server c talks to.
func nodeID(t *testing.T, c *redis.Client) string {
	t.Helper()
	id, err := c.Do(t.Context(), "CLUSTER", "MYID").Text()
	require.NoError(t, err)
	return id
}

// moveSlot migrates the hash slot of key, and every key in it, from the
// master from to the master to, as redis-cli --cluster reshard does: mark
// the slot importing and migrating, MIGRATE its keys, then assign it to
// to on every master.
func moveSlot(t *testing.T, all []*redis.Client, from, to *redis.Client, toAddr, key string) {
	t.Helper()
	ctx := t.Context()
	slot, err := from.ClusterKeySlot(ctx, key).Result()
	require.NoError(t, err)
	fromID, toID := nodeID(t, from), nodeID(t, to)
	require.NoError(t, to.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", fromID).Err())
	require.NoError(t, from.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", toID).Err())
	host, port, _ := strings.Cut(toAddr, ":")
	for {
		keys, err := from.ClusterGetKeysInSlot(ctx, int(slot), 100).Result()
		require.NoError(t, err)
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		require.NoError(t, from.Do(ctx, args...).Err())
	}
	for _, m := range all {
		require.NoError(t, m.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", toID).Err())
	}
}

// TestCacheDroppedWhenSlotMoves: acme's hash slot moves to another master
// while the cache holds ann's membership there, then another replica
// revokes it on the new master: the cached store sees the revocation (its
// client follows the MOVED reply, reads the new slot map and drops the
// whole cache), with the write's token at once.
func TestCacheDroppedWhenSlotMoves(t *testing.T) {
	c := startCluster(t)
	cached := openCachedStore(t, c, "move")
	other := openStore(t, c, "move")
	seedDecision(t, other)
	seeded(t, cached)

	owner := newSlotOwner(t, c)
	key := "move:{a:acme}:version"
	fromSrv := owner.of(key)
	masters := masterClients(t, c)
	var from, to *redis.Client
	var toAddr string
	for i, m := range c.Masters {
		switch {
		case m == fromSrv:
			from = masters[i]
		case to == nil:
			to, toAddr = masters[i], m.Addr()
		}
	}
	moveSlot(t, masters, from, to, toAddr, key)
	token := revoke(t, other, 1)

	got, err := cached.SnapshotAtLeast(t.Context(), "ann", "acme", token)
	require.NoError(t, err)
	assert.Nil(t, got.Membership, "with the write's token, the revocation is seen at once")
	start := time.Now()
	require.Eventually(t, func() bool {
		snap, err := cached.Snapshot(context.Background(), "ann", "acme")
		return err == nil && snap.Membership == nil
	}, 30*time.Second, time.Millisecond, "the revocation on the slot's new master is seen")
	t.Logf("revocation seen without a token %v after it was written", time.Since(start))
	stats, _ := cached.CacheStats()
	t.Logf("cache after the move: %+v", stats)
	assert.Positive(t, stats.Drops, "the new slot map dropped the cache")
}
