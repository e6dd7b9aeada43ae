package planeval

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Locals of the hand-written plans below; 0 and 1 are input and data.
const (
	l2 ir.Local = iota + 2
	l3
	l4
	l5
)

// Indexes of testStrings.
const (
	sA ir.StringIndex = iota
	sB
	sKey
	sNumber
)

var testStrings = []string{"a", "b", "key", "12.5"}

func loc(l ir.Local) ir.Operand        { return ir.Operand{Value: l} }
func str(s ir.StringIndex) ir.Operand  { return ir.Operand{Value: s} }
func boolean(b bool) ir.Operand        { return ir.Operand{Value: ir.Bool(b)} }
func block(stmts ...ir.Stmt) *ir.Block { return &ir.Block{Stmts: stmts} }

// result adds local l to the result set.
func result(l ir.Local) ir.Stmt { return &ir.ResultSetAddStmt{Value: l} }

// policy is a plan named "p" of blocks, with funcs.
func policy(funcs []*ir.Func, blocks ...*ir.Block) *ir.Policy {
	static := &ir.Static{}
	for _, s := range testStrings {
		static.Strings = append(static.Strings, &ir.StringConst{Value: s})
	}
	return &ir.Policy{
		Static: static,
		Plans:  &ir.Plans{Plans: []*ir.Plan{{Name: "p", Blocks: blocks}}},
		Funcs:  &ir.Funcs{Funcs: funcs},
	}
}

// run compiles and evaluates the plan with input.
func run(t *testing.T, input string, funcs []*ir.Func, blocks ...*ir.Block) ([]*ast.Term, error) {
	t.Helper()
	p, err := Compile(policy(funcs, blocks...), "p", Options{})
	require.NoError(t, err)
	var in *ast.Term
	if input != "" {
		in = ast.MustParseTerm(input)
	}
	return p.Eval(context.Background(), in, ast.MustParseTerm(`{"d": 1}`))
}

// TestStatements: each statement kind of the IR, run alone or in the
// smallest plan that shows what it does; want is the result set (empty:
// the plan's block stopped before adding to it).
func TestStatements(t *testing.T) {
	cases := []struct {
		name  string
		input string
		stmts []ir.Stmt
		want  []string
	}{
		{"AssignVar of a string", "", []ir.Stmt{&ir.AssignVarStmt{Source: str(sA), Target: l2}, result(l2)}, []string{`"a"`}},
		{"AssignVar of a boolean", "", []ir.Stmt{&ir.AssignVarStmt{Source: boolean(true), Target: l2}, result(l2)}, []string{`true`}},
		{"Dot on an object", `{"a": 1}`, []ir.Stmt{&ir.DotStmt{Source: loc(ir.Input), Key: str(sA), Target: l2}, result(l2)}, []string{`1`}},
		{"Dot of a missing key stops", `{"b": 1}`, []ir.Stmt{&ir.DotStmt{Source: loc(ir.Input), Key: str(sA), Target: l2}, result(l2)}, nil},
		{"Dot on an array", `[10, 20]`, []ir.Stmt{&ir.MakeNumberIntStmt{Value: 1, Target: l3}, &ir.DotStmt{Source: loc(ir.Input), Key: loc(l3), Target: l2}, result(l2)}, []string{`20`}},
		{"Dot out of an array stops", `[10]`, []ir.Stmt{&ir.MakeNumberIntStmt{Value: 1, Target: l3}, &ir.DotStmt{Source: loc(ir.Input), Key: loc(l3), Target: l2}, result(l2)}, nil},
		{"Dot on a set", `{"a"}`, []ir.Stmt{&ir.DotStmt{Source: loc(ir.Input), Key: str(sA), Target: l2}, result(l2)}, []string{`"a"`}},
		{"Dot on a string stops", `"a"`, []ir.Stmt{&ir.DotStmt{Source: loc(ir.Input), Key: str(sA), Target: l2}, result(l2)}, nil},
		{"Dot into its own source", `{"a": {"b": 2}}`, []ir.Stmt{&ir.DotStmt{Source: loc(ir.Input), Key: str(sA), Target: l2}, &ir.DotStmt{Source: loc(l2), Key: str(sB), Target: l2}, result(l2)}, []string{`2`}},
		{"Dot on data", "", []ir.Stmt{&ir.DotStmt{Source: loc(ir.Data), Key: ir.Operand{Value: ir.StringIndex(0)}, Target: l2}, result(l2)}, nil},
		{"Dot on undefined input stops", "", []ir.Stmt{&ir.DotStmt{Source: loc(ir.Input), Key: str(sA), Target: l2}, result(l2)}, nil},
		{"Equal holds", "", []ir.Stmt{&ir.EqualStmt{A: str(sA), B: str(sA)}, &ir.AssignVarStmt{Source: boolean(true), Target: l2}, result(l2)}, []string{`true`}},
		{"Equal stops", "", []ir.Stmt{&ir.EqualStmt{A: str(sA), B: str(sB)}, &ir.AssignVarStmt{Source: boolean(true), Target: l2}, result(l2)}, nil},
		{"NotEqual holds", "", []ir.Stmt{&ir.NotEqualStmt{A: str(sA), B: str(sB)}, &ir.AssignVarStmt{Source: boolean(true), Target: l2}, result(l2)}, []string{`true`}},
		{"NotEqual stops", "", []ir.Stmt{&ir.NotEqualStmt{A: boolean(false), B: boolean(false)}, &ir.AssignVarStmt{Source: boolean(true), Target: l2}, result(l2)}, nil},
		{"IsDefined holds", "", []ir.Stmt{&ir.AssignVarStmt{Source: str(sA), Target: l2}, &ir.IsDefinedStmt{Source: l2}, result(l2)}, []string{`"a"`}},
		{"IsDefined stops", "", []ir.Stmt{&ir.IsDefinedStmt{Source: l2}, &ir.AssignVarStmt{Source: str(sA), Target: l2}, result(l2)}, nil},
		{"IsUndefined holds", "", []ir.Stmt{&ir.IsUndefinedStmt{Source: l3}, &ir.AssignVarStmt{Source: str(sA), Target: l2}, result(l2)}, []string{`"a"`}},
		{"ResetLocal makes undefined", "", []ir.Stmt{&ir.AssignVarStmt{Source: str(sA), Target: l2}, &ir.ResetLocalStmt{Target: l2}, &ir.IsUndefinedStmt{Source: l2}, &ir.AssignVarStmt{Source: str(sB), Target: l2}, result(l2)}, []string{`"b"`}},
		{"MakeNull", "", []ir.Stmt{&ir.MakeNullStmt{Target: l2}, result(l2)}, []string{`null`}},
		{"MakeNumberInt", "", []ir.Stmt{&ir.MakeNumberIntStmt{Value: 7, Target: l2}, result(l2)}, []string{`7`}},
		{"AssignInt", "", []ir.Stmt{&ir.AssignIntStmt{Value: 3, Target: l2}, result(l2)}, []string{`3`}},
		{"MakeNumberRef", "", []ir.Stmt{&ir.MakeNumberRefStmt{Index: int(sNumber), Target: l2}, result(l2)}, []string{`12.5`}},
		{"MakeArray and ArrayAppend", "", []ir.Stmt{&ir.MakeArrayStmt{Capacity: 2, Target: l2}, &ir.ArrayAppendStmt{Value: str(sA), Array: l2}, &ir.ArrayAppendStmt{Value: str(sB), Array: l2}, result(l2)}, []string{`["a", "b"]`}},
		{"MakeObject and ObjectInsert", "", []ir.Stmt{&ir.MakeObjectStmt{Target: l2}, &ir.ObjectInsertStmt{Key: str(sA), Value: str(sB), Object: l2}, &ir.ObjectInsertStmt{Key: str(sA), Value: str(sA), Object: l2}, result(l2)}, []string{`{"a": "a"}`}},
		{"ObjectInsertOnce of the same value", "", []ir.Stmt{&ir.MakeObjectStmt{Target: l2}, &ir.ObjectInsertOnceStmt{Key: str(sA), Value: str(sB), Object: l2}, &ir.ObjectInsertOnceStmt{Key: str(sA), Value: str(sB), Object: l2}, result(l2)}, []string{`{"a": "b"}`}},
		{"MakeSet and SetAdd", "", []ir.Stmt{&ir.MakeSetStmt{Target: l2}, &ir.SetAddStmt{Value: str(sA), Set: l2}, &ir.SetAddStmt{Value: str(sA), Set: l2}, result(l2)}, []string{`{"a"}`}},
		{"Len of an array", `[1, 2, 3]`, []ir.Stmt{&ir.LenStmt{Source: loc(ir.Input), Target: l2}, result(l2)}, []string{`3`}},
		{"Len of a string counts characters", `"héé"`, []ir.Stmt{&ir.LenStmt{Source: loc(ir.Input), Target: l2}, result(l2)}, []string{`3`}},
		{"Len of a number stops", `1`, []ir.Stmt{&ir.LenStmt{Source: loc(ir.Input), Target: l2}, result(l2)}, nil},
		{"IsArray", `[1]`, []ir.Stmt{&ir.IsArrayStmt{Source: loc(ir.Input)}, result(ir.Input)}, []string{`[1]`}},
		{"IsArray stops", `{"a": 1}`, []ir.Stmt{&ir.IsArrayStmt{Source: loc(ir.Input)}, result(ir.Input)}, nil},
		{"IsObject", `{"a": 1}`, []ir.Stmt{&ir.IsObjectStmt{Source: loc(ir.Input)}, result(ir.Input)}, []string{`{"a": 1}`}},
		{"IsSet", `{"a"}`, []ir.Stmt{&ir.IsSetStmt{Source: loc(ir.Input)}, result(ir.Input)}, []string{`{"a"}`}},
		{"IsSet stops", `["a"]`, []ir.Stmt{&ir.IsSetStmt{Source: loc(ir.Input)}, result(ir.Input)}, nil},
		{"AssignVarOnce of the same value", "", []ir.Stmt{&ir.AssignVarOnceStmt{Source: str(sA), Target: l2}, &ir.AssignVarOnceStmt{Source: str(sA), Target: l2}, result(l2)}, []string{`"a"`}},
		{"Nop", "", []ir.Stmt{&ir.NopStmt{}, &ir.AssignVarStmt{Source: str(sA), Target: l2}, result(l2)}, []string{`"a"`}},
		{"ResultSetAdd keeps distinct values", "", []ir.Stmt{&ir.AssignVarStmt{Source: str(sA), Target: l2}, result(l2), result(l2), &ir.AssignVarStmt{Source: str(sB), Target: l2}, result(l2)}, []string{`"a"`, `"b"`}},
		{"ResultSetAdd of undefined adds nothing", "", []ir.Stmt{result(l2)}, nil},
		{"Call of a built-in that fails stops (as topdown)", `1`, []ir.Stmt{&ir.CallStmt{Func: "count", Args: []ir.Operand{loc(ir.Input)}, Result: l2}, result(l2)}, nil},
		{"Call of a built-in that answers false binds false", `1`, []ir.Stmt{&ir.CallStmt{Func: "is_string", Args: []ir.Operand{loc(ir.Input)}, Result: l2}, result(l2)}, []string{`false`}},
		{"Call of a built-in with an undefined argument stops", "", []ir.Stmt{&ir.CallStmt{Func: "count", Args: []ir.Operand{loc(ir.Input)}, Result: l2}, result(l2)}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := run(t, tc.input, nil, block(tc.stmts...))
			require.NoError(t, err)
			assertResults(t, tc.want, rs)
		})
	}
}

func assertResults(t *testing.T, want []string, got []*ast.Term) {
	t.Helper()
	wantTerms := make([]*ast.Term, len(want))
	for i, w := range want {
		wantTerms[i] = ast.MustParseTerm(w)
	}
	require.Len(t, got, len(want), "results %v", got)
	for i := range want {
		assert.True(t, wantTerms[i].Equal(got[i]), "result %d: want %v, got %v", i, wantTerms[i], got[i])
	}
}

// TestBuiltinCall: a built-in is OPA's implementation; its value is bound.
func TestBuiltinCall(t *testing.T) {
	rs, err := run(t, `["x", "y"]`, nil, block(
		&ir.CallStmt{Func: "concat", Args: []ir.Operand{str(sB), loc(ir.Input)}, Result: l2},
		result(l2),
	))
	require.NoError(t, err)
	assertResults(t, []string{`"xby"`}, rs)
}

// TestConflicts: a complete rule or an object key given two values is an
// error, as topdown's eval_conflict_error.
func TestConflicts(t *testing.T) {
	for name, stmts := range map[string][]ir.Stmt{
		"AssignVarOnce": {&ir.AssignVarOnceStmt{Source: str(sA), Target: l2}, &ir.AssignVarOnceStmt{Source: str(sB), Target: l2}},
		"ObjectInsertOnce": {
			&ir.MakeObjectStmt{Target: l2},
			&ir.ObjectInsertOnceStmt{Key: str(sA), Value: str(sA), Object: l2},
			&ir.ObjectInsertOnceStmt{Key: str(sA), Value: str(sB), Object: l2},
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := run(t, "", nil, block(stmts...))
			require.ErrorIs(t, err, ErrConflict)
		})
	}
}

// TestBlocksAndBreaks: a statement that does not hold ends its block only;
// BreakStmt{Index: n} leaves its block and n enclosing ones; the blocks of
// a BlockStmt run in turn; NotStmt holds when its block stops.
func TestBlocksAndBreaks(t *testing.T) {
	set := func(l ir.Local, s ir.StringIndex) ir.Stmt { return &ir.AssignVarStmt{Source: str(s), Target: l} }
	cases := []struct {
		name  string
		stmts []ir.Stmt
		want  []string
	}{
		{"an undefined statement ends its block only", []ir.Stmt{
			&ir.BlockStmt{Blocks: []*ir.Block{block(&ir.IsDefinedStmt{Source: l3}, set(l2, sB)), block(set(l4, sA))}},
			&ir.IsUndefinedStmt{Source: l2}, result(l4),
		}, []string{`"a"`}},
		{"break 0 leaves its block", []ir.Stmt{
			&ir.BlockStmt{Blocks: []*ir.Block{block(&ir.BreakStmt{Index: 0}, set(l2, sB))}},
			set(l2, sA), result(l2),
		}, []string{`"a"`}},
		{"break 1 leaves the enclosing block", []ir.Stmt{
			&ir.BlockStmt{Blocks: []*ir.Block{block(
				&ir.BlockStmt{Blocks: []*ir.Block{block(set(l2, sA), &ir.BreakStmt{Index: 1})}},
				set(l2, sB),
			)}},
			result(l2),
		}, []string{`"a"`}},
		{"break 1 skips the other blocks of the enclosing BlockStmt's block", []ir.Stmt{
			&ir.BlockStmt{Blocks: []*ir.Block{block(
				&ir.BlockStmt{Blocks: []*ir.Block{block(&ir.BreakStmt{Index: 1}), block(set(l2, sB))}},
				set(l2, sB),
			)}},
			set(l3, sA), result(l3), result(l2),
		}, []string{`"a"`}},
		{"break 2 leaves the plan's block", []ir.Stmt{
			&ir.BlockStmt{Blocks: []*ir.Block{block(&ir.BlockStmt{Blocks: []*ir.Block{block(&ir.BreakStmt{Index: 2})}})}},
			set(l2, sA), result(l2),
		}, nil},
		{"not holds when its block stops", []ir.Stmt{
			&ir.NotStmt{Block: block(&ir.EqualStmt{A: str(sA), B: str(sB)})},
			set(l2, sA), result(l2),
		}, []string{`"a"`}},
		{"not stops when its block holds", []ir.Stmt{
			&ir.NotStmt{Block: block(&ir.EqualStmt{A: str(sA), B: str(sA)})},
			set(l2, sA), result(l2),
		}, nil},
		{"break 1 in a not leaves the enclosing block", []ir.Stmt{
			&ir.BlockStmt{Blocks: []*ir.Block{block(&ir.NotStmt{Block: block(&ir.BreakStmt{Index: 1})}, set(l2, sB))}},
			set(l3, sA), result(l3), result(l2),
		}, []string{`"a"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := run(t, "", nil, block(tc.stmts...))
			require.NoError(t, err)
			assertResults(t, tc.want, rs)
		})
	}
}

// TestScan: the body runs once per element (keys and values bound, objects
// and sets in sorted order); an undefined statement goes on with the next
// element; break 1 ends the scan; break 2 leaves the block of the scan.
func TestScan(t *testing.T) {
	collect := func(input string, body ...ir.Stmt) []*ast.Term {
		t.Helper()
		stmts := append([]ir.Stmt{&ir.ArrayAppendStmt{Value: loc(l3), Array: l2}}, body...)
		rs, err := run(t, input, nil, block(
			&ir.MakeArrayStmt{Target: l2},
			&ir.ScanStmt{Source: ir.Input, Key: l3, Value: l4, Block: block(stmts...)},
			result(l2),
		))
		require.NoError(t, err)
		return rs
	}
	assertResults(t, []string{`[0, 1, 2]`}, collect(`["x", "y", "z"]`))
	assertResults(t, []string{`["a", "b"]`}, collect(`{"b": 2, "a": 1}`))
	assertResults(t, []string{`["a", "b"]`}, collect(`{"b", "a"}`))
	assertResults(t, []string{`[]`}, collect(`"not a collection"`))
	assertResults(t, []string{`[0, 1]`}, collect(`[1, 2, 3]`, &ir.EqualStmt{A: loc(l4), B: loc(l4)}, &ir.MakeNumberIntStmt{Value: 2, Target: l5}, &ir.EqualStmt{A: loc(l4), B: loc(l5)}, &ir.BreakStmt{Index: 1}))
	assertResults(t, []string{`[0, 1, 2]`}, collect(`[1, 2, 3]`, &ir.IsDefinedStmt{Source: l5}))
	assertResults(t, nil, collect(`[1, 2, 3]`, &ir.BreakStmt{Index: 2}))
}

// TestFunctions: a function's value is its return local; undefined stops
// the caller's block; a function of input and data alone given as a
// constant is not run.
func TestFunctions(t *testing.T) {
	f := &ir.Func{
		Name: "g0.data.x.f", Params: []ir.Local{0, 1}, Return: l2, Path: []string{"g0", "x", "f"},
		Blocks: []*ir.Block{
			block(&ir.DotStmt{Source: loc(ir.Input), Key: str(sA), Target: l3}, &ir.AssignVarOnceStmt{Source: loc(l3), Target: l2}),
			block(&ir.ReturnLocalStmt{Source: l2}),
		},
	}
	g := &ir.Func{
		Name: "g0.data.x.g", Params: []ir.Local{0, 1, l2}, Return: l3, Path: []string{"g0", "x", "g"},
		Blocks: []*ir.Block{
			block(&ir.CallStmt{Func: "concat", Args: []ir.Operand{str(sB), loc(l2)}, Result: l4}, &ir.AssignVarOnceStmt{Source: loc(l4), Target: l3}),
			block(&ir.ReturnLocalStmt{Source: l3}),
		},
	}
	plan := block(
		&ir.CallStmt{Func: f.Name, Args: []ir.Operand{loc(ir.Input), loc(ir.Data)}, Result: l2},
		&ir.CallStmt{Func: f.Name, Args: []ir.Operand{loc(ir.Input), loc(ir.Data)}, Result: l3},
		&ir.CallStmt{Func: g.Name, Args: []ir.Operand{loc(ir.Input), loc(ir.Data), loc(l2)}, Result: l4},
		result(l4),
	)
	rs, err := run(t, `{"a": ["x", "y"]}`, []*ir.Func{f, g}, plan)
	require.NoError(t, err)
	assertResults(t, []string{`"xby"`}, rs)

	rs, err = run(t, `{}`, []*ir.Func{f, g}, plan)
	require.NoError(t, err)
	assertResults(t, nil, rs)

	p, err := Compile(policy([]*ir.Func{f, g}, plan), "p", Options{Constants: map[string]*ast.Term{f.Name: ast.MustParseTerm(`["c"]`)}})
	require.NoError(t, err)
	rs, err = p.Eval(context.Background(), ast.MustParseTerm(`{}`), nil)
	require.NoError(t, err)
	assertResults(t, []string{`"c"`}, rs)

	_, err = Compile(policy([]*ir.Func{f, g}, plan), "p", Options{Constants: map[string]*ast.Term{g.Name: ast.StringTerm("c")}})
	require.ErrorContains(t, err, "takes arguments")
}

// TestCompileRefuses: what Eval cannot run is refused when the plan is
// compiled, naming it.
func TestCompileRefuses(t *testing.T) {
	cases := map[string]struct {
		stmt ir.Stmt
		want string
	}{
		"with":                       {&ir.WithStmt{Local: ir.Input, Value: str(sA), Block: block()}, "WithStmt is not supported"},
		"a dynamic call":             {&ir.CallDynamicStmt{Args: []ir.Local{0, 1}, Result: l2}, "CallDynamicStmt is not supported"},
		"an object merge":            {&ir.ObjectMergeStmt{A: l2, B: l3, Target: l4}, "ObjectMergeStmt is not supported"},
		"an unknown function":        {&ir.CallStmt{Func: "no.such", Result: l2}, "no.such: no such function or built-in"},
		"a nondeterministic builtin": {&ir.CallStmt{Func: "time.now_ns", Result: l2}, "nondeterministic"},
		"a relation":                 {&ir.CallStmt{Func: "walk", Args: []ir.Operand{loc(ir.Input)}, Result: l2}, "relations"},
		"a wrong number of args":     {&ir.CallStmt{Func: "count", Result: l2}, "with 0 arguments, not 1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Compile(policy(nil, block(tc.stmt)), "p", Options{})
			require.ErrorContains(t, err, tc.want)
		})
	}
	_, err := Compile(policy(nil, block()), "q", Options{})
	require.ErrorContains(t, err, `no plan named "q"`)
}

// TestEvalStopsWhenContextEnds: a cancelled evaluation returns the
// context's error rather than a value.
func TestEvalStopsWhenContextEnds(t *testing.T) {
	p, err := Compile(policy(nil, block(
		&ir.MakeArrayStmt{Target: l2},
		&ir.ScanStmt{Source: ir.Input, Key: l3, Value: l4, Block: block(&ir.ArrayAppendStmt{Value: loc(l4), Array: l2})},
		result(l2),
	)), "p", Options{})
	require.NoError(t, err)
	elems := make([]*ast.Term, 10*checkEvery)
	for i := range elems {
		elems[i] = ast.InternedTerm(i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = p.Eval(ctx, ast.ArrayTerm(elems...), nil)
	require.ErrorIs(t, err, context.Canceled)
}

// TestDecodedPlan: a plan read from JSON (as `opa build -t plan` writes it)
// runs like the one built in memory.
func TestDecodedPlan(t *testing.T) {
	raw := []byte(`{"static": {"strings": [{"value": "a"}]},
		"plans": {"plans": [{"name": "p", "blocks": [{"stmts": [
			{"type": "DotStmt", "stmt": {"source": {"type": "local", "value": 0}, "key": {"type": "string_index", "value": 0}, "target": 2}},
			{"type": "ResultSetAddStmt", "stmt": {"value": 2}}]}]}]},
		"funcs": {"funcs": []}}`)
	decoded, err := Decode(raw)
	require.NoError(t, err)
	p, err := Compile(decoded, "p", Options{})
	require.NoError(t, err)
	rs, err := p.Eval(context.Background(), ast.MustParseTerm(`{"a": 5}`), nil)
	require.NoError(t, err)
	assertResults(t, []string{`5`}, rs)
}
