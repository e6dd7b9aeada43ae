// Package engine is gatehouse's domain core: the types (User, Account,
// Membership, AccessRequest, Decision), the Store port it consumes, its
// sentinel errors, the OPA evaluator and the commands that ask the policy
// before they commit.
//
// A Policy is compiled once per revision and swapped atomically; every
// decision reads one Snapshot from the Store and evaluates the prepared
// decision query against it. The engine knows nothing of HTTP, Gin or
// Redis: adapters plug in through Store, and policies arrive as files.
package engine
