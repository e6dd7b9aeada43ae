package planeval

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Program is one plan of a policy, checked and ready to run. It is
// immutable and safe for concurrent use by any number of evaluations.
type Program struct {
	plan    *ir.Plan
	strings []*ast.Term
	// numbers holds the number constants of MakeNumberRefStmt by index of
	// their string.
	numbers []*ast.Term
	funcs   []*function
	// callees resolves each call statement of the plan to the function or
	// built-in it calls.
	callees map[*ir.CallStmt]callee
	// stack is the number of locals the deepest chain of calls needs.
	stack int
	// frame is the number of locals of the plan itself.
	frame int
	// memos is the number of memoized functions.
	memos int
	pool  sync.Pool
}

// function is a planned function: a rule (its parameters are input, data,
// then the rule's own arguments) or a constant given to Compile.
type function struct {
	name   string
	params []ir.Local
	ret    ir.Local
	blocks []*ir.Block
	// frame is the number of locals of one call; stack adds the deepest
	// chain of calls made from it.
	frame, stack int
	// memo: the function takes input and data only, so its value is the
	// same for the whole evaluation and is computed once.
	memo bool
	// index numbers the memoized functions, for the memo table.
	index int
	// constant is the value given to Compile for this function, used
	// instead of its blocks; undefined when nil and isConstant.
	constant   *ast.Term
	isConstant bool
}

// callee is what a CallStmt calls: a planned function or a built-in.
type callee struct {
	fn      *function
	builtin topdown.BuiltinFunc
	name    string
}

// Options adjust Compile.
type Options struct {
	// Constants gives the value of functions of the plan by name (e.g.
	// "g0.data.gatehouse.derived.package_of"), computed once by the
	// caller; a nil value is undefined. Only functions of input and data
	// alone (no rule arguments) may be given.
	Constants map[string]*ast.Term
}

// Decode reads a plan as `opa build -t plan` writes it (plan.json).
func Decode(raw []byte) (*ir.Policy, error) {
	var policy ir.Policy
	if err := json.Unmarshal(raw, &policy); err != nil {
		return nil, fmt.Errorf("decode plan: %w", err)
	}
	return &policy, nil
}

// Compile checks the plan named entrypoint of policy and prepares it to
// run. The error names the first thing this package cannot execute: a
// statement kind (WithStmt, CallDynamicStmt, ObjectMergeStmt), a call of
// an unknown function, or a built-in that is not in OPA's registry, is a
// relation, returns no value or is nondeterministic. Compile takes over
// policy: it normalizes its operands in place.
func Compile(policy *ir.Policy, entrypoint string, opts Options) (*Program, error) {
	if policy == nil || policy.Plans == nil {
		return nil, errors.New("plan: no plans")
	}
	p := &Program{callees: map[*ir.CallStmt]callee{}}
	for _, plan := range policy.Plans.Plans {
		if plan.Name == entrypoint {
			p.plan = plan
		}
	}
	if p.plan == nil {
		return nil, fmt.Errorf("plan: no plan named %q", entrypoint)
	}
	if policy.Static != nil {
		for _, s := range policy.Static.Strings {
			p.strings = append(p.strings, ast.StringTerm(s.Value))
		}
	}
	p.numbers = make([]*ast.Term, len(p.strings))
	byName := map[string]*function{}
	memos := 0
	if policy.Funcs != nil {
		for _, f := range policy.Funcs.Funcs {
			fn := &function{name: f.Name, params: f.Params, ret: f.Return, blocks: f.Blocks, frame: -1}
			if len(fn.params) < 2 {
				return nil, fmt.Errorf("plan: function %s takes %d parameters, not input and data first", f.Name, len(fn.params))
			}
			if len(fn.params) == 2 {
				fn.memo, fn.index = true, memos
				memos++
			}
			if v, ok := opts.Constants[f.Name]; ok {
				if !fn.memo {
					return nil, fmt.Errorf("plan: function %s takes arguments and cannot be a constant", f.Name)
				}
				fn.constant, fn.isConstant = v, true
			}
			byName[f.Name] = fn
			p.funcs = append(p.funcs, fn)
		}
	}
	c := checker{p: p, byName: byName, ret: -1}
	frame, err := c.blocks(p.plan.Blocks, nil)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", entrypoint, err)
	}
	p.frame = max(frame, int(ir.Data)+1) // input and data
	for _, fn := range p.funcs {
		if err := c.function(fn, nil); err != nil {
			return nil, err
		}
	}
	p.stack = p.frame + c.deepest(p.plan.Blocks)
	p.memos = memos
	p.pool.New = func() any { return p.newState() }
	return p, nil
}

// checker walks the plan once: it resolves calls, normalizes operands,
// refuses what Eval cannot run and sizes the frames.
type checker struct {
	p      *Program
	byName map[string]*function
	// ret is the return local of the function being checked; -1 in a plan,
	// which returns nothing.
	ret ir.Local
}

// function checks fn and the functions it calls (the call graph of a plan
// has no cycles: Rego forbids recursion), setting fn.frame and fn.stack.
func (c *checker) function(fn *function, path []string) error {
	if fn.frame >= 0 {
		return nil
	}
	for _, name := range path {
		if name == fn.name {
			return fmt.Errorf("plan: function %s calls itself", fn.name)
		}
	}
	path = append(path, fn.name)
	frame := int(fn.ret) + 1
	for _, l := range fn.params {
		frame = max(frame, int(l)+1)
	}
	outer := c.ret
	c.ret = fn.ret
	inner, err := c.blocks(fn.blocks, path)
	c.ret = outer
	if err != nil {
		return fmt.Errorf("plan: function %s: %w", fn.name, err)
	}
	fn.frame = max(frame, inner)
	fn.stack = fn.frame + c.deepest(fn.blocks)
	return nil
}

// deepest is the largest stack any call made in blocks needs.
func (c *checker) deepest(blocks []*ir.Block) int {
	deepest := 0
	for _, b := range blocks {
		walkStmts(b, func(s ir.Stmt) {
			if call, ok := s.(*ir.CallStmt); ok {
				if fn := c.p.callees[call].fn; fn != nil && !fn.isConstant {
					deepest = max(deepest, fn.stack)
				}
			}
		})
	}
	return deepest
}

// blocks checks the statements of blocks and returns the number of locals
// they use.
func (c *checker) blocks(blocks []*ir.Block, path []string) (int, error) {
	frame := 0
	var err error
	use := func(ls ...ir.Local) {
		for _, l := range ls {
			frame = max(frame, int(l)+1)
		}
	}
	operand := func(ops ...*ir.Operand) {
		for _, op := range ops {
			switch v := op.Value.(type) {
			case *ir.Local: // as a decoded plan has them
				op.Value = *v
			case *ir.StringIndex:
				op.Value = *v
			case *ir.Bool:
				op.Value = *v
			}
			switch v := op.Value.(type) {
			case ir.Local:
				use(v)
			case ir.StringIndex:
				if int(v) < 0 || int(v) >= len(c.p.strings) {
					err = fmt.Errorf("string constant %d out of range", v)
				}
			case ir.Bool:
			default:
				err = fmt.Errorf("operand of kind %T", op.Value)
			}
		}
	}
	for _, b := range blocks {
		walkStmts(b, func(s ir.Stmt) {
			if err != nil {
				return
			}
			switch s := s.(type) {
			case *ir.ReturnLocalStmt:
				// Eval reads a function's value from its return local.
				if s.Source != c.ret {
					err = fmt.Errorf("return of local %d, not of the return local %d", s.Source, c.ret)
				}
			case *ir.CallStmt:
				for i := range s.Args {
					operand(&s.Args[i])
				}
				use(s.Result)
				err = c.call(s, path)
			case *ir.BlockStmt, *ir.BreakStmt, *ir.NotStmt, *ir.NopStmt:
			case *ir.DotStmt:
				operand(&s.Source, &s.Key)
				use(s.Target)
			case *ir.LenStmt:
				operand(&s.Source)
				use(s.Target)
			case *ir.ScanStmt:
				use(s.Source, s.Key, s.Value)
			case *ir.AssignIntStmt:
				use(s.Target)
			case *ir.AssignVarStmt:
				operand(&s.Source)
				use(s.Target)
			case *ir.AssignVarOnceStmt:
				operand(&s.Source)
				use(s.Target)
			case *ir.ResetLocalStmt:
				use(s.Target)
			case *ir.MakeNullStmt:
				use(s.Target)
			case *ir.MakeNumberIntStmt:
				use(s.Target)
			case *ir.MakeNumberRefStmt:
				use(s.Target)
				if s.Index < 0 || s.Index >= len(c.p.strings) {
					err = fmt.Errorf("number constant %d out of range", s.Index)
					return
				}
				text := json.Number(c.p.strings[s.Index].Value.(ast.String))
				if _, nerr := text.Float64(); nerr != nil {
					err = fmt.Errorf("number constant %q: %w", text, nerr)
					return
				}
				c.p.numbers[s.Index] = ast.NumberTerm(text)
			case *ir.MakeArrayStmt:
				use(s.Target)
			case *ir.MakeObjectStmt:
				use(s.Target)
			case *ir.MakeSetStmt:
				use(s.Target)
			case *ir.EqualStmt:
				operand(&s.A, &s.B)
			case *ir.NotEqualStmt:
				operand(&s.A, &s.B)
			case *ir.IsArrayStmt:
				operand(&s.Source)
			case *ir.IsObjectStmt:
				operand(&s.Source)
			case *ir.IsSetStmt:
				operand(&s.Source)
			case *ir.IsDefinedStmt:
				use(s.Source)
			case *ir.IsUndefinedStmt:
				use(s.Source)
			case *ir.ArrayAppendStmt:
				operand(&s.Value)
				use(s.Array)
			case *ir.ObjectInsertStmt:
				operand(&s.Key, &s.Value)
				use(s.Object)
			case *ir.ObjectInsertOnceStmt:
				operand(&s.Key, &s.Value)
				use(s.Object)
			case *ir.SetAddStmt:
				operand(&s.Value)
				use(s.Set)
			case *ir.ResultSetAddStmt:
				use(s.Value)
			default:
				err = fmt.Errorf("statement %T is not supported", s)
			}
		})
		if err != nil {
			return 0, err
		}
	}
	return frame, nil
}

// call resolves the callee of s: a function of the plan or a built-in.
func (c *checker) call(s *ir.CallStmt, path []string) error {
	if fn, ok := c.byName[s.Func]; ok {
		if len(s.Args) != len(fn.params) {
			return fmt.Errorf("call of %s with %d arguments, not %d", s.Func, len(s.Args), len(fn.params))
		}
		if !fn.isConstant {
			if err := c.function(fn, path); err != nil {
				return err
			}
		}
		c.p.callees[s] = callee{fn: fn, name: s.Func}
		return nil
	}
	decl, ok := ast.BuiltinMap[s.Func]
	impl := topdown.GetBuiltin(s.Func)
	switch {
	case !ok || impl == nil:
		return fmt.Errorf("call of %s: no such function or built-in", s.Func)
	case decl.Relation:
		return fmt.Errorf("call of built-in %s: relations are not supported", s.Func)
	case decl.Decl == nil || decl.Decl.Result() == nil:
		return fmt.Errorf("call of built-in %s: built-ins without a result are not supported", s.Func)
	case decl.Nondeterministic:
		return fmt.Errorf("call of built-in %s: nondeterministic built-ins are not supported", s.Func)
	case decl.Decl.FuncArgs().Variadic == nil && len(s.Args) != len(decl.Decl.FuncArgs().Args):
		return fmt.Errorf("call of built-in %s with %d arguments, not %d", s.Func, len(s.Args), len(decl.Decl.FuncArgs().Args))
	}
	c.p.callees[s] = callee{builtin: impl, name: s.Func}
	return nil
}

// walkStmts calls f for every statement of b, nested blocks included.
func walkStmts(b *ir.Block, f func(ir.Stmt)) {
	for _, s := range b.Stmts {
		f(s)
		switch s := s.(type) {
		case *ir.BlockStmt:
			for _, nested := range s.Blocks {
				walkStmts(nested, f)
			}
		case *ir.ScanStmt:
			walkStmts(s.Block, f)
		case *ir.NotStmt:
			walkStmts(s.Block, f)
		case *ir.WithStmt:
			walkStmts(s.Block, f)
		}
	}
}
