// Package policies holds gatehouse's built-in Rego policies and their data,
// embedded in the binary as the default policy bundle.
//
// The policies decide every question gatehouse answers: data.gatehouse.decision.result
// for POST /v1/decisions (SPEC R1-R7, R39), and the admission packages for
// every write. data.json provides data.gatehouse.config, the role
// hierarchies, actions, privilege levels and limits a security team edits in
// one place. POLICIES.md at the repository root describes the input, the
// results and how to change a role or a limit.
//
// The Rego unit tests (*_test.rego) are embedded too; the engine's loader
// skips them when it evaluates, and this package's Go tests run them.
package policies
