// Package client is the Go client of the gatehouse HTTP API (docs/API.md):
// what an application imports to ask decisions, and what tools use to
// manage access requests, members, the audit trail, events and policies.
//
// It imports the standard library only, never gatehouse's engine or
// adapters, so that an application takes in nothing of the server. Each
// call takes a context.Context, sends the API's JSON and decodes the
// answer into this package's own types; an error answer of the API comes
// back as a *Error carrying its status, code, message and violations.
//
// Retries (WithRetries) are made only where they are safe: reads and
// decisions, which change nothing, on a network error or a 502, 503 or 504;
// and writes carrying an Idempotency-Key (IdempotencyKey, or one generated
// per call with WithAutoIdempotency), which the server applies at most once
// (R40). A write without a key is never retried, and a 503 outcome_unknown
// is never retried without one.
package client
