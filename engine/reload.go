package engine

import (
	"context"
	"sync"
	"time"
)

// Outcomes of a policy reload, as reload observers see them.
const (
	// ReloadSuccess: a new revision passed its checks and is now active.
	ReloadSuccess = "success"
	// ReloadFailure: the files did not compile or their tests failed; the
	// active revision stays.
	ReloadFailure = "failure"
	// ReloadUnchanged: the files are those of the active revision.
	ReloadUnchanged = "unchanged"
)

// PolicyStatus says which revision is active, where it came from, and how
// reloads went.
type PolicyStatus struct {
	// Revision, Source and LoadedAt describe the active revision.
	Revision string
	Source   string
	LoadedAt time.Time
	// Evaluator is how the active revision's decisions are evaluated:
	// EvaluatorPlan, or EvaluatorTopdown when so configured or when its
	// plan cannot be run; EvaluatorFallback then says why.
	Evaluator         Evaluator
	EvaluatorFallback string
	// LastError is why the latest reload attempt failed, naming files and
	// lines; empty once a later reload succeeds or finds the files unchanged.
	LastError string
	// LastErrorAt is when that attempt failed, zero when LastError is empty.
	LastErrorAt time.Time
	// LastErrorSource is where the failing files came from.
	LastErrorSource string
	// Reloads counts reloads that made a new revision active; Failures
	// counts reloads refused.
	Reloads  uint64
	Failures uint64
}

// reloadState is the engine's record of reloads.
type reloadState struct {
	// running serializes reloads, so that two of them never race to
	// replace the active revision.
	running sync.Mutex

	mu              sync.Mutex
	lastError       string
	lastErrorAt     time.Time
	lastErrorSource string
	reloads         uint64
	failures        uint64

	observers []func(outcome string)
}

// WithReloadObserver adds a function told the outcome of every reload
// (ReloadSuccess, ReloadFailure or ReloadUnchanged), e.g. to count reloads
// in a metric. It is called after the reload, outside any lock.
func WithReloadObserver(observe func(outcome string)) Option {
	return func(e *Engine) { e.reload.observers = append(e.reload.observers, observe) }
}

// Reload makes files the active policy, only if they are fit to serve:
// they compile in strict mode and every Rego test among them passes (a set
// without tests is refused). On any error the active revision stays and
// the error, naming files and lines, is kept in PolicyStatus. Decisions
// already running finish on the revision they started with. Files equal
// to the active revision's are a no-op that returns the active revision.
// Reload does not log: its caller (a file watcher, an API) does.
func (e *Engine) Reload(ctx context.Context, files map[string][]byte, source string) (*Policy, error) {
	e.reload.running.Lock()
	defer e.reload.running.Unlock()

	if active := e.policy.Load(); active != nil && active.Revision == Revision(files) {
		e.recordReload(ReloadUnchanged, source, nil)
		return active, nil
	}
	p, err := e.checkPolicy(ctx, files, source)
	if err != nil {
		e.recordReload(ReloadFailure, source, err)
		return nil, err
	}
	e.policy.Store(p)
	e.recordReload(ReloadSuccess, source, nil)
	return p, nil
}

// ReportReloadFailure records a reload that failed before its files could
// be handed to Reload (they could not be read): the active revision stays,
// and the status and reload observers see a failure.
func (e *Engine) ReportReloadFailure(source string, err error) {
	e.recordReload(ReloadFailure, source, err)
}

// PolicyStatus returns the active revision and the record of reloads.
func (e *Engine) PolicyStatus() PolicyStatus {
	var s PolicyStatus
	if p := e.policy.Load(); p != nil {
		s.Revision, s.Source, s.LoadedAt = p.Revision, p.Source, p.LoadedAt
		s.Evaluator, s.EvaluatorFallback = p.Evaluator(e.evaluator)
	}
	e.reload.mu.Lock()
	defer e.reload.mu.Unlock()
	s.LastError, s.LastErrorAt, s.LastErrorSource = e.reload.lastError, e.reload.lastErrorAt, e.reload.lastErrorSource
	s.Reloads, s.Failures = e.reload.reloads, e.reload.failures
	return s
}

// checkPolicy compiles the files strictly and runs their tests.
func (e *Engine) checkPolicy(ctx context.Context, files map[string][]byte, source string) (*Policy, error) {
	p, err := CompilePolicy(ctx, files, source)
	if err != nil {
		return nil, err
	}
	report, err := RunPolicyTests(ctx, files)
	if err != nil {
		return nil, err
	}
	if err := report.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// recordReload keeps the outcome in the status and tells the observers.
func (e *Engine) recordReload(outcome, source string, err error) {
	e.reload.mu.Lock()
	switch outcome {
	case ReloadFailure:
		e.reload.failures++
		e.reload.lastError, e.reload.lastErrorAt, e.reload.lastErrorSource = err.Error(), e.now().UTC(), source
	case ReloadSuccess:
		e.reload.reloads++
		fallthrough
	default:
		e.reload.lastError, e.reload.lastErrorAt, e.reload.lastErrorSource = "", time.Time{}, ""
	}
	e.reload.mu.Unlock()
	for _, observe := range e.reload.observers {
		observe(outcome)
	}
}
