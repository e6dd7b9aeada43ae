package engine

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// maxExplainValue is the longest value an explanation prints in full.
const maxExplainValue = 120

// Explanation says how the policy reached a decision: which rules fired,
// and what input and data each of them read.
type Explanation struct {
	// Rules are the rules that produced a value, by file and line.
	Rules []FiredRule
}

// FiredRule is one rule (or one definition of it) that produced a value.
type FiredRule struct {
	// Rule is the rule's full path, e.g. data.gatehouse.roles.allow.
	Rule string
	File string
	Line int
	// Reads are the input and data values its body read, in first-read
	// order. Values of other rules are not reads: they fire on their own.
	Reads []Read
}

// Read is one input or data value a rule read.
type Read struct {
	// Path is e.g. input.membership.roles or data.gatehouse.config.actions.view.
	Path string
	// Value is its compact JSON, shortened when long; empty when undefined.
	Value string
}

// Explain answers req as Decide does, and explains the answer. It does not
// tell the decision observers: an explanation is a diagnostic, not a
// decision anyone acts on. The error is for a malformed request.
func (e *Engine) Explain(ctx context.Context, req DecisionRequest) (Decision, Explanation, error) {
	if err := req.Validate(); err != nil {
		return Decision{}, Explanation{}, err
	}
	p := e.policy.Load()
	t := newExplainTracer(p)
	d, input := e.decideWith(ctx, p, req, t)
	return d, t.explanation(ctx, input), nil
}

// WriteTo prints the explanation, one rule per line and its reads below it.
func (x Explanation) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	if len(x.Rules) == 0 {
		b.WriteString("no rule fired\n")
	}
	for _, r := range x.Rules {
		fmt.Fprintf(&b, "%s:%d  %s\n", r.File, r.Line, r.Rule)
		for _, rd := range r.Reads {
			if rd.Value == "" {
				fmt.Fprintf(&b, "    read %s (undefined)\n", rd.Path)
			} else {
				fmt.Fprintf(&b, "    read %s = %s\n", rd.Path, rd.Value)
			}
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// String returns what WriteTo prints.
func (x Explanation) String() string {
	var b strings.Builder
	_, _ = x.WriteTo(&b)
	return b.String()
}

// explainTracer follows one evaluation: which query belongs to which rule,
// which rules exited with a value, and which input and data refs each
// rule's expressions read. Evaluation is sequential, so it needs no lock.
type explainTracer struct {
	policy  *Policy
	parents map[uint64]uint64
	ruleOf  map[uint64]*ast.Rule
	fired   map[*ast.Rule]bool
	reads   map[*ast.Rule][]ast.Ref
	seen    map[*ast.Rule]map[string]bool
}

func newExplainTracer(p *Policy) *explainTracer {
	return &explainTracer{
		policy:  p,
		parents: map[uint64]uint64{},
		ruleOf:  map[uint64]*ast.Rule{},
		fired:   map[*ast.Rule]bool{},
		reads:   map[*ast.Rule][]ast.Ref{},
		seen:    map[*ast.Rule]map[string]bool{},
	}
}

// Enabled is part of topdown.QueryTracer.
func (t *explainTracer) Enabled() bool { return true }

// Config asks for local variable bindings, to name the keys a ref reads.
func (t *explainTracer) Config() topdown.TraceConfig {
	return topdown.TraceConfig{PlugLocalVars: true}
}

// TraceEvent is part of topdown.QueryTracer.
func (t *explainTracer) TraceEvent(ev topdown.Event) {
	if _, ok := t.parents[ev.QueryID]; !ok {
		t.parents[ev.QueryID] = ev.ParentID
	}
	switch node := ev.Node.(type) {
	case *ast.Rule:
		switch ev.Op {
		case topdown.EnterOp:
			t.ruleOf[ev.QueryID] = node
		case topdown.ExitOp:
			t.fired[node] = true
		}
	case *ast.Expr:
		if ev.Op == topdown.EvalOp {
			if rule := t.rule(ev.QueryID); rule != nil {
				t.collectReads(rule, node, ev.Locals)
			}
		}
	}
}

// rule returns the rule whose body the query belongs to: its own, or that
// of the nearest enclosing query (a not, an every, a comprehension).
func (t *explainTracer) rule(id uint64) *ast.Rule {
	for range len(t.parents) + 1 {
		if r, ok := t.ruleOf[id]; ok {
			return r
		}
		parent, ok := t.parents[id]
		if !ok || parent == id {
			return nil
		}
		id = parent
	}
	return nil
}

// collectReads records the input and base data refs of an expression,
// with the keys bound so far plugged in.
func (t *explainTracer) collectReads(rule *ast.Rule, expr *ast.Expr, locals *ast.ValueMap) {
	ast.WalkRefs(expr, func(ref ast.Ref) bool {
		read := plugRef(ref, locals)
		if !t.isRead(read) {
			return false
		}
		key := read.String()
		if t.seen[rule] == nil {
			t.seen[rule] = map[string]bool{}
		}
		if !t.seen[rule][key] {
			t.seen[rule][key] = true
			t.reads[rule] = append(t.reads[rule], read)
		}
		return false
	})
}

// isRead reports whether ref reads input, or data that no rule defines.
func (t *explainTracer) isRead(ref ast.Ref) bool {
	switch {
	case len(ref) < 2:
		return false
	case ref.HasPrefix(ast.InputRootRef):
		return true
	case ref.HasPrefix(ast.DefaultRootRef):
		return len(t.policy.compiler.GetRules(ref)) == 0
	default:
		return false
	}
}

// plugRef replaces the bound variables of ref with their values and cuts it
// at the first unbound one.
func plugRef(ref ast.Ref, locals *ast.ValueMap) ast.Ref {
	out := ast.Ref{ref[0]}
	for _, term := range ref[1:] {
		if v, ok := term.Value.(ast.Var); ok {
			if locals == nil {
				break
			}
			val := locals.Get(v)
			if val == nil || !ast.IsScalar(val) {
				break
			}
			term = ast.NewTerm(val)
		}
		if !term.IsGround() {
			break
		}
		out = append(out, term)
	}
	return out
}

// explanation lists the fired rules with their reads and the values read.
func (t *explainTracer) explanation(ctx context.Context, input ast.Value) Explanation {
	data := t.baseData(ctx)
	var x Explanation
	for rule := range t.fired {
		fr := FiredRule{Rule: rule.Ref().String()} // compiled: data.<package>.<rule>
		if loc := rule.Location; loc != nil {
			fr.File, fr.Line = loc.File, loc.Row
		}
		for _, ref := range t.reads[rule] {
			root := data
			if ref.HasPrefix(ast.InputRootRef) {
				root = input
			}
			fr.Reads = append(fr.Reads, Read{Path: ref.String(), Value: lookup(root, ref[1:])})
		}
		x.Rules = append(x.Rules, fr)
	}
	sort.Slice(x.Rules, func(i, j int) bool {
		a, b := x.Rules[i], x.Rules[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Rule < b.Rule
	})
	return x
}

// baseData returns the policy's data documents, or nil if unreadable.
func (t *explainTracer) baseData(ctx context.Context) ast.Value {
	doc, err := storage.ReadOne(ctx, t.policy.data, storage.Path{})
	if err != nil {
		return nil
	}
	v, err := ast.InterfaceToValue(doc)
	if err != nil {
		return nil
	}
	return v
}

// lookup returns the compact JSON of root at path, shortened; empty when
// the path is undefined.
func lookup(root ast.Value, path ast.Ref) string {
	if root == nil {
		return ""
	}
	v, err := root.Find(path)
	if err != nil {
		return ""
	}
	s := v.String()
	if len(s) > maxExplainValue {
		s = s[:maxExplainValue] + "..."
	}
	return s
}
