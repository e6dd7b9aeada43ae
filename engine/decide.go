package engine

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// DecisionRequest asks whether Subject may take Action on Resource.
type DecisionRequest struct {
	Subject  string
	Action   string
	Resource Resource
	Context  map[string]any
	// Caller is the authenticated application asking (the subject of its
	// bearer token, or its client certificate's URI SAN or common name),
	// given to the policy as input.caller; empty when decision callers are
	// not authenticated (serve --decision-auth none). The HTTP API sets it
	// from the credentials, never from the body.
	Caller string
	// AtLeast, when set, is a write's consistency token: the decision is
	// made on state at least as fresh as the write left (Store.SnapshotAtLeast).
	AtLeast *Token
}

// Resource is an account, or one of its virtual accounts.
type Resource struct {
	Account        string
	VirtualAccount string
}

// Validate checks the shape of a request (R44). Unknown subjects, accounts
// and actions are not errors: the policy denies them (R7).
func (r DecisionRequest) Validate() error {
	switch {
	case r.Subject == "":
		return Invalid("subject", "is required")
	case !ValidID(r.Subject):
		return Invalid("subject", "must be 1-128 letters, digits, '.', '_', '-' or '@'")
	case r.Action == "":
		return Invalid("action", "is required")
	case len(r.Action) > 128:
		return Invalid("action", "must be at most 128 characters")
	case r.Resource.Account == "":
		return Invalid("resource.account", "is required")
	case !ValidID(r.Resource.Account):
		return Invalid("resource.account", "must be 1-128 letters, digits, '.', '_', '-' or '@'")
	case r.Resource.VirtualAccount != "" && !ValidID(r.Resource.VirtualAccount):
		return Invalid("resource.virtual_account", "must be 1-128 letters, digits, '.', '_', '-' or '@'")
	}
	return nil
}

// Decision is the answer to a DecisionRequest (R7).
type Decision struct {
	Allow   bool
	Reasons []string
	// Grant names what allowed an allow.
	Grant          *DecisionGrant
	DecisionID     string
	PolicyRevision string
	// Error is set when the decision failed closed: "store_unavailable",
	// "timeout" or "policy_error".
	Error string
	// At is when the decision was made; Duration how long it took.
	At       time.Time
	Duration time.Duration
}

// DecisionGrant is the membership, partner role or tenant grant behind an allow.
type DecisionGrant struct {
	Kind       string `json:"kind"`
	Account    string `json:"account,omitempty"`
	Request    string `json:"request,omitempty"`
	ApprovedBy string `json:"approved_by,omitempty"`
}

// Decide answers one decision. It never fails open: a store error, a
// timeout or an undefined or oddly shaped policy result is a deny whose
// reasons say why (R7, R45).
func (e *Engine) Decide(ctx context.Context, req DecisionRequest) Decision {
	p := e.policy.Load()
	ctx, sp := e.startDecision(ctx, &req)
	d, _ := e.decideWith(ctx, p, req, nil)
	sp.finishDecision(&d)
	if d.Error == "policy_error" {
		e.log.Error("decision policy failed", "revision", p.Revision, "reasons", d.Reasons)
	}
	for _, o := range e.observers {
		o.ObserveDecision(req, d)
	}
	return d
}

// DecideBatch answers several decisions, in order.
func (e *Engine) DecideBatch(ctx context.Context, reqs []DecisionRequest) []Decision {
	out := make([]Decision, len(reqs))
	for i, r := range reqs {
		out[i] = e.Decide(ctx, r)
	}
	return out
}

func (d *Decision) failClosed(ctx context.Context, err error, what string) {
	d.Allow = false
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		d.Error = "timeout"
		d.Reasons = []string{"denied: the decision timed out (" + what + ")"}
	case errors.Is(err, ErrUnavailable):
		d.Error = "store_unavailable"
		// The store's own words (its name, keys, addresses) are for the
		// operator's logs, not for the caller.
		d.Reasons = []string{"denied: gatehouse " + what + ": it is unavailable"}
	default:
		d.Error = "policy_error"
		d.Reasons = []string{"denied: " + what + ": " + err.Error()}
	}
}

// readResult reads the policy's answer, kept as OPA's value (keepAST);
// anything but the documented shape is an error, and the decision stays a
// deny.
func (d *Decision) readResult(rs rego.ResultSet) error {
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return d.readTerm(nil)
	}
	term, ok := rs[0].Expressions[0].Value.(*ast.Term)
	if !ok {
		return errors.New("the policy result is not an object")
	}
	return d.readTerm(term)
}

// readTerm reads the value of data.gatehouse.decision.result (nil:
// undefined), whichever evaluator computed it.
func (d *Decision) readTerm(term *ast.Term) error {
	if term == nil {
		return errors.New("the policy gave no result (data.gatehouse.decision.result is undefined)")
	}
	obj, ok := term.Value.(ast.Object)
	if !ok {
		return errors.New("the policy result is not an object")
	}
	allow, ok := valueOf[ast.Boolean](obj, "allow")
	if !ok {
		return errors.New("the policy result has no boolean allow")
	}
	raw, ok := valueOf[*ast.Array](obj, "reasons")
	if !ok || raw.Len() == 0 {
		return errors.New("the policy result has no reasons")
	}
	reasons := make([]string, raw.Len())
	for i := range reasons {
		s, ok := raw.Elem(i).Value.(ast.String)
		if !ok {
			return fmt.Errorf("the policy result has a reason that is not a string: %v", raw.Elem(i))
		}
		reasons[i] = string(s)
	}
	if g, ok := valueOf[ast.Object](obj, "grant"); ok && bool(allow) {
		d.Grant = &DecisionGrant{
			Kind:       stringField(g, "kind"),
			Account:    stringField(g, "account"),
			Request:    stringField(g, "request"),
			ApprovedBy: stringField(g, "approved_by"),
		}
	}
	d.Allow, d.Reasons = bool(allow), reasons
	return nil
}

// valueOf returns the value of key in obj if it is a V.
func valueOf[V ast.Value](obj ast.Object, key string) (V, bool) {
	var zero V
	t := obj.Get(ast.InternedTerm(key))
	if t == nil {
		return zero, false
	}
	v, ok := t.Value.(V)
	return v, ok
}

func stringField(obj ast.Object, key string) string {
	s, _ := valueOf[ast.String](obj, key)
	return string(s)
}

// keepAST keeps the policy's result as OPA's value: readResult reads it
// directly, with no conversion to Go maps and slices.
func keepAST(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

// decideWith answers req with policy p without telling the observers: the
// common path of Decide, Explain and Replay. A non-nil tracer sees the
// evaluation. It also returns the input the policy saw (nil when it was not
// evaluated).
func (e *Engine) decideWith(ctx context.Context, p *Policy, req DecisionRequest, tracer topdown.QueryTracer) (Decision, ast.Value) {
	start := time.Now()
	now := e.now()
	d := Decision{DecisionID: newID(), PolicyRevision: p.Revision, At: now}
	input := e.evaluate(ctx, p, req, now, tracer, &d)
	d.Duration = time.Since(start)
	return d, input
}

// evaluate fills d, failing closed as Decide does, and returns the input
// the policy was evaluated with (nil when it was not).
func (e *Engine) evaluate(ctx context.Context, p *Policy, req DecisionRequest, now time.Time, tracer topdown.QueryTracer, d *Decision) ast.Value {
	if err := req.Validate(); err != nil {
		d.Reasons = []string{"denied: " + err.Error()}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	sctx, sp := e.startSpan(ctx, SpanSnapshot)
	var snap Snapshot
	var err error
	if req.AtLeast != nil {
		snap, err = e.store.SnapshotAtLeast(sctx, req.Subject, req.Resource.Account, *req.AtLeast)
	} else {
		snap, err = e.store.Snapshot(sctx, req.Subject, req.Resource.Account)
	}
	sp.finish(err)
	if err != nil {
		d.failClosed(ctx, err, "could not read the store")
		return nil
	}
	cache := e.cache
	if tracer != nil || !p.cacheable {
		cache = nil
	}
	var key [sha256.Size]byte
	if cache != nil {
		var ok bool
		if key, ok = cache.key(p.Revision, req, snap); !ok {
			cache = nil
		} else if a, hit := cache.get(key, now); hit {
			d.Allow, d.Reasons = a.allow, slices.Clone(a.reasons)
			if a.grant != nil {
				g := *a.grant
				d.Grant = &g
			}
			return nil
		}
	}
	input := decisionInput(req, snap, now)
	if tracer == nil && e.evaluator == EvaluatorPlan {
		if p.plan.program != nil {
			e.evaluatePlan(ctx, p, input, d)
			if cache != nil && d.Error == "" {
				cache.put(key, now, snap, *d)
			}
			return input
		}
		p.planFallback.Do(func() {
			e.log.Warn("decisions of this policy revision are evaluated with topdown: its plan cannot be run",
				"revision", p.Revision, "reason", p.plan.err.Error())
		})
	}
	// Lean evaluation: the revision's read transaction, no metrics, the
	// result kept as OPA's value, cancellation on ctx by a callback rather
	// than by the goroutine OPA would start for each evaluation, and the
	// derived rules read from their values computed for the revision.
	evalCancel := topdown.NewCancel()
	stop := context.AfterFunc(ctx, evalCancel.Cancel)
	defer stop()
	opts := []rego.EvalOption{
		rego.EvalParsedInput(input),
		rego.EvalTransaction(p.txn),
		rego.EvalMetrics(metrics.NoOp()),
		rego.EvalGenerateJSON(keepAST),
		rego.EvalExternalCancel(evalCancel),
	}
	if p.derived != nil {
		opts = append(opts, rego.EvalVirtualCache(newDerivedCache(p.derived)))
	}
	if tracer != nil {
		opts = append(opts, rego.EvalQueryTracer(tracer))
	}
	ectx, sp := e.startSpan(ctx, SpanEval)
	rs, err := p.decision.Eval(ectx, opts...)
	sp.finish(err)
	if err != nil {
		d.failClosed(ctx, err, "the policy failed")
		return input
	}
	if err := d.readResult(rs); err != nil {
		d.Error = "policy_error"
		d.Reasons = []string{"denied: " + err.Error()}
		return input
	}
	if cache != nil {
		cache.put(key, now, snap, *d)
	}
	return input
}

// evaluatePlan fills d from the revision's compiled plan (EvaluatorPlan),
// failing closed as evaluate does.
func (e *Engine) evaluatePlan(ctx context.Context, p *Policy, input ast.Value, d *Decision) {
	ectx, sp := e.startSpan(ctx, SpanEval)
	term, err := p.plan.eval(ectx, input)
	sp.finish(err)
	if err != nil {
		d.failClosed(ctx, err, "the policy failed")
		return
	}
	if err := d.readTerm(term); err != nil {
		d.Error = "policy_error"
		d.Reasons = []string{"denied: " + err.Error()}
	}
}
