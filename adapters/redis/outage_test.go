package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// storeCalls calls every Store method once and returns its error.
func storeCalls(change engine.Change) map[string]func(ctx context.Context, s *redisstore.Store) error {
	return map[string]func(ctx context.Context, s *redisstore.Store) error{
		"Ping": func(ctx context.Context, s *redisstore.Store) error { return s.Ping(ctx) },
		"Snapshot": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.Snapshot(ctx, "u", "acme")
			return err
		},
		"Commit": func(ctx context.Context, s *redisstore.Store) error { return s.Commit(ctx, change) },
		"AccountState": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.AccountState(ctx, "acme")
			return err
		},
		"GetUser": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.GetUser(ctx, "u")
			return err
		},
		"GetRequest": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.GetRequest(ctx, "req-acme")
			return err
		},
		"ListRequests": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.ListRequests(ctx, engine.RequestFilter{Requester: "u"})
			return err
		},
		"DueExpiries": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.DueExpiries(ctx, time.Now(), 10)
			return err
		},
		"ListAudit": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.ListAudit(ctx, "acme", "", 10)
			return err
		},
		"ListEvents": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.ListEvents(ctx, "", 10)
			return err
		},
		"ListEventsFor": func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.ListEventsFor(ctx, "u", "", 10)
			return err
		},
	}
}

// R45: with Redis down every call fails with an error wrapping
// ErrUnavailable; once Redis is back the same Store works again, Commit
// included (its script is no longer cached: EVALSHA falls back to EVAL).
func TestOutageThenRecovery(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	require.NoError(t, s.Commit(t.Context(), fullChange("acme", "u")))

	srv.Stop()
	for name, call := range storeCalls(fullChange("other", "u")) {
		t.Run("down/"+name, func(t *testing.T) {
			err := call(t.Context(), s)
			require.ErrorIs(t, err, engine.ErrUnavailable)
			assert.NotErrorIs(t, err, engine.ErrNotFound)
		})
	}

	srv.Restart() // without persistence: an empty Redis on the same address
	// After repeated dial failures go-redis fails fast and probes the server
	// once a second until it answers.
	require.Eventually(t, func() bool { return s.Ping(t.Context()) == nil }, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, s.Commit(t.Context(), fullChange("acme", "u")), "same Store, same versions: the data was lost")
	snap, err := s.Snapshot(t.Context(), "u", "acme")
	require.NoError(t, err)
	require.NotNil(t, snap.Account)
	assert.Equal(t, "acme", snap.Account.ID)
	assert.True(t, snap.TenantExclusive)
}

// A closed Store is unavailable, not broken.
func TestClosedStoreIsUnavailable(t *testing.T) {
	s := newStore(t, redistest.Start(t))
	require.NoError(t, s.Close())
	for name, call := range storeCalls(fullChange("acme", "u")) {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, call(t.Context(), s), engine.ErrUnavailable)
		})
	}
}

// A caller's deadline that passes while Redis does not answer is an outage too.
func TestDeadlineIsUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	pause := newClient(t, srv)
	require.NoError(t, pause.Do(t.Context(), "CLIENT", "PAUSE", "500", "ALL").Err())
	t.Cleanup(func() { _ = pause.Do(context.Background(), "CLIENT", "UNPAUSE").Err() })

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Snapshot(ctx, "u", "acme")
	require.ErrorIs(t, err, engine.ErrUnavailable)
}
