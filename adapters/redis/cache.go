package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"sync"
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
// unix) of database 0, and on a Redis Cluster URL (redis+cluster,
// rediss+cluster), where each master has a cache of its own bounded by
// maxBytes, on one tracked connection to that master. Elsewhere (Sentinel,
// another database) every decision reads Redis (CacheStats reports false).
// See Snapshot for the freshness the cache keeps.
func WithClientSideCache(maxBytes int64) Option {
	return func(s *Store) { s.cacheMaxBytes = maxBytes }
}

// CacheStats are the client-side cache's counters (WithClientSideCache).
// Hits and Misses count cached reads of one key (a decision makes five to
// seven); Invalidations counts keys Redis named in its invalidation pushes;
// Drops counts the times the whole cache was dropped because a tracking
// connection was replaced or, on a Redis Cluster, the slots of its masters
// changed; ReadsAround counts decisions read from Redis around the cache (a
// consistency token the cache was behind, or an account that changed while
// it was read). Entries and Bytes are its current size, summed over the
// masters of a cluster; MaxBytes is its bound, on a cluster the
// per-master bound times the masters of the slot map as last read.
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
	stats := CacheStats{Drops: c.drops.Load(), ReadsAround: c.around.Load()}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		st := n.local.Stats()
		stats.Hits += st.Hits
		stats.Misses += st.Misses
		stats.Invalidations += n.local.InvalidationStats()
		stats.Entries += st.Entries
		stats.Bytes += st.MemoryUsageBytes
	}
	stats.MaxBytes = c.maxBytes * int64(max(len(c.masterAddrsLocked()), 1))
	return stats, true
}

// cache reads decision records through go-redis's client-side cache, on a
// client of its own with one connection per Redis server: on a standalone
// Redis one client, on a Redis Cluster a cluster client whose client of
// each node has one connection and a cache of its own. Every key a
// decision reads about one account shares that account's hash slot, so one
// connection, the one Redis tracks, carries the account's version and its
// records, and every invalidation of them reaches the store in the order
// Redis sent it, before the reply of any later read: once the cache holds
// an account's version v, it holds no entry of that account that a commit
// up to v made stale (see Store.SnapshotAtLeast).
type cache struct {
	client   redis.UniversalClient
	maxBytes int64

	mu sync.Mutex
	// nodes are the caches of each server's client, by the address it
	// dials ("" on a standalone Redis).
	nodes map[string]*nodeCache
	// slots is the cluster's slot map as last read (a cluster only).
	slots []redis.ClusterSlot

	drops  atomic.Uint64
	around atomic.Uint64
}

// nodeCache is the client-side cache of one Redis server's client.
type nodeCache struct {
	client *redis.Client
	// slotAddr is the server's address in the cluster's slot map: go-redis
	// may dial it under another (a loopback host without it), and makes a
	// client of its own for a seed address, not in the map.
	slotAddr string
	local    *redis.LocalCache
	// dials counts the tracking connections made to the server.
	dials atomic.Uint64
}

// newCache returns the cache on the standalone Redis of opts, or nil when
// go-redis cannot cache for it (a database other than 0).
func newCache(opts *redis.Options, maxBytes int64, bound time.Duration) *cache {
	if opts.DB != 0 {
		return nil
	}
	c := &cache{maxBytes: maxBytes, nodes: map[string]*nodeCache{}}
	c.client = c.nodeClient("", opts, bound)
	return c
}

// newClusterCache returns the cache on the Redis Cluster of opts. Its
// client reads the slot map with admin, a client of the store on the same
// cluster, and drops the whole cache whenever the map changed: a slot
// moved, a replica was promoted, a master left (see ClusterOptions.ClusterSlots).
func newClusterCache(opts *redis.ClusterOptions, admin *redis.ClusterClient, maxBytes int64, bound time.Duration) *cache {
	c := &cache{maxBytes: maxBytes, nodes: map[string]*nodeCache{}}
	opts.ReadOnly = false
	opts.RouteByLatency = false
	opts.RouteRandomly = false
	opts.ClusterSlots = func(ctx context.Context) ([]redis.ClusterSlot, error) {
		slots, err := admin.ClusterSlots(ctx).Result()
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.slots != nil && !reflect.DeepEqual(c.slots, slots) {
			c.flushLocked()
		}
		c.slots = slots
		return slots, nil
	}
	opts.NewClient = func(o *redis.Options) *redis.Client { return c.nodeClient(o.Addr, o, bound) }
	c.client = redis.NewClusterClient(opts)
	return c
}

// nodeClient returns the client, with one tracked connection and a cache
// of its own, of the server at addr, and registers that cache.
func (c *cache) nodeClient(addr string, opts *redis.Options, bound time.Duration) *redis.Client {
	n := &nodeCache{local: redis.NewLocalCache(redis.CacheConfig{
		MaxMemoryBytes: c.maxBytes,
		DrainInterval:  cacheDrainInterval,
		MaxStaleness:   CacheMaxStaleness,
	})}
	// One connection, never more: go-redis dials past PoolSize when the
	// pool is busy (its drainer holds the connection, concurrent reads)
	// unless MaxActiveConns stops it, and a second tracked connection
	// would deliver invalidations out of the order of the first's replies.
	opts.Protocol = 3
	opts.PoolSize = 1
	opts.MaxActiveConns = 1
	opts.PipelinePoolSize = -1
	opts.MinIdleConns = 0
	opts.MaxIdleConns = 1
	opts.ClientSideCache = n.local
	opts.ClientSideCacheConfig = nil
	client := redis.NewClient(opts)
	client.AddHook(boundHook{timeout: bound})
	client.AddHook(dropHook{c: c, n: n})
	n.client = client
	n.slotAddr = opts.NodeAddress
	c.mu.Lock()
	c.nodes[addr] = n
	c.mu.Unlock()
	return client
}

// flush drops the whole cache, every server's part.
func (c *cache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
}

func (c *cache) flushLocked() {
	for _, n := range c.nodes {
		n.local.Flush()
	}
	c.drops.Add(1)
}

// dropHook drops the whole cache whenever a tracking connection is
// replaced: what Redis tracked for the old one, and the invalidations it
// would have sent on it, are gone (a killed connection, a restarted
// server). go-redis also evicts the entries of a connection it closes.
type dropHook struct {
	c *cache
	n *nodeCache
}

func (h dropHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if h.n.dials.Add(1) > 1 {
			h.c.flush()
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
// them, and go-redis applies them before it reads that reply. On a Redis
// Cluster a PING goes to every master's tracking connection, all at once.
// When a PING fails, the whole cache is dropped instead.
func (s *Store) syncCache(ctx context.Context) {
	if s.cache == nil {
		return
	}
	masters := s.cache.masters()
	errs := make([]error, len(masters))
	var wg sync.WaitGroup
	for i, client := range masters {
		wg.Go(func() { errs[i] = client.Ping(ctx).Err() })
	}
	wg.Wait()
	if errors.Join(errs...) != nil {
		s.cache.flush()
	}
}

// masters returns the client of each master whose tracking connection a
// commit's invalidations may reach: the standalone Redis's, or each
// master's of the cluster's slot map as last read (one that has no client
// yet has no cache either).
func (c *cache) masters() []*redis.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slots == nil {
		if n := c.nodes[""]; n != nil {
			return []*redis.Client{n.client}
		}
		return nil
	}
	masters := c.masterAddrsLocked()
	var clients []*redis.Client
	for _, n := range c.nodes {
		if slices.Contains(masters, n.slotAddr) {
			clients = append(clients, n.client)
		}
	}
	return clients
}

// masterAddrsLocked returns the address of each master in the cluster's
// slot map as last read; none on a standalone Redis.
func (c *cache) masterAddrsLocked() []string {
	var addrs []string
	for _, r := range c.slots {
		if len(r.Nodes) > 0 && !slices.Contains(addrs, r.Nodes[0].Addr) {
			addrs = append(addrs, r.Nodes[0].Addr)
		}
	}
	return addrs
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
