package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/gatehouse/gatehouse/engine"
)

// FileName is the name of the database file Open creates in its directory.
const FileName = "gatehouse.db"

// DefaultOpenTimeout is how long Open waits for another process to release
// the database file before giving up.
const DefaultOpenTimeout = time.Second

var _ engine.Store = (*Store)(nil)

// Store is the embedded, single-node, durable engine.Store: one bbolt file.
// It is safe for concurrent use; writes are serialized by bbolt.
type Store struct {
	db *bolt.DB
	// watchers receive policy activations (WatchPolicy).
	watchers *hub
}

// Option tunes Open.
type Option func(*options)

type options struct {
	openTimeout time.Duration
	noSync      bool
}

// WithOpenTimeout sets how long Open waits for the file lock held by another
// process (DefaultOpenTimeout when not given). Zero waits forever.
func WithOpenTimeout(d time.Duration) Option {
	return func(o *options) { o.openTimeout = d }
}

// WithNoSync skips the fsync after each commit. A crash may then lose recent
// commits: use it only for benchmarks and throwaway data.
func WithNoSync() Option {
	return func(o *options) { o.noSync = true }
}

// Open opens, creating it when needed, the store in dir/gatehouse.db. It
// fails when dir cannot be created or the file cannot be opened, or when
// another process holds the file longer than the open timeout.
func Open(dir string, opts ...Option) (*Store, error) {
	o := options{openTimeout: DefaultOpenTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if dir == "" {
		return nil, errors.New("no data directory given for the embedded store")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.openTimeout, NoSync: o.noSync})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("the store %s is in use by another process, such as a running gatehouse serve (waited %s)", path, o.openTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open the store %s: %w", path, err)
	}
	if err := db.Update(createBuckets); err != nil {
		return nil, errors.Join(fmt.Errorf("embedded: prepare %s: %w", path, err), db.Close())
	}
	return &Store{db: db, watchers: newHub()}, nil
}

// Ping reports whether the database is open and readable.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, func(tx *bolt.Tx) error { return nil })
}

// Close closes the database file. Closing twice is harmless.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("embedded: close: %w", err)
	}
	return nil
}

// view runs fn in a read-only transaction.
func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return unavailable(s.db.View(fn))
}

// update runs fn in a read-write transaction, committed when fn returns nil
// and rolled back otherwise.
func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return unavailable(s.db.Update(fn))
}

// unavailable marks errors meaning the database cannot be used at all.
func unavailable(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("%w: embedded store is closed", engine.ErrUnavailable)
	}
	return err
}
