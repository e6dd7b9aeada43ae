package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// Lease durations: long enough never to pass during a test, and short
// enough for the suite to see one expire quickly.
const (
	longLease  = time.Hour
	shortLease = 50 * time.Millisecond
	// leaseWait bounds how long the suite polls for a lease to expire.
	leaseWait = 5 * time.Second
)

// testLeases: a lease is exclusive to its holder until its ttl passes,
// renewable by that holder only, and independent of other leases (issue 4:
// one replica at a time runs a background worker).
func testLeases(t *testing.T, s engine.Store) {
	ctx := t.Context()
	acquire := func(name, holder string, ttl time.Duration) bool {
		t.Helper()
		held, err := s.AcquireLease(ctx, name, holder, ttl)
		require.NoError(t, err)
		return held
	}

	steps := []struct {
		name, lease, holder string
		want                bool
	}{
		{"a free lease is taken", "webhook", "replica-a", true},
		{"another holder is refused", "webhook", "replica-b", false},
		{"the holder renews", "webhook", "replica-a", true},
		{"another lease is independent", "expiry", "replica-b", true},
		{"and exclusive too", "expiry", "replica-a", false},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			assert.Equal(t, step.want, acquire(step.lease, step.holder, longLease))
		})
	}

	t.Run("a renewal sets the new ttl, after which another holder takes it", func(t *testing.T) {
		require.True(t, acquire("webhook", "replica-a", shortLease))
		require.Eventually(t, func() bool { return acquire("webhook", "replica-b", longLease) },
			leaseWait, 5*time.Millisecond)
		assert.False(t, acquire("webhook", "replica-a", longLease), "the former holder lost it")
	})

	invalid := []struct {
		name, lease, holder string
		ttl                 time.Duration
	}{
		{"no name", "", "replica-a", longLease},
		{"no holder", "webhook", "", longLease},
		{"zero ttl", "webhook", "replica-a", 0},
		{"ttl under a millisecond", "webhook", "replica-a", time.Microsecond},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.AcquireLease(t.Context(), tc.lease, tc.holder, tc.ttl)
			require.ErrorIs(t, err, engine.ErrInvalid)
		})
	}
}

// testLeaseExpires: a lease whose holder stops renewing it is free once its
// ttl has passed.
func testLeaseExpires(t *testing.T, s engine.Store) {
	taken := time.Now() // no later than the lease's start
	held, err := s.AcquireLease(t.Context(), "sweep", "replica-a", shortLease)
	require.NoError(t, err)
	require.True(t, held)

	require.Eventually(t, func() bool {
		held, err := s.AcquireLease(t.Context(), "sweep", "replica-b", longLease)
		return err == nil && held
	}, leaseWait, 5*time.Millisecond)
	// Redis keeps expiries in whole milliseconds: allow for the rounding.
	assert.GreaterOrEqual(t, time.Since(taken), shortLease-2*time.Millisecond, "taken over before the ttl passed")
}

// testLeaseRace: holders racing for one free lease, exactly one gets it.
func testLeaseRace(t *testing.T, s engine.Store) {
	start := make(chan struct{})
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			held, err := s.AcquireLease(t.Context(), "race", fmt.Sprintf("replica-%02d", i), longLease)
			if assert.NoError(t, err) && held {
				won.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int32(1), won.Load())
}

// testCursors: a cursor reads "" until set, then the latest value set;
// cursors of different names are independent.
func testCursors(t *testing.T, s engine.Store) {
	ctx := t.Context()
	get := func(name string) string {
		t.Helper()
		cursor, err := s.GetCursor(ctx, name)
		require.NoError(t, err)
		return cursor
	}
	assert.Equal(t, "", get("webhook:a"), "never set")

	require.NoError(t, s.SetCursor(ctx, "webhook:a", "00000000000000000001"))
	require.NoError(t, s.SetCursor(ctx, "webhook:b", "1700000000000-0"))
	require.NoError(t, s.SetCursor(ctx, "webhook:a", "00000000000000000007"))

	tests := []struct{ name, want string }{
		{"webhook:a", "00000000000000000007"},
		{"webhook:b", "1700000000000-0"},
		{"webhook:c", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, get(tc.name))
		})
	}

	t.Run("a cursor set back to empty reads empty", func(t *testing.T) {
		require.NoError(t, s.SetCursor(t.Context(), "webhook:b", ""))
		assert.Equal(t, "", get("webhook:b"))
	})
	t.Run("no name", func(t *testing.T) {
		require.ErrorIs(t, s.SetCursor(t.Context(), "", "1"), engine.ErrInvalid)
	})
}
