package redis

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

// leaseScript takes the lease when it is free or already the holder's,
// setting its expiry either way. KEYS: lease key. ARGV: holder, ttl in
// milliseconds. Returns 1 when holder has the lease, 0 otherwise.
var leaseScript = redis.NewScript(`
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then
	return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// AcquireLease takes or renews the named lease for holder for ttl, rounded
// down to the millisecond. Redis expires the key, so a lease whose holder
// died frees itself after ttl.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	switch {
	case name == "":
		return false, engine.Invalid("name", "is empty")
	case holder == "":
		return false, engine.Invalid("holder", "is empty")
	case ttl < time.Millisecond:
		return false, engine.Invalid("ttl", "must be at least a millisecond, not %s", ttl)
	}
	ctx, cancel := s.writing(ctx)
	defer cancel()
	held, err := leaseScript.Run(ctx, s.client, []string{s.keys.lease(name)}, holder, ttl.Milliseconds()).Int()
	if err != nil {
		return false, wrap("acquire lease", err)
	}
	return held == 1, nil
}

// GetCursor returns the named cursor, "" when it was never set.
func (s *Store) GetCursor(ctx context.Context, name string) (string, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	cursor, err := s.client.Get(ctx, s.keys.cursor(name)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", wrap("get cursor", err)
	}
	return cursor, nil
}

// SetCursor stores the named cursor.
func (s *Store) SetCursor(ctx context.Context, name, cursor string) error {
	if name == "" {
		return engine.Invalid("name", "is empty")
	}
	ctx, cancel := s.writing(ctx)
	defer cancel()
	return wrap("set cursor", s.client.Set(ctx, s.keys.cursor(name), cursor, 0).Err())
}
