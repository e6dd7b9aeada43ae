package redis

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

// Snapshot returns what one decision about subject acting on account
// needs: the subject's user, the account, the subject's membership and
// tenant grants on it, the tenant's exclusivity flag and the subject's
// membership in the account's partner.
//
// With the client-side cache (WithClientSideCache) they are read through
// it, bracketed by two reads of the account's version and read again when
// it moved, so that they are of one version of the account; a warm cache
// answers without a round trip. Freshness without a consistency token: an
// entry is dropped when Redis's invalidation reaches the tracking
// connection, which go-redis reads at its next command or within a
// millisecond when idle; so a decision may be answered from state older
// than a commit by about one network delay plus a millisecond after
// Redis applied it, and never from an entry older than CacheMaxStaleness.
// When the tracking connection is lost the cache is dropped. A commit
// through this store is seen by its next Snapshot: Commit returns once the
// tracking connection has delivered the commit's invalidations. Without the
// cache, Snapshot reads Redis in one round trip (two with a partner).
func (s *Store) Snapshot(ctx context.Context, subject, account string) (engine.Snapshot, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	if s.cache != nil {
		snap, ok, err := s.cache.snapshot(ctx, s.keys, subject, account, nil)
		if err != nil || ok {
			return snap, err
		}
	}
	return s.readSnapshot(ctx, subject, account)
}

// SnapshotAtLeast is Snapshot on state at least as fresh as atLeast. The
// cache answers when it holds every account of atLeast at its version or
// past it: its one tracking connection delivered every invalidation Redis
// sent before the reply that brought those versions, so no entry is older
// than the writes the token names. Otherwise, and when atLeast names no
// account, Redis is read around the cache: the versions of atLeast first,
// then the records, so that they are at least that fresh. An account
// whose version in Redis is behind atLeast (a write a failover lost, a
// forged token) is an error wrapping engine.ErrUnavailable.
func (s *Store) SnapshotAtLeast(ctx context.Context, subject, account string, atLeast engine.Token) (engine.Snapshot, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	if s.cache != nil && len(atLeast.Versions) > 0 {
		snap, ok, err := s.cache.snapshot(ctx, s.keys, subject, account, atLeast.Versions)
		if err != nil || ok {
			return snap, err
		}
	}
	if err := s.reached(ctx, atLeast); err != nil {
		return engine.Snapshot{}, err
	}
	return s.readSnapshot(ctx, subject, account)
}

// reached reads the versions of the accounts of t from Redis, around the
// cache, in one pipeline, and checks that each is at least t's.
func (s *Store) reached(ctx context.Context, t engine.Token) error {
	if len(t.Versions) == 0 {
		return nil
	}
	accounts := slices.Sorted(maps.Keys(t.Versions))
	pipe := s.client.Pipeline()
	cmds := make([]*redis.StringCmd, len(accounts))
	for i, a := range accounts {
		cmds[i] = pipe.Get(ctx, s.keys.version(a))
	}
	if err := execPipe("consistency versions", pipeExec(ctx, pipe)); err != nil {
		return err
	}
	for i, a := range accounts {
		v, err := optionalUint(cmds[i])
		if err != nil {
			return wrap(fmt.Sprintf("version of %q", a), err)
		}
		if v < t.Versions[a] {
			return fmt.Errorf("redis: %w: account %q is at version %d, the consistency token names %d",
				engine.ErrUnavailable, a, v, t.Versions[a])
		}
	}
	return nil
}
