package storemetrics

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/engine"
)

var _ engine.Store = (*Store)(nil)

// outcomes of a store call, as the "outcome" label.
var outcomes = []string{"ok", "not_found", "conflict", "unavailable", "error"}

// Store is an engine.Store that measures the Store it wraps.
type Store struct {
	next engine.Store
	ops  map[string]*op
}

// op holds the pre-resolved metrics of one operation, so the decision path
// pays no label lookup.
type op struct {
	seconds prometheus.Observer
	calls   map[string]prometheus.Counter
}

// Wrap returns next, measured: gatehouse_store_calls_total{op,outcome} and
// gatehouse_store_call_duration_seconds{op}, registered on reg.
func Wrap(next engine.Store, reg prometheus.Registerer) *Store {
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_store_calls_total",
		Help: "Store calls by operation and outcome.",
	}, []string{"op", "outcome"})
	seconds := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gatehouse_store_call_duration_seconds",
		Help:    "Store call latency by operation.",
		Buckets: prometheus.ExponentialBuckets(0.00005, 2.5, 12),
	}, []string{"op"})
	reg.MustRegister(calls, seconds)
	s := &Store{next: next, ops: map[string]*op{}}
	for _, name := range []string{
		"snapshot", "snapshot_at_least", "account_state", "commit", "get_user", "get_account", "get_member", "list_members",
		"get_request", "list_requests", "idempotency", "due_expiries", "list_audit", "list_events", "list_events_for", "ping",
		"save_policy", "get_policy", "list_policies", "activate_policy", "active_policy", "watch_policy",
		"acquire_lease", "get_cursor", "set_cursor",
	} {
		o := &op{seconds: seconds.WithLabelValues(name), calls: map[string]prometheus.Counter{}}
		for _, out := range outcomes {
			o.calls[out] = calls.WithLabelValues(name, out)
		}
		s.ops[name] = o
	}
	return s
}

// observe records one call of the named operation.
func (s *Store) observe(name string, start time.Time, err error) {
	o := s.ops[name]
	o.seconds.Observe(time.Since(start).Seconds())
	o.calls[outcome(err)].Inc()
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, engine.ErrNotFound):
		return "not_found"
	case errors.Is(err, engine.ErrConflict):
		return "conflict"
	case errors.Is(err, engine.ErrUnavailable):
		return "unavailable"
	default:
		return "error"
	}
}

// Snapshot implements engine.Store.
func (s *Store) Snapshot(ctx context.Context, subject, account string) (engine.Snapshot, error) {
	start := time.Now()
	v, err := s.next.Snapshot(ctx, subject, account)
	s.observe("snapshot", start, err)
	return v, err
}

// SnapshotAtLeast implements engine.Store.
func (s *Store) SnapshotAtLeast(ctx context.Context, subject, account string, atLeast engine.Token) (engine.Snapshot, error) {
	start := time.Now()
	v, err := s.next.SnapshotAtLeast(ctx, subject, account, atLeast)
	s.observe("snapshot_at_least", start, err)
	return v, err
}

// AccountState implements engine.Store.
func (s *Store) AccountState(ctx context.Context, account string, statuses ...string) (engine.AccountState, error) {
	start := time.Now()
	v, err := s.next.AccountState(ctx, account, statuses...)
	s.observe("account_state", start, err)
	return v, err
}

// Commit implements engine.Store.
func (s *Store) Commit(ctx context.Context, change engine.Change) error {
	start := time.Now()
	err := s.next.Commit(ctx, change)
	s.observe("commit", start, err)
	return err
}

// Idempotency implements engine.Store.
func (s *Store) Idempotency(ctx context.Context, home, actor, key string) (engine.IdempotencyRecord, error) {
	start := time.Now()
	v, err := s.next.Idempotency(ctx, home, actor, key)
	s.observe("idempotency", start, err)
	return v, err
}

// GetUser implements engine.Store.
func (s *Store) GetUser(ctx context.Context, id string) (engine.User, error) {
	start := time.Now()
	v, err := s.next.GetUser(ctx, id)
	s.observe("get_user", start, err)
	return v, err
}

// GetAccount implements engine.Store.
func (s *Store) GetAccount(ctx context.Context, id string) (engine.Account, error) {
	start := time.Now()
	v, err := s.next.GetAccount(ctx, id)
	s.observe("get_account", start, err)
	return v, err
}

// GetMember implements engine.Store.
func (s *Store) GetMember(ctx context.Context, account, user string) (engine.Membership, error) {
	start := time.Now()
	v, err := s.next.GetMember(ctx, account, user)
	s.observe("get_member", start, err)
	return v, err
}

// ListMembers implements engine.Store.
func (s *Store) ListMembers(ctx context.Context, account string) ([]engine.Membership, error) {
	start := time.Now()
	v, err := s.next.ListMembers(ctx, account)
	s.observe("list_members", start, err)
	return v, err
}

// GetRequest implements engine.Store.
func (s *Store) GetRequest(ctx context.Context, id string) (engine.AccessRequest, error) {
	start := time.Now()
	v, err := s.next.GetRequest(ctx, id)
	s.observe("get_request", start, err)
	return v, err
}

// ListRequests implements engine.Store.
func (s *Store) ListRequests(ctx context.Context, filter engine.RequestFilter) ([]engine.AccessRequest, error) {
	start := time.Now()
	v, err := s.next.ListRequests(ctx, filter)
	s.observe("list_requests", start, err)
	return v, err
}

// DueExpiries implements engine.Store.
func (s *Store) DueExpiries(ctx context.Context, now time.Time, limit int) ([]engine.Expiry, error) {
	start := time.Now()
	v, err := s.next.DueExpiries(ctx, now, limit)
	s.observe("due_expiries", start, err)
	return v, err
}

// ListAudit implements engine.Store.
func (s *Store) ListAudit(ctx context.Context, account, after string, limit int, order engine.Order) ([]engine.AuditRecord, error) {
	start := time.Now()
	v, err := s.next.ListAudit(ctx, account, after, limit, order)
	s.observe("list_audit", start, err)
	return v, err
}

// ListEvents implements engine.Store.
func (s *Store) ListEvents(ctx context.Context, after string, limit int, order engine.Order) ([]engine.Event, error) {
	start := time.Now()
	v, err := s.next.ListEvents(ctx, after, limit, order)
	s.observe("list_events", start, err)
	return v, err
}

// ListEventsFor implements engine.Store.
func (s *Store) ListEventsFor(ctx context.Context, recipient, after string, limit int, order engine.Order) ([]engine.Event, error) {
	start := time.Now()
	v, err := s.next.ListEventsFor(ctx, recipient, after, limit, order)
	s.observe("list_events_for", start, err)
	return v, err
}

// Ping implements engine.Store.
func (s *Store) Ping(ctx context.Context) error {
	start := time.Now()
	err := s.next.Ping(ctx)
	s.observe("ping", start, err)
	return err
}

// Close implements engine.Store.
func (s *Store) Close() error { return s.next.Close() }

// SavePolicy implements engine.PolicyStore.
func (s *Store) SavePolicy(ctx context.Context, rev engine.PolicyRevision) error {
	start := time.Now()
	err := s.next.SavePolicy(ctx, rev)
	s.observe("save_policy", start, err)
	return err
}

// GetPolicy implements engine.PolicyStore.
func (s *Store) GetPolicy(ctx context.Context, revision string) (engine.PolicyRevision, error) {
	start := time.Now()
	v, err := s.next.GetPolicy(ctx, revision)
	s.observe("get_policy", start, err)
	return v, err
}

// ListPolicies implements engine.PolicyStore.
func (s *Store) ListPolicies(ctx context.Context, limit int) ([]engine.PolicyRevision, error) {
	start := time.Now()
	v, err := s.next.ListPolicies(ctx, limit)
	s.observe("list_policies", start, err)
	return v, err
}

// ActivatePolicy implements engine.PolicyStore.
func (s *Store) ActivatePolicy(ctx context.Context, a engine.PolicyActivation) error {
	start := time.Now()
	err := s.next.ActivatePolicy(ctx, a)
	s.observe("activate_policy", start, err)
	return err
}

// ActivePolicy implements engine.PolicyStore.
func (s *Store) ActivePolicy(ctx context.Context) (engine.PolicyActivation, error) {
	start := time.Now()
	v, err := s.next.ActivePolicy(ctx)
	s.observe("active_policy", start, err)
	return v, err
}

// WatchPolicy implements engine.PolicyStore.
func (s *Store) WatchPolicy(ctx context.Context) (<-chan engine.PolicyActivation, error) {
	start := time.Now()
	v, err := s.next.WatchPolicy(ctx)
	s.observe("watch_policy", start, err)
	return v, err
}

// AcquireLease implements engine.WorkerStore.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	start := time.Now()
	v, err := s.next.AcquireLease(ctx, name, holder, ttl)
	s.observe("acquire_lease", start, err)
	return v, err
}

// GetCursor implements engine.WorkerStore.
func (s *Store) GetCursor(ctx context.Context, name string) (string, error) {
	start := time.Now()
	v, err := s.next.GetCursor(ctx, name)
	s.observe("get_cursor", start, err)
	return v, err
}

// SetCursor implements engine.WorkerStore.
func (s *Store) SetCursor(ctx context.Context, name, cursor string) error {
	start := time.Now()
	err := s.next.SetCursor(ctx, name, cursor)
	s.observe("set_cursor", start, err)
	return err
}
