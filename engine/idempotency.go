package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultIdempotencyRetention is how long the answer to a command sent with
// an Idempotency-Key is kept for its retries, unless WithIdempotencyRetention
// says otherwise.
const DefaultIdempotencyRetention = 24 * time.Hour

// WithIdempotencyRetention sets how long the answer to a command sent with
// an idempotency key is kept (DefaultIdempotencyRetention when d <= 0): a
// retry within that time is answered from it, a later one is decided again.
func WithIdempotencyRetention(d time.Duration) Option {
	return func(e *Engine) {
		if d > 0 {
			e.idempotencyRetention = d
		}
	}
}

// Idempotency is a client's name for one attempt of a write: the HTTP
// Idempotency-Key, with a fingerprint of the request it came with. A
// command run with it in its context (WithIdempotency) keeps its answer,
// in the same atomic commit as its change (R40), under its actor and Key:
//
//   - a retry with the same key and fingerprint changes nothing and gets
//     the first answer (Result reports replayed);
//   - the same key with another fingerprint is an error wrapping
//     ErrKeyReused;
//   - a command refused (forbidden, not found, conflict, invalid) keeps
//     nothing: its retry is decided again.
//
// An Idempotency serves one call; it is not safe for concurrent use.
type Idempotency struct {
	// Key is the client's key; Fingerprint identifies the request.
	Key         string
	Fingerprint string
	// Answer turns the command's result into the answer kept: the value
	// its method returns first (AccessRequest, []AccessRequest, Membership),
	// a Put for PutUser and PutAccount, nil for RemoveMember.
	Answer func(result any) ([]byte, error)

	answer   []byte
	replayed bool
}

// Put is the result of a command that creates or replaces a record.
type Put[T any] struct {
	Value   T
	Created bool
}

// Result returns the answer of the command: the one committed with its
// change, or, when replayed, the first one, kept from an earlier call. Both
// are nil until the command succeeded. On a replay the command's own
// results are zero values.
func (i *Idempotency) Result() (answer []byte, replayed bool) {
	return i.answer, i.replayed
}

type idempotencyKey struct{}

// WithIdempotency returns ctx carrying i, for the command run with it.
func WithIdempotency(ctx context.Context, i *Idempotency) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, i)
}

// idempotencyFrom returns the Idempotency in ctx, nil when none.
func idempotencyFrom(ctx context.Context) *Idempotency {
	i, _ := ctx.Value(idempotencyKey{}).(*Idempotency)
	if i == nil || i.Key == "" || i.Answer == nil {
		return nil
	}
	return i
}

// replay looks up the record of actor's key under home: done is true when
// it answered the command (replayed, or refused for another request).
func (e *Engine) replay(ctx context.Context, i *Idempotency, home, actor string) (done bool, err error) {
	rec, err := e.store.Idempotency(ctx, home, actor, i.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	case rec.Fingerprint != i.Fingerprint:
		return true, &Error{Kind: ErrKeyReused, Message: fmt.Sprintf(
			"the key was used at %s by this caller for another request on this account (another method, path or body); use a new key for a new request",
			rec.CreatedAt.UTC().Format(time.RFC3339))}
	}
	i.answer, i.replayed = rec.Answer, true
	return true, nil
}
