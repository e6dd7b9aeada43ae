package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// FollowPolicies keeps this replica on the revision the store says is
// active, until ctx ends: it loads the active revision at once, then
// activates every revision the store announces (WatchPolicy) and, as a
// fallback for lost notifications, asks the store for the active revision
// every poll. Asking costs one small read; files are fetched and compiled
// only when the revision differs from the one served. Revisions were tested
// when pushed: a follower compiles them strictly but does not run their
// tests again. A revision that fails to load is logged, kept in
// PolicyStatus, and not tried again until it is activated anew; the
// replica keeps serving what it served.
//
// While FollowPolicies runs, PushPolicy and RollbackPolicy also activate
// their revision on this replica before they return. It returns nil when
// ctx ends, and an error only for a poll interval that is not positive.
func (e *Engine) FollowPolicies(ctx context.Context, poll time.Duration, log *slog.Logger) error {
	if poll <= 0 {
		return fmt.Errorf("engine: the policy poll interval must be positive, not %s", poll)
	}
	if log == nil {
		log = e.log
	}
	e.following.Store(true)
	defer e.following.Store(false)

	f := &follower{e: e, log: log}
	watch := f.watch(ctx)
	f.poll(ctx)
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case a, ok := <-watch:
			if !ok {
				watch = nil // subscribe again at the next poll
				continue
			}
			f.apply(ctx, a)
		case <-ticker.C:
			if watch == nil {
				watch = f.watch(ctx)
			}
			f.poll(ctx)
		}
	}
}

// SyncPolicy loads the revision the store says is active, when it differs
// from the one served (compiled strictly, as FollowPolicies does). A store
// where no revision was ever activated is not an error. A server calls it
// once before it listens, so that its first decisions use the shared
// revision.
func (e *Engine) SyncPolicy(ctx context.Context) error {
	a, err := e.store.ActivePolicy(ctx)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return e.activateStored(ctx, a)
}

// follower is the state of one FollowPolicies loop.
type follower struct {
	e   *Engine
	log *slog.Logger
	// failed is the last activation that could not be loaded: it is not
	// tried again on every poll.
	failed PolicyActivation
	// storeDown is set while the store does not answer, so that an outage
	// is logged once, not once per poll.
	storeDown bool
}

// watch subscribes to activations, nil when the store cannot (the next
// poll tries again).
func (f *follower) watch(ctx context.Context) <-chan PolicyActivation {
	ch, err := f.e.store.WatchPolicy(ctx)
	if err != nil {
		f.storeError(ctx, "watch policy activations", err)
		return nil
	}
	return ch
}

// poll asks the store for the active revision and applies it.
func (f *follower) poll(ctx context.Context) {
	a, err := f.e.store.ActivePolicy(ctx)
	switch {
	case errors.Is(err, ErrNotFound):
		f.storeUp()
	case err != nil:
		f.storeError(ctx, "read the active policy revision", err)
	default:
		f.storeUp()
		f.apply(ctx, a)
	}
}

// apply activates a unless it is served already or failed to load before.
func (f *follower) apply(ctx context.Context, a PolicyActivation) {
	if p := f.e.policy.Load(); p != nil && p.Revision == a.Revision {
		return
	}
	if sameActivation(a, f.failed) {
		return
	}
	err := f.e.activateStored(ctx, a)
	switch {
	case err == nil:
		f.log.Info("policy revision activated from the store", "revision", a.Revision, "activated_by", a.ActivatedBy)
	case ctx.Err() != nil:
	case errors.Is(err, ErrUnavailable):
		f.storeError(ctx, "fetch policy revision "+a.Revision, err)
	default:
		f.failed = a
		f.log.Error("policy revision from the store refused: still serving the previous one",
			"revision", a.Revision, "activated_by", a.ActivatedBy, "error", err)
	}
}

func (f *follower) storeError(ctx context.Context, what string, err error) {
	if ctx.Err() != nil || f.storeDown {
		return
	}
	f.storeDown = true
	f.log.Warn("policy sync: could not "+what+"; still serving the current revision, retrying", "error", err)
}

func (f *follower) storeUp() {
	if f.storeDown {
		f.storeDown = false
		f.log.Info("policy sync: the store answers again")
	}
}

// sameActivation reports whether a and b record one activation.
func sameActivation(a, b PolicyActivation) bool {
	return a.Revision == b.Revision && a.ActivatedBy == b.ActivatedBy && a.ActivatedAt.Equal(b.ActivatedAt)
}

// activateStored fetches the files of an activated revision, compiles them
// strictly and makes them the active revision, unless it is already. The
// reload lock is held throughout, so that a push activating the same
// revision on this replica compiles it once.
func (e *Engine) activateStored(ctx context.Context, a PolicyActivation) error {
	e.reload.running.Lock()
	defer e.reload.running.Unlock()
	if p := e.policy.Load(); p != nil && p.Revision == a.Revision {
		return nil
	}
	source := storeSource(a.Revision, a.ActivatedBy)
	rev, err := e.store.GetPolicy(ctx, a.Revision)
	if err != nil {
		return fmt.Errorf("fetch policy revision %s: %w", a.Revision, err)
	}
	p, err := CompilePolicy(ctx, rev.Files, source)
	if err == nil && p.Revision != a.Revision {
		err = fmt.Errorf("the stored files of policy revision %s are revision %s", a.Revision, p.Revision)
	}
	if err != nil {
		if ctx.Err() == nil {
			e.recordReload(ReloadFailure, source, err)
		}
		return err
	}
	e.policy.Store(p)
	e.recordReload(ReloadSuccess, source, nil)
	return nil
}
