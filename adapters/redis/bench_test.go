package redis_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

const (
	benchAccounts          = 10_000
	benchUsers             = 20_000
	benchMembersPerAccount = 10 // 100,000 memberships
)

func benchAccount(i int) string { return fmt.Sprintf("acct-%05d", i) }
func benchUser(i int) string    { return fmt.Sprintf("user-%05d", i%benchUsers) }

// loadBench writes the benchmark's data set with pipelined SETs and HSETs,
// in the layout doc.go describes: odd accounts have the even account before
// them as partner; account i has users 10i .. 10i+9 (mod 20,000) as members.
func loadBench(b *testing.B, c *redis.Client) {
	b.Helper()
	ctx := b.Context()
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	pipe := c.Pipeline()
	flush := func(force bool) {
		if force || pipe.Len() >= 2000 {
			_, err := pipe.Exec(ctx)
			require.NoError(b, err)
		}
	}
	mustJSON := func(v any) []byte {
		data, err := json.Marshal(v)
		require.NoError(b, err)
		return data
	}
	for i := range benchUsers {
		id := benchUser(i)
		pipe.Set(ctx, "gh:{u:"+id+"}:user", mustJSON(engine.User{ID: id, Email: id + "@example.com", CreatedAt: now}), 0)
		flush(false)
	}
	for i := range benchAccounts {
		a := engine.Account{ID: benchAccount(i), Name: "Account", VirtualAccounts: []string{"va1", "va2"}, CreatedAt: now}
		if i%2 == 1 {
			a.Partner = benchAccount(i - 1)
		}
		pipe.Set(ctx, "gh:{a:"+a.ID+"}:account", mustJSON(a), 0)
		for j := range benchMembersPerAccount {
			m := engine.Membership{
				Account: a.ID, User: benchUser(i*benchMembersPerAccount + j),
				Roles: []string{"account_user"}, VARoles: map[string]string{"va1": "va_admin"},
				Privileges: map[string]string{"entitlements": "view"}, AddedBy: "ops", AddedAt: now,
			}
			pipe.HSet(ctx, "gh:{a:"+a.ID+"}:members", m.User, mustJSON(m))
		}
		flush(false)
	}
	flush(true)
	n, err := c.DBSize(ctx).Result()
	require.NoError(b, err)
	require.Equal(b, int64(benchUsers+2*benchAccounts), n)
}

// BenchmarkSnapshot reads decision snapshots from a Redis holding 10,000
// accounts and 100,000 memberships: one round trip without a partner, two
// with one.
func BenchmarkSnapshot(b *testing.B) {
	srv := redistest.Start(b)
	s := newStore(b, srv)
	loadBench(b, newClient(b, srv))

	for _, bc := range []struct {
		name   string
		parity int
	}{{"without partner", 0}, {"with partner", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := bc.parity
			for b.Loop() {
				snap, err := s.Snapshot(b.Context(), benchUser(i*benchMembersPerAccount), benchAccount(i))
				if err != nil || snap.Membership == nil || snap.Account == nil || (snap.Account.Partner != "") != (bc.parity == 1) {
					b.Fatalf("snapshot of %s: %+v, %v", benchAccount(i), snap, err)
				}
				i = (i + 2) % benchAccounts
			}
		})
	}
}

// BenchmarkSnapshotCached reads the same decision snapshots through the
// client-side cache: "warm" rereads 1,000 accounts' snapshots the cache
// holds, read once before the timing (no round trip), "cold" reads each account once, on a cache too
// small to keep what it read (a miss per key, one round trip each).
func BenchmarkSnapshotCached(b *testing.B) {
	srv := redistest.Start(b)
	loadBench(b, newClient(b, srv))
	for _, bc := range []struct {
		name     string
		maxBytes int64
		accounts int
	}{{"warm", 64 << 20, 1000}, {"cold", 1, benchAccounts}} {
		b.Run(bc.name, func(b *testing.B) {
			s := newCachedStoreBytes(b, srv, bc.maxBytes)
			if bc.name == "warm" {
				for i := range bc.accounts {
					_, err := s.Snapshot(b.Context(), benchUser(i*benchMembersPerAccount), benchAccount(i))
					require.NoError(b, err)
				}
			}
			before, _ := s.CacheStats()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				snap, err := s.Snapshot(b.Context(), benchUser(i*benchMembersPerAccount), benchAccount(i))
				if err != nil || snap.Membership == nil {
					b.Fatalf("snapshot of %s: %+v, %v", benchAccount(i), snap, err)
				}
				i = (i + 1) % bc.accounts
			}
			stats, _ := s.CacheStats()
			b.ReportMetric(float64(stats.Misses-before.Misses)/float64(b.N), "misses/op")
		})
	}
}
