// Package httpapi is gatehouse's HTTP API on Gin (API.md): decisions for
// applications, the directory, members, access requests, audit and events
// for people, and the operational endpoints /health, /ready and /metrics.
//
// Handlers are thin: they decode the request into an API type of this
// package, call one engine method and render the answer. Engine errors are
// mapped to a status and an error body in exactly one function (errors.go);
// an unknown error is a 500 whose detail goes to the log only.
//
// The decision endpoints (POST /v1/decisions, /v1/decisions/batch and the
// Data API /v1/data/...) take no token: the calling application names the
// subject. Every other /v1 endpoint needs a signed JWT (R43) checked by a
// Verifier; its sub claim is the actor. /v1/openapi.yaml, /health, /ready
// and /metrics are public.
//
// The Data API (data.go) answers in OPA's shapes and only on the decision's
// documented entry points; each query is a decision made by the engine on
// the store, never on records the caller sends.
//
// Every body is size-limited and decoded strictly: unknown fields, wrong
// types, bad ids and bad times are 400 errors naming the field, never a
// 500 or a panic (R44).
package httpapi
