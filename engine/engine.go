package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"
)

// Engine answers decisions and runs commands against a Store, with the
// active policy revision. It is safe for concurrent use.
type Engine struct {
	store     Store
	policy    atomic.Pointer[Policy]
	now       func() time.Time
	admins    map[string]bool
	timeout   time.Duration
	commands  time.Duration // bound of one command; 0: none
	ready     time.Duration // bound of Ready
	observers []DecisionObserver
	tracer    Tracer // nil: nothing is traced
	cache     *decisionCache
	evaluator Evaluator
	log       *slog.Logger
	reload    reloadState
	// following is set while FollowPolicies runs: pushed revisions are
	// then activated on this replica too.
	following atomic.Bool
	// idempotencyRetention is how long idempotent answers are kept.
	idempotencyRetention time.Duration
}

// DecisionObserver is told of every decision once it is made (metrics,
// decision logs). It is called on the decision path and must not block.
type DecisionObserver interface {
	ObserveDecision(req DecisionRequest, d Decision)
}

// Option configures an Engine.
type Option func(*Engine)

// WithClock sets the clock used for expiry and timestamps (tests use a fake).
func WithClock(now func() time.Time) Option { return func(e *Engine) { e.now = now } }

// WithSystemAdmins names the subjects allowed every directory and member
// operation (R32).
func WithSystemAdmins(subjects ...string) Option {
	return func(e *Engine) {
		for _, s := range subjects {
			e.admins[s] = true
		}
	}
}

// DefaultDecisionTimeout bounds one decision unless WithDecisionTimeout
// says otherwise.
const DefaultDecisionTimeout = 250 * time.Millisecond

// WithDecisionTimeout bounds one decision, store read included; a decision
// that runs out of time is a deny with error "timeout" (R45). The default
// is DefaultDecisionTimeout.
func WithDecisionTimeout(d time.Duration) Option { return func(e *Engine) { e.timeout = d } }

// WithCommandTimeout bounds one command (RequestAccess, Approve, SetMember,
// PutUser, ExpireDue's expiry of one grant ...) as a whole: every store read
// it makes, its policy evaluations, its commit and its attempts again after
// a conflict (R40). A command that runs out of time fails with an error
// wrapping context.DeadlineExceeded, or ErrUnavailable when the store was
// what it waited on; what it did not commit is not written (R45). Zero or
// less, the default, sets no bound beyond the caller's and the store's.
func WithCommandTimeout(d time.Duration) Option { return func(e *Engine) { e.commands = d } }

// WithReadyTimeout bounds Ready's check of the store, so that a stalled
// store makes /ready answer "not ready" instead of hanging. The default is
// DefaultReadyTimeout.
func WithReadyTimeout(d time.Duration) Option { return func(e *Engine) { e.ready = d } }

// DefaultReadyTimeout is how long Ready waits for the store unless
// WithReadyTimeout says otherwise.
const DefaultReadyTimeout = time.Second

// WithDecisionCache keeps up to size policy answers so that a question asked
// again about unchanged state is answered without evaluating the policy
// again. It applies only to policies whose data sets
// gatehouse.config.decision_cache to true (POLICIES.md says when that is
// sound). Answers stay exact: see decisionCache. Zero or less: no cache.
func WithDecisionCache(size int) Option {
	return func(e *Engine) { e.cache = newDecisionCache(size) }
}

// WithObserver adds a DecisionObserver.
func WithObserver(o DecisionObserver) Option {
	return func(e *Engine) { e.observers = append(e.observers, o) }
}

// WithLogger sets the logger for errors that do not reach a caller.
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// New returns an Engine over store, deciding with policy.
func New(store Store, policy *Policy, opts ...Option) (*Engine, error) {
	if store == nil {
		return nil, errors.New("engine: store is required")
	}
	if policy == nil {
		return nil, errors.New("engine: policy is required")
	}
	e := &Engine{
		store:   store,
		now:     time.Now,
		admins:  map[string]bool{},
		timeout: DefaultDecisionTimeout,
		ready:   DefaultReadyTimeout,
		log:     slog.Default(),

		evaluator: DefaultEvaluator,

		idempotencyRetention: DefaultIdempotencyRetention,
	}
	for _, opt := range opts {
		opt(e)
	}
	e.policy.Store(policy)
	return e, nil
}

// Policy returns the active policy revision.
func (e *Engine) Policy() *Policy { return e.policy.Load() }

// SetPolicy makes p the active revision. Decisions already running finish
// on the revision they started with.
func (e *Engine) SetPolicy(p *Policy) { e.policy.Store(p) }

// Store returns the engine's store.
func (e *Engine) Store() Store { return e.store }

// IsSystemAdmin reports whether subject is a configured system administrator.
func (e *Engine) IsSystemAdmin(subject string) bool { return e.admins[subject] }

// Ready reports why the engine cannot serve, or nil when it can. A policy
// is always loaded (New requires one), so that is whether the store answers
// within the ready timeout (WithReadyTimeout).
func (e *Engine) Ready(ctx context.Context) error {
	ctx, cancel := within(ctx, e.ready)
	defer cancel()
	if err := e.store.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// commandContext returns ctx bounded by the command timeout, for one
// command (WithCommandTimeout).
func (e *Engine) commandContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return within(ctx, e.commands)
}

// within returns ctx bounded by d from now (the earlier of that and ctx's
// own deadline holds); d <= 0 leaves ctx as it is.
func within(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// newID returns a new sortable unique id (a ULID).
func newID() string { return ulid.Make().String() }
