package planeval

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Errors of an evaluation. A conflict is the plan's counterpart of
// topdown's eval_conflict_error: a complete rule or an object rule gave two
// different values.
var (
	ErrConflict = errors.New("eval_conflict_error: a complete rule or an object key was given two different values")
)

// checkEvery is how many calls and loop iterations run between two checks
// of the evaluation's context.
const checkEvery = 64

// Statement outcomes within a block (see state.stmt).
const (
	// held: the statement held, the block goes on.
	held = -1
	// stop: the statement did not hold, the block ends and execution goes
	// on after it. A value n > stop leaves n blocks more.
	stop = 0
)

// state is one evaluation: its stack of locals, the memoized values of
// rules without arguments and the results. States are pooled by Program.
type state struct {
	p        *Program
	ctx      context.Context
	stack    []*ast.Term
	sp       int
	memo     []*ast.Term
	memoDone []bool
	results  []*ast.Term
	args     []*ast.Term
	bctx     topdown.BuiltinContext
	out      *ast.Term
	onResult func(*ast.Term) error
	ticks    int
	err      error
}

func (p *Program) newState() any {
	s := &state{
		p:        p,
		stack:    make([]*ast.Term, p.stack),
		memo:     make([]*ast.Term, p.memos),
		memoDone: make([]bool, p.memos),
	}
	s.onResult = func(t *ast.Term) error { s.out = t; return nil }
	return s
}

// Eval runs the plan with input and data (nil: undefined) and returns the
// values the plan added to its result set, in the order added; for a plan
// of `opa build -t plan` each is an object {"result": value}, and none
// means the entry point is undefined. Errors: ErrConflict, or the context's
// error when ctx ends first. The returned terms may share structure with
// input and data; they must not be modified.
func (p *Program) Eval(ctx context.Context, input, data *ast.Term) ([]*ast.Term, error) {
	s := p.pool.Get().(*state)
	defer p.release(s)
	s.ctx = ctx
	s.bctx = topdown.BuiltinContext{Context: ctx}
	frame := s.push(p.frame)
	frame[ir.Input], frame[ir.Data] = input, data
	for _, b := range p.plan.Blocks {
		s.block(frame, b)
		if s.err != nil {
			return nil, s.err
		}
	}
	return s.results, nil
}

// release clears s of this evaluation's values and returns it to the pool.
func (p *Program) release(s *state) {
	clear(s.stack)
	clear(s.memo)
	clear(s.memoDone)
	clear(s.args)
	s.results, s.ctx, s.bctx, s.out, s.err, s.sp, s.ticks = nil, nil, topdown.BuiltinContext{}, nil, nil, 0, 0
	p.pool.Put(s)
}

// push returns a frame of n undefined locals on the stack.
func (s *state) push(n int) []*ast.Term {
	frame := s.stack[s.sp : s.sp+n : s.sp+n]
	clear(frame)
	s.sp += n
	return frame
}

// block runs the statements of b. It returns done when every statement
// held; else leave, how many blocks enclosing b execution leaves too (0:
// it goes on after b).
func (s *state) block(frame []*ast.Term, b *ir.Block) (done bool, leave int) {
	for _, stmt := range b.Stmts {
		if r := s.stmt(frame, stmt); r != held {
			return false, r
		}
		if s.err != nil {
			return false, 1 << 30
		}
	}
	return true, 0
}

// stmt runs one statement: held, or how many blocks to leave counting the
// current one from zero (stop: only the current one).
func (s *state) stmt(frame []*ast.Term, stmt ir.Stmt) int {
	switch st := stmt.(type) {
	case *ir.CallStmt:
		return s.call(frame, st)
	case *ir.DotStmt:
		src, key := s.value(frame, st.Source), s.value(frame, st.Key)
		frame[st.Target] = nil
		if src == nil || key == nil {
			return stop
		}
		if v := dot(src, key); v != nil {
			frame[st.Target] = v
			return held
		}
		return stop
	case *ir.AssignVarStmt:
		frame[st.Target] = s.value(frame, st.Source)
		return held
	case *ir.AssignVarOnceStmt:
		v := s.value(frame, st.Source)
		if old := frame[st.Target]; old != nil {
			if v == nil || !old.Equal(v) {
				return s.fail(ErrConflict)
			}
			return held
		}
		frame[st.Target] = v
		return held
	case *ir.BlockStmt:
		for _, b := range st.Blocks {
			if done, leave := s.block(frame, b); !done && leave > 0 {
				return leave - 1
			}
		}
		return held
	case *ir.BreakStmt:
		return int(st.Index)
	case *ir.NotStmt:
		done, leave := s.block(frame, st.Block)
		switch {
		case done:
			return stop
		case leave > 0:
			return leave - 1
		}
		return held
	case *ir.ScanStmt:
		return s.scan(frame, st)
	case *ir.IsDefinedStmt:
		return holds(frame[st.Source] != nil)
	case *ir.IsUndefinedStmt:
		return holds(frame[st.Source] == nil)
	case *ir.EqualStmt:
		a, b := s.value(frame, st.A), s.value(frame, st.B)
		return holds(a != nil && b != nil && a.Equal(b))
	case *ir.NotEqualStmt:
		a, b := s.value(frame, st.A), s.value(frame, st.B)
		return holds(a != nil && b != nil && !a.Equal(b))
	case *ir.ResetLocalStmt:
		frame[st.Target] = nil
		return held
	case *ir.ReturnLocalStmt:
		// The function's value is read from its return local when its
		// blocks are done (see call).
		return held
	case *ir.MakeNullStmt:
		frame[st.Target] = ast.InternedNullTerm
		return held
	case *ir.MakeNumberIntStmt:
		frame[st.Target] = ast.InternedTerm(int(st.Value))
		return held
	case *ir.AssignIntStmt:
		frame[st.Target] = ast.InternedTerm(int(st.Value))
		return held
	case *ir.MakeNumberRefStmt:
		frame[st.Target] = s.p.numbers[st.Index]
		return held
	case *ir.MakeArrayStmt:
		frame[st.Target] = ast.NewTerm(ast.NewArrayWithCapacity(int(st.Capacity)))
		return held
	case *ir.MakeObjectStmt:
		frame[st.Target] = ast.NewTerm(ast.NewObject())
		return held
	case *ir.MakeSetStmt:
		frame[st.Target] = ast.NewTerm(ast.NewSet())
		return held
	case *ir.ArrayAppendStmt:
		arr, ok := termValue[*ast.Array](frame[st.Array])
		v := s.value(frame, st.Value)
		if !ok || v == nil {
			return stop
		}
		frame[st.Array] = ast.NewTerm(arr.Append(v))
		return held
	case *ir.ObjectInsertStmt:
		obj, ok := termValue[ast.Object](frame[st.Object])
		k, v := s.value(frame, st.Key), s.value(frame, st.Value)
		if !ok || k == nil || v == nil {
			return stop
		}
		obj.Insert(k, v)
		return held
	case *ir.ObjectInsertOnceStmt:
		obj, ok := termValue[ast.Object](frame[st.Object])
		k, v := s.value(frame, st.Key), s.value(frame, st.Value)
		if !ok || k == nil || v == nil {
			return stop
		}
		if old := obj.Get(k); old != nil {
			if !old.Equal(v) {
				return s.fail(ErrConflict)
			}
			return held
		}
		obj.Insert(k, v)
		return held
	case *ir.SetAddStmt:
		set, ok := termValue[ast.Set](frame[st.Set])
		v := s.value(frame, st.Value)
		if !ok || v == nil {
			return stop
		}
		set.Add(v)
		return held
	case *ir.LenStmt:
		src := s.value(frame, st.Source)
		if src == nil {
			return stop
		}
		n, ok := length(src.Value)
		if !ok {
			return stop
		}
		frame[st.Target] = ast.InternedTerm(n)
		return held
	case *ir.IsArrayStmt:
		_, ok := termValue[*ast.Array](s.value(frame, st.Source))
		return holds(ok)
	case *ir.IsObjectStmt:
		_, ok := termValue[ast.Object](s.value(frame, st.Source))
		return holds(ok)
	case *ir.IsSetStmt:
		_, ok := termValue[ast.Set](s.value(frame, st.Source))
		return holds(ok)
	case *ir.ResultSetAddStmt:
		if v := frame[st.Value]; v != nil {
			for _, r := range s.results {
				if r.Equal(v) {
					return held
				}
			}
			s.results = append(s.results, v)
		}
		return held
	case *ir.NopStmt:
		return held
	}
	// Compile refuses every other statement.
	return s.fail(fmt.Errorf("statement %T is not supported", stmt))
}

// scan runs the body of st once per element of its source: its key and
// value bound, in OPA's order (sorted keys of objects and sets).
func (s *state) scan(frame []*ast.Term, st *ir.ScanStmt) int {
	src := frame[st.Source]
	if src == nil {
		return held
	}
	result := held
	// each runs the body for one element; true stops the scan.
	each := func(k, v *ast.Term) bool {
		if s.tick() {
			return true
		}
		frame[st.Key], frame[st.Value] = k, v
		done, leave := s.block(frame, st.Block)
		if done || leave == 0 {
			return false
		}
		if leave >= 2 {
			result = leave - 2
		}
		return true
	}
	switch v := src.Value.(type) {
	case *ast.Array:
		for i := range v.Len() {
			if each(ast.InternedTerm(i), v.Elem(i)) {
				break
			}
		}
	case ast.Object:
		v.Until(each)
	case ast.Set:
		v.Until(func(e *ast.Term) bool { return each(e, e) })
	}
	if s.err != nil {
		return 1 << 30
	}
	return result
}

// call calls a function of the plan or a built-in and binds its value; an
// undefined value (or a built-in's error, as in topdown) stops the block.
func (s *state) call(frame []*ast.Term, st *ir.CallStmt) int {
	c := s.p.callees[st]
	if c.fn == nil {
		return s.callBuiltin(frame, st, c)
	}
	fn := c.fn
	if fn.memo {
		if fn.isConstant {
			frame[st.Result] = fn.constant
			return holds(fn.constant != nil)
		}
		if s.memoDone[fn.index] {
			frame[st.Result] = s.memo[fn.index]
			return holds(frame[st.Result] != nil)
		}
	}
	if s.tick() {
		return 1 << 30
	}
	inner := s.push(fn.frame)
	for i, a := range st.Args {
		inner[fn.params[i]] = s.value(frame, a)
	}
	for _, b := range fn.blocks {
		s.block(inner, b)
		if s.err != nil {
			s.sp -= fn.frame
			return 1 << 30
		}
	}
	v := inner[fn.ret]
	s.sp -= fn.frame
	if fn.memo {
		s.memo[fn.index], s.memoDone[fn.index] = v, true
	}
	frame[st.Result] = v
	return holds(v != nil)
}

func (s *state) callBuiltin(frame []*ast.Term, st *ir.CallStmt, c callee) int {
	if cap(s.args) < len(st.Args) {
		s.args = make([]*ast.Term, len(st.Args))
	}
	args := s.args[:len(st.Args)]
	for i, a := range st.Args {
		if args[i] = s.value(frame, a); args[i] == nil {
			return stop
		}
	}
	s.out = nil
	err := c.builtin(s.bctx, args, s.onResult)
	clear(args)
	if err != nil {
		var halt topdown.Halt
		if errors.As(err, &halt) {
			return s.fail(halt.Err)
		}
		return stop
	}
	if s.out == nil {
		return stop
	}
	frame[st.Result] = s.out
	return held
}

// tick counts a call or an iteration and reports whether the evaluation
// must stop: its context ended (s.err says so).
func (s *state) tick() bool {
	if s.err != nil {
		return true
	}
	s.ticks++
	if s.ticks%checkEvery == 0 && s.ctx != nil {
		if err := s.ctx.Err(); err != nil {
			s.err = err
			return true
		}
	}
	return false
}

// fail records err; every enclosing block is left.
func (s *state) fail(err error) int {
	if s.err == nil {
		s.err = err
	}
	return 1 << 30
}

// value reads an operand: a local, a string constant or a boolean.
func (s *state) value(frame []*ast.Term, op ir.Operand) *ast.Term {
	switch v := op.Value.(type) {
	case ir.Local:
		return frame[v]
	case ir.StringIndex:
		return s.p.strings[v]
	case ir.Bool:
		return ast.InternedTerm(bool(v))
	}
	return nil
}

func holds(ok bool) int {
	if ok {
		return held
	}
	return stop
}

// termValue returns the value of t if it is a V.
func termValue[V ast.Value](t *ast.Term) (V, bool) {
	if t == nil {
		var zero V
		return zero, false
	}
	v, ok := t.Value.(V)
	return v, ok
}

// dot looks key up in src: an object's value, an array's element, a set's
// member; nil when there is none.
func dot(src, key *ast.Term) *ast.Term {
	switch v := src.Value.(type) {
	case ast.Object:
		return v.Get(key)
	case *ast.Array:
		if n, ok := key.Value.(ast.Number); ok {
			if i, ok := n.Int(); ok && i >= 0 && i < v.Len() {
				return v.Elem(i)
			}
		}
	case ast.Set:
		if v.Contains(key) {
			return key
		}
	}
	return nil
}

// length is the number of elements of a collection or characters of a
// string.
func length(v ast.Value) (int, bool) {
	switch v := v.(type) {
	case *ast.Array:
		return v.Len(), true
	case ast.Object:
		return v.Len(), true
	case ast.Set:
		return v.Len(), true
	case ast.String:
		return utf8.RuneCountInString(string(v)), true
	}
	return 0, false
}
