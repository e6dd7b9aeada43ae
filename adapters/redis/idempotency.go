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
	rec, err := required[engine.IdempotencyRecord](op, s.client.Get(ctx, s.keys.idempotency(home, actor, key)))
	if err != nil {
		return engine.IdempotencyRecord{}, err
	}
	if rec.Actor != actor || rec.Key != key {
		return engine.IdempotencyRecord{}, fmt.Errorf("redis: %s: %w", op, engine.ErrNotFound)
	}
	return rec, nil
}
