package redis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

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
}

// Option configures a Store.
type Option func(*Store)

// WithPrefix makes every key start with prefix instead of DefaultPrefix, so
// that several gatehouse deployments can share one Redis database.
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.keys.prefix = prefix }
}

// New returns a Store on client. The Store owns the client from then on:
// Close closes it.
func New(client redis.UniversalClient, opts ...Option) *Store {
	s := &Store{client: client, keys: keys{prefix: DefaultPrefix}, commit: redis.NewScript(commitLua)}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Open connects to the Redis named by rawURL and returns a Store on it.
// Accepted forms:
//
//	redis://[[user]:password@]host[:port][/db][?option=value...]   plain TCP
//	rediss://...                                                   TLS
//	unix://[[user]:password@]/path/to/redis.sock[?db=N]            Unix socket
//	redis+sentinel://[[user]:password@]host:port[/db]?master_name=NAME[&addr=host2:port2...]
//	rediss+sentinel://...                                          Sentinel, TLS
//
// The first three are parsed by redis.ParseURL; the Sentinel forms, whose
// host and addr parameters name Sentinels, by redis.ParseFailoverURL. Query
// options are go-redis Options fields in snake case (dial_timeout=3s ...).
// Redis Cluster is not accepted: see the package documentation.
//
// Open turns on go-redis's ContextTimeoutEnabled, so that the caller's
// deadline bounds every call, and dials once per command attempt
// (DialerRetries 1; go-redis still retries a failed command max_retries
// times, 3 by default): during an outage a call fails in tens of
// milliseconds with engine.ErrUnavailable instead of retrying for seconds
// (R45). Open does not contact Redis; use Ping to check that it answers.
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
	return New(client, opts...), nil
}

func newClient(rawURL string) (redis.UniversalClient, error) {
	scheme, rest, _ := strings.Cut(rawURL, "://")
	switch scheme {
	case "redis", "rediss", "unix":
		opts, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, err
		}
		opts.ContextTimeoutEnabled = true
		opts.DialerRetries = 1
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
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q (want redis, rediss, unix, redis+sentinel or rediss+sentinel)", scheme)
	}
}

// Ping reports whether Redis answers. Any failure wraps
// engine.ErrUnavailable: a Redis that does not answer PING cannot serve.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w: %w", engine.ErrUnavailable, err)
	}
	return nil
}

// Close closes the client.
func (s *Store) Close() error {
	return s.client.Close()
}
