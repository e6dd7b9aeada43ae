package webhook

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/engine"
)

// Defaults of the options.
const (
	DefaultPollInterval   = 500 * time.Millisecond
	DefaultBatchSize      = 100
	DefaultLeaseTTL       = 15 * time.Second
	DefaultRequestTimeout = 5 * time.Second
	DefaultMinBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff     = time.Minute
)

// Store is what a Deliverer needs of the store: the event log, and the
// leases and cursors shared by replicas. Every engine.Store has them.
type Store interface {
	ListEvents(ctx context.Context, after string, limit int, order engine.Order) ([]engine.Event, error)
	engine.WorkerStore
}

// Deliverer posts the store's events to webhook URLs; see the package
// documentation. Its methods are safe for concurrent use.
type Deliverer struct {
	store  Store
	urls   []string
	secret []byte
	// holder identifies this Deliverer in the leases.
	holder string
	cfg    config
	// running is set while Run runs: two Runs would share the leases.
	running atomic.Bool
}

type config struct {
	client         *http.Client
	poll           time.Duration
	batch          int
	leaseTTL       time.Duration
	requestTimeout time.Duration
	minBackoff     time.Duration
	maxBackoff     time.Duration
	observe        func(name string, ok bool)
	log            *slog.Logger
}

// Option tunes a Deliverer. Options given a zero or negative value keep
// the default.
type Option func(*config)

// WithPollInterval sets how often a caught-up Deliverer looks for new
// events (DefaultPollInterval). Keep it well under the lease ttl.
func WithPollInterval(d time.Duration) Option {
	return func(c *config) { c.poll = positive(d, c.poll) }
}

// WithBatchSize sets how many events one read of the log returns
// (DefaultBatchSize).
func WithBatchSize(n int) Option {
	return func(c *config) { c.batch = positive(n, c.batch) }
}

// WithLeaseTTL sets how long a lease lasts without renewal
// (DefaultLeaseTTL): how soon another replica takes over from one that died.
func WithLeaseTTL(d time.Duration) Option {
	return func(c *config) { c.leaseTTL = positive(d, c.leaseTTL) }
}

// WithRequestTimeout bounds one delivery attempt (DefaultRequestTimeout),
// and never more than a third of the lease ttl.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) { c.requestTimeout = positive(d, c.requestTimeout) }
}

// WithBackoff sets the first and the longest wait between attempts to
// deliver one event (DefaultMinBackoff, DefaultMaxBackoff). Each wait is
// about twice the previous, randomized by half either way.
func WithBackoff(minWait, maxWait time.Duration) Option {
	return func(c *config) {
		c.minBackoff = positive(minWait, c.minBackoff)
		c.maxBackoff = max(positive(maxWait, c.maxBackoff), c.minBackoff)
	}
}

// WithHTTPClient sets the client that posts events (a plain http.Client by
// default; each attempt has its own timeout anyway).
func WithHTTPClient(client *http.Client) Option {
	return func(c *config) {
		if client != nil {
			c.client = client
		}
	}
}

// WithObserver calls observe after every delivery attempt with the
// webhook's name, Name(url), and whether the receiver accepted it, e.g. to
// count deliveries by outcome. The name, never the URL, is given: a URL
// may hold credentials, which must not become a metric label or a log
// line. It is called from one goroutine per URL, so it must be safe for
// concurrent use, and it should return quickly.
func WithObserver(observe func(name string, ok bool)) Option {
	return func(c *config) {
		if observe != nil {
			c.observe = observe
		}
	}
}

// WithLogger sets where failed attempts and store errors are logged
// (nowhere by default). Lines name a webhook by its lease name and its
// URL's scheme and host: never its user info, path or query values.
func WithLogger(log *slog.Logger) Option {
	return func(c *config) {
		if log != nil {
			c.log = log
		}
	}
}

// New returns a Deliverer of the store's events to urls, signed with
// secret. It does nothing until Run.
func New(store Store, urls []string, secret []byte, opts ...Option) *Deliverer {
	cfg := config{
		client:         &http.Client{},
		poll:           DefaultPollInterval,
		batch:          DefaultBatchSize,
		leaseTTL:       DefaultLeaseTTL,
		requestTimeout: DefaultRequestTimeout,
		minBackoff:     DefaultMinBackoff,
		maxBackoff:     DefaultMaxBackoff,
		observe:        func(string, bool) {},
		log:            slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	cfg.requestTimeout = min(cfg.requestTimeout, cfg.leaseTTL/3)
	return &Deliverer{
		store:  store,
		urls:   append([]string(nil), urls...),
		secret: append([]byte(nil), secret...),
		holder: rand.Text(),
		cfg:    cfg,
	}
}

// Run delivers events to every URL until ctx ends, then hands its leases
// back, so that another replica takes over at once. Without URLs it
// returns at once. A Deliverer runs once at a time: a Run called while
// another runs returns at once.
func (d *Deliverer) Run(ctx context.Context) {
	if !d.running.CompareAndSwap(false, true) {
		d.cfg.log.WarnContext(ctx, "webhook deliverer already running")
		return
	}
	defer d.running.Store(false)
	var wg sync.WaitGroup
	for _, url := range d.urls {
		wg.Go(func() { d.newWorker(url).run(ctx) })
	}
	wg.Wait()
}

// Name is the name of the lease and of the cursor in the store for url:
// "webhook:" and the first 16 hex digits of the URL's SHA-256.
func Name(url string) string {
	sum := sha256.Sum256([]byte(url))
	return "webhook:" + hex.EncodeToString(sum[:8])
}

// positive returns v when it is above zero, otherwise fallback.
func positive[T int | time.Duration](v, fallback T) T {
	if v > 0 {
		return v
	}
	return fallback
}
