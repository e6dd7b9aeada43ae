package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

// CacheMaxStaleness is the longest the client-side cache serves an entry,
// invalidated or not: go-redis's backstop (CacheConfig.MaxStaleness) for an
// invalidation lost in a way no connection event reveals. Invalidations,
// not this bound, keep entries fresh.
const CacheMaxStaleness = 30 * time.Second

// cacheDrainInterval is how often go-redis applies the invalidations
// Redis sent on the tracking connection while it was idle: the bound on
// how long after a commit an entry it changed may still be served.
const cacheDrainInterval = time.Millisecond

// maxCacheAttempts bounds how often a cached read is made again because
// the account's version moved while it was read; then Redis is read
// around the cache.
const maxCacheAttempts = 3

// WithClientSideCache keeps, in this process, up to maxBytes (as go-redis
// estimates them) of the records decisions read: the Redis server tracks
// the keys read (RESP3 CLIENT TRACKING) and tells the store when they
// change, and go-redis's built-in client-side cache drops them. A warm
// decision then makes no Redis round trip. Zero or less: no cache.
//
// It applies to a store made by Open on a standalone URL (redis, rediss,
// unix) of database 0, the only ones go-redis caches for; elsewhere every
// decision reads Redis (CacheStats reports false). See Snapshot for the
// freshness the cache keeps.
func WithClientSideCache(maxBytes int64) Option {
	return func(s *Store) { s.cacheMaxBytes = maxBytes }
}

// CacheStats are the client-side cache's counters (WithClientSideCache).
// Hits and Misses count cached reads of one key (a decision makes five to
// seven); Invalidations counts keys Redis named in its invalidation pushes;
// Drops counts the times the whole cache was dropped because its tracking
// connection was replaced; ReadsAround counts decisions read from Redis
// around the cache (a consistency token the cache was behind, or an
// account that changed while it was read). Entries and Bytes are its
// current size, MaxBytes its bound.
type CacheStats struct {
	Hits, Misses, Invalidations, Drops, ReadsAround uint64
	Entries                                         int
	Bytes, MaxBytes                                 int64
}

// CacheStats returns the client-side cache's counters, and false when the
// store has no cache.
func (s *Store) CacheStats() (CacheStats, bool) {
	c := s.cache
	if c == nil {
		return CacheStats{}, false
	}
	st := c.local.Stats()
	return CacheStats{
		Hits: st.Hits, Misses: st.Misses, Invalidations: c.local.InvalidationStats(),
		Drops: c.drops.Load(), ReadsAround: c.around.Load(),
		Entries: st.Entries, Bytes: st.MemoryUsageBytes, MaxBytes: c.maxBytes,
	}, true
}

// cache reads decision records through go-redis's client-side cache, on a
// client of its own with one connection. That connection is the one
// Redis tracks, so every invalidation reaches the store in the order
// Redis sent it, before the reply of any later read: once the cache holds
// an account's version v, it holds no entry that a commit up to v made
// stale (see Store.SnapshotAtLeast).
type cache struct {
	client   *redis.Client
	local    *redis.LocalCache
	maxBytes int64
	// dials counts the tracking connections made; drops, the ones that
	// replaced another (and dropped the cache).
	dials, drops atomic.Uint64
	around       atomic.Uint64
}

// newCache returns the cache on the standalone Redis of opts, or nil when
// go-redis cannot cache for it (a database other than 0).
func newCache(opts *redis.Options, maxBytes int64, bound time.Duration) *cache {
	if opts.DB != 0 {
		return nil
	}
	c := &cache{maxBytes: maxBytes}
	c.local = redis.NewLocalCache(redis.CacheConfig{
		MaxMemoryBytes: maxBytes,
		DrainInterval:  cacheDrainInterval,
		MaxStaleness:   CacheMaxStaleness,
	})
	opts.Protocol = 3
	opts.PoolSize = 1
	opts.MinIdleConns = 0
	opts.MaxIdleConns = 1
	opts.ClientSideCache = c.local
	opts.ClientSideCacheConfig = nil
	c.client = redis.NewClient(opts)
	c.client.AddHook(boundHook{timeout: bound})
	c.client.AddHook(dropHook{c})
	return c
}

// dropHook drops the whole cache whenever the tracking connection is
// replaced: what Redis tracked for the old one, and the invalidations it
// would have sent on it, are gone (a killed connection, a restarted
// server). go-redis also evicts the entries of a connection it closes.
type dropHook struct{ c *cache }

func (h dropHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if h.c.dials.Add(1) > 1 {
			h.c.local.Flush()
			h.c.drops.Add(1)
		}
		return next(ctx, network, addr)
	}
}

func (h dropHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h dropHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// syncCache makes what a commit through this store changed invisible to
// the cache before Commit returns, so that a replica's own writes are seen
// by its next decisions, token or not: Redis sent the commit's
// invalidations to the tracking connection before it answered the commit,
// so the reply of a PING sent on that connection afterwards comes after
// them, and go-redis applies them before it reads that reply. When the
// PING fails, the whole cache is dropped instead.
func (s *Store) syncCache(ctx context.Context) {
	if s.cache == nil {
		return
	}
	if err := s.cache.client.Ping(ctx).Err(); err != nil {
		s.cache.local.Flush()
		s.cache.drops.Add(1)
	}
}

// snapshot reads a decision's records through the cache: the account's
// version, then each account of need (returning ok false as soon as one is
// behind its version there), then the records, then the account's version
// again, and again from the start while it moved, at most
// maxCacheAttempts times (then ok is false). ok false: read Redis around
// the cache.
func (c *cache) snapshot(ctx context.Context, k keys, subject, account string, need map[string]uint64) (snap engine.Snapshot, ok bool, err error) {
	for range maxCacheAttempts {
		before, err := c.version(ctx, k, account)
		if err != nil {
			return engine.Snapshot{}, false, err
		}
		for a, v := range need {
			cur, err := c.version(ctx, k, a)
			if err != nil {
				return engine.Snapshot{}, false, err
			}
			if cur < v {
				c.around.Add(1)
				return engine.Snapshot{}, false, nil
			}
		}
		if snap, err = c.read(ctx, k, subject, account); err != nil {
			return engine.Snapshot{}, false, err
		}
		after, err := c.version(ctx, k, account)
		if err != nil {
			return engine.Snapshot{}, false, err
		}
		if after == before {
			return snap, true, nil
		}
	}
	c.around.Add(1)
	return engine.Snapshot{}, false, nil
}

// version reads an account's version through the cache, 0 when never
// committed.
func (c *cache) version(ctx context.Context, k keys, account string) (uint64, error) {
	v, err := optionalUint(c.client.Get(ctx, k.version(account)))
	if err != nil {
		return 0, wrap(fmt.Sprintf("version of %q", account), err)
	}
	return v, nil
}

// read reads the records of readSnapshot with one plain read each (GET,
// HGET, EXISTS), which go-redis answers from the cache when it can.
func (c *cache) read(ctx context.Context, k keys, subject, account string) (engine.Snapshot, error) {
	var snap engine.Snapshot
	var err error
	if snap.User, err = optional[engine.User]("user", c.client.Get(ctx, k.user(subject))); err != nil {
		return engine.Snapshot{}, err
	}
	if snap.Account, err = optional[engine.Account]("account", c.client.Get(ctx, k.account(account))); err != nil {
		return engine.Snapshot{}, err
	}
	if snap.Membership, err = optional[engine.Membership]("membership", c.client.HGet(ctx, k.members(account), subject)); err != nil {
		return engine.Snapshot{}, err
	}
	grants, err := optional[[]engine.Grant]("grants", c.client.HGet(ctx, k.grants(account), subject))
	if err != nil {
		return engine.Snapshot{}, err
	}
	if grants != nil {
		snap.TenantGrants = *grants
	}
	exclusive, err := c.client.Exists(ctx, k.exclusive(account)).Result()
	if err != nil {
		return engine.Snapshot{}, wrap("snapshot exclusive", err)
	}
	snap.TenantExclusive = exclusive > 0
	if snap.Account != nil && snap.Account.Partner != "" {
		partner := c.client.HGet(ctx, k.members(snap.Account.Partner), subject)
		if snap.PartnerMembership, err = optional[engine.Membership]("partner membership", partner); err != nil {
			return engine.Snapshot{}, err
		}
	}
	return snap, nil
}

func (c *cache) close() error {
	if err := c.client.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return err
	}
	return nil
}
