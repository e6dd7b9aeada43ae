package redis

import (
	"context"
	"fmt"

	"github.com/gatehouse/gatehouse/engine"
)

// Idempotency returns the record Commit kept for actor's key under account
// home, or an error wrapping engine.ErrNotFound when there is none (never
// kept, or expired: Redis drops it after its retention).
func (s *Store) Idempotency(ctx context.Context, home, actor, key string) (engine.IdempotencyRecord, error) {
	op := fmt.Sprintf("idempotency record under %q", home)
	rec, err := s.readIdempotency(ctx, op, s.keys.idempotency(home, actor, key))
	if err != nil {
		return engine.IdempotencyRecord{}, err
	}
	if rec.Actor != actor || rec.Key != key {
		return engine.IdempotencyRecord{}, fmt.Errorf("redis: %s: %w", op, engine.ErrNotFound)
	}
	return rec, nil
}

// readIdempotency reads the record at key; with WithMinReplicasAck, a
// record found is returned only once the replicas acknowledged it
// (durableIdempotency). A missing one is answered at once: there is
// nothing to replay, and the command's own commit waits for the replicas,
// so a write with a key does not wait for them twice (with the default
// timeouts, the second wait would use up the write's time and hide why
// it failed).
func (s *Store) readIdempotency(ctx context.Context, op, key string) (engine.IdempotencyRecord, error) {
	rec, err := required[engine.IdempotencyRecord](op, s.client.Get(ctx, key))
	if err != nil || s.durability.replicas == 0 {
		return rec, err
	}
	data, err := s.durableIdempotency(ctx, op, key)
	if err != nil {
		return engine.IdempotencyRecord{}, err
	}
	return decode[engine.IdempotencyRecord](op, data)
}
