// Package webhook delivers gatehouse events to HTTP receivers, at least
// once, in order (SPEC R42).
//
// Events are written by the same commit as the change they announce, so the
// store's event log is the outbox: a Deliverer reads it after a cursor per
// URL, POSTs each event as JSON and moves the cursor past an event only once
// the receiver answered 2xx. A failed attempt is retried, with exponential
// backoff and jitter, until it succeeds: no event is ever skipped, and one
// may be delivered twice (after a crash between the 2xx and the cursor
// write), so receivers deduplicate by the X-Gatehouse-Delivery header, the
// event id.
//
// Every gatehouse replica runs a Deliverer; per URL a lease in the store
// (engine.WorkerStore) lets one replica at a time deliver, and the cursor in
// the store lets whichever replica holds the lease next resume where the
// last one stopped. The holder renews its lease before every attempt that
// could outlive a third of its ttl, and bounds each attempt to that third,
// so two replicas never post to one URL at the same time.
//
// Each request carries:
//
//	Content-Type: application/json
//	X-Gatehouse-Event: <event type>
//	X-Gatehouse-Delivery: <event id>
//	X-Gatehouse-Signature: sha256=<hex HMAC-SHA256 of the body with the shared secret>
//
// Receivers check the signature with Verify.
package webhook
