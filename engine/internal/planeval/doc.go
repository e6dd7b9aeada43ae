// Package planeval evaluates a policy's compiled plan: the intermediate
// representation (package github.com/open-policy-agent/opa/v1/ir) that OPA's
// planner makes of Rego, as `opa build -t plan` writes it. A plan is a
// small imperative program (blocks of statements, functions for rules,
// calls of built-in functions); running it answers the same question as
// topdown, OPA's tree-walking evaluator, with far less machinery per
// expression: no unification, no bindings, no rule index.
//
// Compile checks a plan once, when a policy revision is loaded: every
// statement kind, every function and every built-in it calls must be one
// this package executes, else Compile returns an error naming it and the
// caller keeps evaluating that revision with topdown. Eval then runs the
// plan for one input with no compilation and few allocations.
//
// Values are OPA's own (*ast.Term), so input and data are read as they are,
// and built-in functions are OPA's implementations, called through
// topdown.GetBuiltin: nothing of the language is re-implemented here but
// the statements of the plan.
//
// The semantics follow OPA's own executors of the same plans (its Wasm
// compiler, internal/compiler/wasm): a statement that does not hold ends
// the block it is in; BreakStmt{Index: n} leaves its block and n enclosing
// ones; the body of a ScanStmt runs once per element and counts as one
// enclosing block besides; a rule without arguments is evaluated at most
// once per evaluation (memoized); an error of a built-in function makes
// its call undefined, as topdown does when built-in errors are not strict.
package planeval
