package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/util"
)

// derivedQuery is the package of rules that read the policy's data only
// (POLICIES.md, "Evaluation"): the engine computes each of them once per
// revision, and decisions read the computed values instead of evaluating
// the rules again.
const derivedQuery = "data.gatehouse.derived"

var derivedRef = ast.MustParseRef(derivedQuery)

// computeDerived checks that every rule of the derived package is a
// complete rule without arguments that reads no input, directly or through
// the rules it uses, and calls no nondeterministic built-in; then evaluates
// the package once. The result maps a rule name to its value (nil when it
// is undefined). A policy without the package derives nothing.
func (p *Policy) computeDerived(ctx context.Context) (map[string]*ast.Term, error) {
	rules := p.compiler.GetRulesWithPrefix(derivedRef)
	if len(rules) == 0 {
		return nil, nil
	}
	// OPA returns them in its rule tree's map order: checked in file
	// order, the refusal names the first bad rule, the same every time.
	slices.SortFunc(rules, func(a, b *ast.Rule) int { return a.Location.Compare(b.Location) })
	names := map[string]bool{}
	for _, r := range rules {
		head := r.Head.Ref()
		if len(r.Head.Args) > 0 || len(head) != 1 || r.Head.RuleKind() != ast.SingleValue {
			return nil, fmt.Errorf("compile policy: %s:%d: rule %s must be a complete rule without arguments (name := value)",
				r.Location.File, r.Location.Row, r.Ref())
		}
		if err := p.readsDataOnly(r); err != nil {
			return nil, err
		}
		names[head.String()] = true
	}
	pq, err := p.prepare(ctx, ast.MustParseBody(derivedQuery))
	if err != nil {
		return nil, err
	}
	rs, err := pq.Eval(ctx, rego.EvalTransaction(p.txn), rego.EvalGenerateJSON(keepAST))
	if err != nil {
		return nil, fmt.Errorf("compile policy: evaluate %s: %w", derivedQuery, err)
	}
	values := map[string]*ast.Term{}
	for name := range names {
		values[name] = nil
	}
	if len(rs) == 1 && len(rs[0].Expressions) == 1 {
		if obj, ok := rs[0].Expressions[0].Value.(*ast.Term).Value.(ast.Object); ok {
			for name := range names {
				values[name] = obj.Get(ast.StringTerm(name))
			}
		}
	}
	return values, nil
}

// readsDataOnly refuses a derived rule that reads input or calls a
// nondeterministic built-in, itself or through any rule it depends on:
// its value would not be the same for every decision of the revision.
func (p *Policy) readsDataOnly(root *ast.Rule) error {
	seen := map[util.T]bool{}
	stack := []util.T{root}
	for len(stack) > 0 {
		node := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[node] {
			continue
		}
		seen[node] = true
		rule, ok := node.(*ast.Rule)
		if !ok {
			continue
		}
		var bad string
		ast.WalkRefs(rule, func(ref ast.Ref) bool {
			if ref.HasPrefix(ast.InputRootRef) && bad == "" {
				bad = "reads input"
			}
			return false
		})
		ast.WalkExprs(rule, func(expr *ast.Expr) bool {
			if expr.IsCall() && bad == "" {
				if b, ok := ast.BuiltinMap[expr.Operator().String()]; ok && b.Nondeterministic {
					bad = "calls the nondeterministic built-in " + b.Name
				}
			}
			return false
		})
		if bad != "" {
			return fmt.Errorf("compile policy: %s:%d: rule %s %s (in %s); the rules of %s read data only",
				root.Location.File, root.Location.Row, root.Ref(), bad, rule.Ref(), derivedQuery)
		}
		for dep := range p.compiler.Graph.Dependencies(node) {
			stack = append(stack, dep)
		}
	}
	return nil
}

// derivedCache is the virtual-document cache of one evaluation: the derived
// rules of the revision are answered from their computed values, every
// other rule as OPA's own cache does. Inside a `with` (a pushed frame) the
// computed values are not used: the rules may read replaced data.
type derivedCache struct {
	values map[string]*ast.Term
	local  topdown.VirtualCache
	depth  int
}

func newDerivedCache(values map[string]*ast.Term) topdown.VirtualCache {
	return &derivedCache{values: values, local: topdown.NewVirtualCache()}
}

// Get implements topdown.VirtualCache.
func (c *derivedCache) Get(ref ast.Ref) (*ast.Term, bool) {
	if c.depth == 0 && len(ref) == len(derivedRef)+1 && ref.HasPrefix(derivedRef) {
		if name, ok := ref[len(ref)-1].Value.(ast.String); ok {
			if v, ok := c.values[string(name)]; ok {
				return v, v == nil
			}
		}
	}
	return c.local.Get(ref)
}

// Put implements topdown.VirtualCache.
func (c *derivedCache) Put(ref ast.Ref, value *ast.Term) { c.local.Put(ref, value) }

// Push implements topdown.VirtualCache.
func (c *derivedCache) Push() { c.depth++; c.local.Push() }

// Pop implements topdown.VirtualCache.
func (c *derivedCache) Pop() { c.depth--; c.local.Pop() }

// Keys implements topdown.VirtualCache.
func (c *derivedCache) Keys() []ast.Ref { return c.local.Keys() }
