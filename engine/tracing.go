package engine

import (
	"context"
	"errors"
)

// Tracer starts the spans of a distributed trace around the steps of a
// decision and of a command (issue 10, part 7). The engine declares it so
// that it imports no tracing library; cmd/gatehouse wires an OpenTelemetry
// one (adapters/tracing). Start begins a span named name, a child of the
// span in ctx if any, with attrs, and returns a context carrying it, for
// the step, and the function that ends it, called exactly once. A Tracer
// must be safe for concurrent use.
type Tracer interface {
	Start(ctx context.Context, name string, attrs ...TraceAttribute) (context.Context, EndSpan)
}

// EndSpan ends a span: err is the step's error (nil when it succeeded),
// attrs are what was learned during the step (a decision's outcome).
type EndSpan func(err error, attrs ...TraceAttribute)

// TraceAttribute is one attribute of a span. Key is one of the Attr
// constants; Value is a string or a bool.
type TraceAttribute struct {
	Key   string
	Value any
}

// The spans the engine starts, in the order they nest.
const (
	// SpanDecide covers one decision (Decide; each decision of a batch).
	SpanDecide = "gatehouse.decide"
	// SpanSnapshot covers a decision's store read; a child of SpanDecide.
	SpanSnapshot = "gatehouse.snapshot"
	// SpanEval covers a decision's policy evaluation, a child of
	// SpanDecide. An answer from the decision cache has none.
	SpanEval = "gatehouse.eval"
	// SpanAdmission covers one attempt of a command's decision: its store
	// reads and the admission policy (R40).
	SpanAdmission = "gatehouse.admission"
	// SpanCommit covers the atomic commit of that attempt's change (R40);
	// its error is ErrConflict when the command is decided again.
	SpanCommit = "gatehouse.commit"
)

// The attributes of SpanDecide: the question at its start, the answer at
// its end. A mask (--decision-log-mask) may drop the question's.
const (
	AttrSubject        = "gatehouse.subject"
	AttrAction         = "gatehouse.action"
	AttrAccount        = "gatehouse.resource.account"
	AttrVirtualAccount = "gatehouse.resource.virtual_account"
	AttrAllow          = "gatehouse.allow"
	AttrDecisionID     = "gatehouse.decision_id"
	AttrPolicyRevision = "gatehouse.policy_revision"
	AttrDecisionError  = "gatehouse.error"
)

// WithTracer traces decisions and commands with t. Without it nothing is
// traced and a decision costs no allocation more.
func WithTracer(t Tracer) Option { return func(e *Engine) { e.tracer = t } }

// span is one started span; its zero value, when the engine has no
// Tracer, ends nothing.
type span struct{ end EndSpan }

// startSpan starts a span without attributes.
func (e *Engine) startSpan(ctx context.Context, name string) (context.Context, span) {
	if e.tracer == nil {
		return ctx, span{}
	}
	ctx, end := e.tracer.Start(ctx, name)
	return ctx, span{end}
}

// finish ends the span with the step's error.
func (s span) finish(err error) {
	if s.end != nil {
		s.end(err)
	}
}

// startDecision starts the SpanDecide of req.
func (e *Engine) startDecision(ctx context.Context, req *DecisionRequest) (context.Context, span) {
	if e.tracer == nil {
		return ctx, span{}
	}
	attrs := []TraceAttribute{
		{AttrSubject, req.Subject}, {AttrAction, req.Action}, {AttrAccount, req.Resource.Account},
	}
	if req.Resource.VirtualAccount != "" {
		attrs = append(attrs, TraceAttribute{AttrVirtualAccount, req.Resource.VirtualAccount})
	}
	ctx, end := e.tracer.Start(ctx, SpanDecide, attrs...)
	return ctx, span{end}
}

// finishDecision ends a SpanDecide with d's answer; a decision that failed
// closed (d.Error) ends in error.
func (s span) finishDecision(d *Decision) {
	if s.end == nil {
		return
	}
	var err error
	attrs := []TraceAttribute{
		{AttrAllow, d.Allow}, {AttrDecisionID, d.DecisionID}, {AttrPolicyRevision, d.PolicyRevision},
	}
	if d.Error != "" {
		err = errors.New("the decision failed closed: " + d.Error)
		attrs = append(attrs, TraceAttribute{AttrDecisionError, d.Error})
	}
	s.end(err, attrs...)
}
