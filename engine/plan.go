package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/compile"
	"github.com/open-policy-agent/opa/v1/storage"

	"github.com/gatehouse/gatehouse/engine/internal/planeval"
)

// Evaluator names how decisions evaluate the policy (POLICIES.md,
// "Evaluation").
type Evaluator string

const (
	// EvaluatorPlan runs OPA's compiled plan of the decision rule (the IR
	// of `opa build -t plan`) with the engine's plan interpreter; a
	// revision whose plan it cannot run is evaluated with topdown.
	EvaluatorPlan Evaluator = "plan"
	// EvaluatorTopdown evaluates the Rego with topdown, OPA's evaluator.
	EvaluatorTopdown Evaluator = "topdown"
)

// DefaultEvaluator is the evaluator of decisions unless WithEvaluator says
// otherwise.
const DefaultEvaluator = EvaluatorPlan

// decisionEntrypoint is decisionQuery as the planner names it.
const decisionEntrypoint = "gatehouse/decision/result"

// ParseEvaluator returns the evaluator named s: "plan" or "topdown".
func ParseEvaluator(s string) (Evaluator, error) {
	switch e := Evaluator(s); e {
	case EvaluatorPlan, EvaluatorTopdown:
		return e, nil
	}
	return "", fmt.Errorf("unknown evaluator %q: plan or topdown", s)
}

// WithEvaluator sets how decisions evaluate the policy: EvaluatorPlan (the
// default) or EvaluatorTopdown. Explanations (Explain) always use topdown,
// whose trace they show.
// An empty ev keeps the default.
func WithEvaluator(ev Evaluator) Option {
	return func(e *Engine) {
		if ev != "" {
			e.evaluator = ev
		}
	}
}

// decisionPlan is the compiled plan of a revision's decision rule, or why
// there is none.
type decisionPlan struct {
	program *planeval.Program
	// data is the policy's data document, read once for the revision.
	data *ast.Term
	// err says why the plan interpreter cannot run this revision.
	err error
}

// Evaluator reports how this revision's decisions are evaluated by an
// engine asking for ev, and, when the plan cannot be used, why.
func (p *Policy) Evaluator(ev Evaluator) (Evaluator, string) {
	if ev != EvaluatorPlan {
		return EvaluatorTopdown, ""
	}
	if p.plan.err != nil {
		return EvaluatorTopdown, p.plan.err.Error()
	}
	return EvaluatorPlan, ""
}

// compilePlan plans the decision rule with OPA's compiler (target "plan",
// the Rego modules of the revision but their tests) and prepares it
// for the plan interpreter, giving it the derived rules' values computed
// for the revision. Any failure is kept in the result, not returned: the
// revision is then evaluated with topdown.
func (p *Policy) compilePlan(ctx context.Context, modules map[string]*ast.Module) decisionPlan {
	b := &bundle.Bundle{Data: map[string]any{}}
	if err := p.testRulesUnread(); err != nil {
		return decisionPlan{err: fmt.Errorf("plan %s: %w", decisionQuery, err)}
	}
	names := make([]string, 0, len(modules))
	for name := range modules {
		if !IsTestFile(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		b.Modules = append(b.Modules, bundle.ModuleFile{
			Path: name, URL: name, Raw: p.Files[name], Parsed: modules[name].Copy(),
		})
	}
	c := compile.New().
		WithTarget(compile.TargetPlan).
		WithEntrypoints(decisionEntrypoint).
		WithPruneUnused(true).
		WithRegoVersion(ast.RegoV1).
		WithBundle(b)
	if err := c.Build(ctx); err != nil {
		return decisionPlan{err: fmt.Errorf("plan %s: %w", decisionQuery, err)}
	}
	out := c.Bundle()
	if out == nil || len(out.PlanModules) != 1 {
		return decisionPlan{err: fmt.Errorf("plan %s: the compiler wrote no plan", decisionQuery)}
	}
	policy, err := planeval.Decode(out.PlanModules[0].Raw)
	if err != nil {
		return decisionPlan{err: err}
	}
	constants := map[string]*ast.Term{}
	if policy.Funcs != nil {
		prefix := strings.TrimPrefix(derivedQuery, "data.")
		for _, f := range policy.Funcs.Funcs {
			if len(f.Path) < 2 {
				continue
			}
			path := strings.Join(f.Path[1:len(f.Path)-1], ".")
			if v, ok := p.derived[f.Path[len(f.Path)-1]]; ok && path == prefix && len(f.Params) == 2 {
				constants[f.Name] = v
			}
		}
	}
	program, err := planeval.Compile(policy, decisionEntrypoint, planeval.Options{Constants: constants})
	if err != nil {
		return decisionPlan{err: err}
	}
	data, err := p.data.Read(ctx, p.txn, storage.RootPath)
	if err != nil {
		return decisionPlan{err: fmt.Errorf("plan %s: read data: %w", decisionQuery, err)}
	}
	v, ok := data.(ast.Value)
	if !ok {
		if v, err = ast.InterfaceToValue(data); err != nil {
			return decisionPlan{err: fmt.Errorf("plan %s: read data: %w", decisionQuery, err)}
		}
	}
	return decisionPlan{program: program, data: ast.NewTerm(v)}
}

// testRulesUnread checks that no rule outside the test files can read a
// rule of a test file: the plan is made without them (they would double
// its cost), and the planner reads a rule it does not see as base data.
func (p *Policy) testRulesUnread() error {
	code := map[string]bool{}
	for name, m := range p.compiler.Modules {
		if !IsTestFile(name) {
			code[m.Package.Path.String()] = true
		}
	}
	var testPackages []ast.Ref
	for name, m := range p.compiler.Modules {
		if IsTestFile(name) {
			if code[m.Package.Path.String()] {
				return fmt.Errorf("test file %s adds rules to package %s", name, m.Package.Path)
			}
			testPackages = append(testPackages, m.Package.Path)
		}
	}
	var err error
	for name, m := range p.compiler.Modules {
		if IsTestFile(name) {
			continue
		}
		ast.WalkRefs(m, func(ref ast.Ref) bool {
			if err != nil || !ref.HasPrefix(ast.DefaultRootRef) {
				return false
			}
			ground := ref.GroundPrefix()
			for _, pkg := range testPackages {
				if ground.HasPrefix(pkg) || pkg.HasPrefix(ground) {
					err = fmt.Errorf("%s reads %s, which may be a rule of the test package %s", name, ref, pkg)
				}
			}
			return false
		})
	}
	return err
}

// eval evaluates the decision rule's plan for input and returns the
// value of data.gatehouse.decision.result, nil when it is undefined.
func (dp *decisionPlan) eval(ctx context.Context, input ast.Value) (*ast.Term, error) {
	rs, err := dp.program.Eval(ctx, ast.NewTerm(input), dp.data)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	if len(rs) > 1 {
		return nil, fmt.Errorf("%s has %d values", decisionQuery, len(rs))
	}
	obj, ok := rs[0].Value.(ast.Object)
	if !ok {
		return nil, nil
	}
	return obj.Get(ast.InternedTerm("result")), nil
}
