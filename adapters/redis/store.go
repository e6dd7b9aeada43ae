package redis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

var _ engine.Store = (*Store)(nil)

// DefaultPrefix starts every key the store writes, unless WithPrefix says
// otherwise.
const DefaultPrefix = "gh"

// Store is the engine.Store on Redis. It is safe for concurrent use, by any
// number of goroutines and gatehouse replicas sharing one Redis.
type Store struct {
	client redis.UniversalClient
	keys   keys
	commit *redis.Script

	durability durability // WithMinReplicasAck

	readTimeout  time.Duration
	writeTimeout time.Duration

	// cache, when set, answers decision reads (WithClientSideCache).
	cacheMaxBytes int64
	cache         *cache
}

// Defaults of WithReadTimeout and WithWriteTimeout.
const (
	DefaultReadTimeout  = time.Second
	DefaultWriteTimeout = time.Second
)

// Option configures a Store.
type Option func(*Store)

// WithPrefix makes every key start with prefix instead of DefaultPrefix, so
// that several gatehouse deployments can share one Redis database.
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.keys.prefix = prefix }
}

// WithReadTimeout bounds each read method (Snapshot, AccountState, the Get
// and List methods, DueExpiries, Ping ...): all its round trips, go-redis's
// retries included, end within d, or the call fails with an error wrapping
// engine.ErrUnavailable (R45). A caller's earlier deadline still wins; zero
// or less leaves only the caller's. The default is DefaultReadTimeout.
func WithReadTimeout(d time.Duration) Option {
	return func(s *Store) { s.readTimeout = d }
}

// WithWriteTimeout bounds each write method (Commit, SavePolicy,
// ActivatePolicy, AcquireLease, SetCursor) as WithReadTimeout bounds reads.
// The default is DefaultWriteTimeout.
func WithWriteTimeout(d time.Duration) Option {
	return func(s *Store) { s.writeTimeout = d }
}

// New returns a Store on client. The Store owns the client from then on:
// Close closes it. New adds a hook to client that bounds every command and
// pipeline sent without a deadline by the longer of the read and write
// timeouts, so that no call can wait on a stalled Redis without end.
func New(client redis.UniversalClient, opts ...Option) *Store {
	s := &Store{
		client: client, keys: keys{prefix: DefaultPrefix}, commit: redis.NewScript(commitLua),
		readTimeout: DefaultReadTimeout, writeTimeout: DefaultWriteTimeout,
	}
	for _, opt := range opts {
		opt(s)
	}
	client.AddHook(boundHook{timeout: max(s.readTimeout, s.writeTimeout)})
	return s
}

// reading returns ctx bounded by the read timeout, for one read method.
func (s *Store) reading(ctx context.Context) (context.Context, context.CancelFunc) {
	return within(ctx, s.readTimeout)
}

// writing returns ctx bounded by the write timeout, for one write method.
func (s *Store) writing(ctx context.Context) (context.Context, context.CancelFunc) {
	return within(ctx, s.writeTimeout)
}

// within returns ctx bounded by d from now; the earlier of ctx's deadline
// and now+d holds. d <= 0 leaves ctx as it is.
func within(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// boundHook is a go-redis hook that bounds every command and pipeline whose
// context has no deadline, go-redis's retries included: the safety net
// under the bounds each method sets.
type boundHook struct{ timeout time.Duration }

func (h boundHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h boundHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		ctx, cancel := h.bound(ctx)
		defer cancel()
		return next(ctx, cmd)
	}
}

func (h boundHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		ctx, cancel := h.bound(ctx)
		defer cancel()
		return next(ctx, cmds)
	}
}

func (h boundHook) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, set := ctx.Deadline(); set {
		return ctx, func() {}
	}
	return within(ctx, h.timeout)
}

// Open connects to the Redis named by rawURL and returns a Store on it.
// Accepted forms:
//
//	redis://[[user]:password@]host[:port][/db][?option=value...]   plain TCP
//	rediss://...                                                   TLS
//	unix://[[user]:password@]/path/to/redis.sock[?db=N]            Unix socket
//	redis+sentinel://[[user]:password@]host:port[/db]?master_name=NAME[&addr=host2:port2...]
//	rediss+sentinel://...                                          Sentinel, TLS
//	redis+cluster://[[user]:password@]host:port[?addr=host2:port2&addr=host3:port3...]   (database 0 only)
//	rediss+cluster://...                                           Redis Cluster, TLS
//
// The first three are parsed by redis.ParseURL; the Sentinel forms, whose
// host and addr parameters name Sentinels, by redis.ParseFailoverURL; the
// cluster forms, whose host and addr parameters are seed nodes (any nodes
// of the cluster: the client learns the others from them), by
// redis.ParseClusterURL. Query options are go-redis Options (ClusterOptions)
// fields in snake case (dial_timeout=3s ...). Every form shares one code
// path: the package documentation says how commits stay within one hash
// slot on Redis Cluster.
//
// Open turns on go-redis's ContextTimeoutEnabled, so that a context's
// deadline bounds every step of a call: waiting for a pooled connection
// (pool_timeout), dialing (dial_timeout), writing and reading the socket
// (read_timeout, write_timeout) and the backoff between go-redis's retries
// (max_retries, 3 by default, max_retry_backoff). Each Store method sets
// that deadline (WithReadTimeout, WithWriteTimeout; a caller's earlier one
// wins), so a stalled Redis (SIGSTOP, a frozen VM, a lost network) fails a
// call with engine.ErrUnavailable within its timeout however many retries
// remain (R45). Open also dials once per command attempt (DialerRetries 1):
// a Redis that refuses connections fails a call in milliseconds. Open does
// not contact Redis; use Ping to check that it answers. With
// WithClientSideCache, a standalone URL of database 0 also gets the cache's
// own client and connection, and a cluster URL the cache's own cluster
// client, with one connection to each master.
func Open(rawURL string, opts ...Option) (*Store, error) {
	client, err := newClient(rawURL)
	if err != nil {
		// A *url.Error quotes the whole URL, password included: keep only
		// its cause, and not even that when it quotes a piece (an escape).
		var ue *url.Error
		var escape url.EscapeError
		switch {
		case errors.As(err, &escape):
			err = errors.New("the URL holds an invalid %-escape")
		case errors.As(err, &ue):
			err = fmt.Errorf("the URL does not parse: %w", ue.Err)
		}
		return nil, fmt.Errorf("redis: open: %w", err)
	}
	s := New(client, opts...)
	if s.cacheMaxBytes > 0 {
		// A Sentinel URL is neither: no cache (go-redis caches for a
		// standalone client, and for each node's client of a cluster).
		bound := max(s.readTimeout, s.writeTimeout)
		if cluster, ok := client.(*redis.ClusterClient); ok {
			if copts, err := clusterOptions(rawURL); err == nil {
				s.cache = newClusterCache(copts, cluster, s.cacheMaxBytes, bound)
			}
		} else if copts, err := standaloneOptions(rawURL); err == nil {
			s.cache = newCache(copts, s.cacheMaxBytes, bound)
		}
	}
	return s, nil
}

// standaloneOptions returns the client options of a standalone URL (redis,
// rediss, unix), as Open sets them.
func standaloneOptions(rawURL string) (*redis.Options, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	opts.ContextTimeoutEnabled = true
	opts.DialerRetries = 1
	return opts, nil
}

// clusterOptions returns the client options of a Redis Cluster URL
// (redis+cluster, rediss+cluster), as Open sets them.
func clusterOptions(rawURL string) (*redis.ClusterOptions, error) {
	scheme, rest, _ := strings.Cut(rawURL, "://")
	plain := strings.TrimSuffix(scheme, "+cluster") + "://" + rest
	u, err := url.Parse(plain)
	if err != nil {
		return nil, err
	}
	if u.Path != "" && u.Path != "/" && u.Path != "/0" {
		return nil, errors.New("a Redis Cluster has database 0 only: drop the /database from the redis+cluster URL")
	}
	opts, err := redis.ParseClusterURL(plain)
	if err != nil {
		return nil, err
	}
	opts.ContextTimeoutEnabled = true
	if opts.DialerRetries == 0 {
		opts.DialerRetries = 1
	}
	return opts, nil
}

func newClient(rawURL string) (redis.UniversalClient, error) {
	scheme, rest, _ := strings.Cut(rawURL, "://")
	switch scheme {
	case "redis", "rediss", "unix":
		opts, err := standaloneOptions(rawURL)
		if err != nil {
			return nil, err
		}
		return redis.NewClient(opts), nil
	case "redis+sentinel", "rediss+sentinel":
		opts, err := redis.ParseFailoverURL(strings.TrimSuffix(scheme, "+sentinel") + "://" + rest)
		if err != nil {
			return nil, err
		}
		if opts.MasterName == "" {
			return nil, errors.New("a redis+sentinel URL needs the master_name parameter")
		}
		opts.ContextTimeoutEnabled = true
		if opts.DialerRetries == 0 {
			opts.DialerRetries = 1
		}
		return redis.NewFailoverClient(opts), nil
	case "redis+cluster", "rediss+cluster":
		opts, err := clusterOptions(rawURL)
		if err != nil {
			return nil, err
		}
		return redis.NewClusterClient(opts), nil
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q (want redis, rediss, unix, redis+sentinel, rediss+sentinel, "+
			"redis+cluster or rediss+cluster)", scheme)
	}
}

// Ping reports whether Redis answers, within the read timeout. Any failure
// wraps engine.ErrUnavailable: a Redis that does not answer PING (or
// answers LOADING, MASTERDOWN, BUSY ...) cannot serve.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w: %w", engine.ErrUnavailable, err)
	}
	return nil
}

// Close closes the client, and the cache's.
func (s *Store) Close() error {
	err := s.client.Close()
	if s.cache != nil {
		err = errors.Join(err, s.cache.close())
	}
	return err
}
