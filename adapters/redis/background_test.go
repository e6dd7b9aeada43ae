package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// watchWait bounds every wait for a watched activation.
const watchWait = 30 * time.Second

// policyRevision is a small revision to push.
func policyRevision(id string) engine.PolicyRevision {
	return engine.PolicyRevision{
		Revision:  id,
		Files:     map[string][]byte{"roles.rego": []byte("package roles\n")},
		Author:    "security@example.com",
		CreatedAt: time.Date(2025, time.March, 14, 9, 0, 0, 0, time.UTC),
	}
}

// Issue 4: a revision pushed and activated through one replica reaches the
// watch of another replica sharing the Redis, within a second.
func TestWatchPolicyAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	pusher, watcher := newStore(t, srv), newStore(t, srv)
	activations, err := watcher.WatchPolicy(t.Context())
	require.NoError(t, err)

	require.NoError(t, pusher.SavePolicy(t.Context(), policyRevision("rev-1")))
	want := engine.PolicyActivation{Revision: "rev-1", ActivatedBy: "alice", ActivatedAt: time.Now().UTC()}
	require.NoError(t, pusher.ActivatePolicy(t.Context(), want))

	select {
	case got := <-activations:
		assert.Equal(t, want.Revision, got.Revision)
		assert.Equal(t, want.ActivatedBy, got.ActivatedBy)
		assert.True(t, want.ActivatedAt.Equal(got.ActivatedAt))
	case <-time.After(time.Second):
		require.FailNow(t, "the other replica saw no activation within a second")
	}
	active, err := watcher.ActivePolicy(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "rev-1", active.Revision)
	rev, err := watcher.GetPolicy(t.Context(), "rev-1")
	require.NoError(t, err)
	assert.Equal(t, "package roles\n", string(rev.Files["roles.rego"]))
}

// Issue 4: a watch survives a Redis restart. go-redis subscribes again on
// its own; activations made once it has are delivered.
func TestWatchPolicyResubscribesAfterRestart(t *testing.T) {
	srv := redistest.Start(t)
	pusher, watcher := newStore(t, srv), newStore(t, srv)
	activations, err := watcher.WatchPolicy(t.Context())
	require.NoError(t, err)

	srv.Restart() // without persistence: the revision must be pushed again
	require.Eventually(t, func() bool {
		ctx := t.Context()
		if pusher.SavePolicy(ctx, policyRevision("rev-2")) != nil ||
			pusher.ActivatePolicy(ctx, engine.PolicyActivation{Revision: "rev-2", ActivatedBy: "bob"}) != nil {
			return false
		}
		select {
		case got, ok := <-activations:
			return ok && got.Revision == "rev-2"
		case <-time.After(100 * time.Millisecond):
			return false
		}
	}, 3*watchWait, 10*time.Millisecond)
}

// The keys of policies, leases and cursors are where doc.go says, and a
// lease key expires with its ttl.
func TestBackgroundKeyLayout(t *testing.T) {
	srv := redistest.Start(t)
	s, raw := newStore(t, srv), newClient(t, srv)
	ctx := t.Context()
	require.NoError(t, s.SavePolicy(ctx, policyRevision("rev-1")))
	require.NoError(t, s.ActivatePolicy(ctx, engine.PolicyActivation{Revision: "rev-1", ActivatedBy: "alice"}))
	held, err := s.AcquireLease(ctx, "webhook:abc", "replica-a", time.Minute)
	require.NoError(t, err)
	require.True(t, held)
	require.NoError(t, s.SetCursor(ctx, "webhook:abc", "1-0"))

	tests := []struct{ key, kind string }{
		{"gh:{policy}:rev:rev-1", "hash"},
		{"gh:{policy}:revisions", "zset"},
		{"gh:{policy}:active", "string"},
		{"gh:lease:webhook:abc", "string"},
		{"gh:cursor:webhook:abc", "string"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			kind, err := raw.Type(t.Context(), tc.key).Result()
			require.NoError(t, err)
			assert.Equal(t, tc.kind, kind)
		})
	}
	holder, err := raw.Get(ctx, "gh:lease:webhook:abc").Result()
	require.NoError(t, err)
	assert.Equal(t, "replica-a", holder)
	ttl, err := raw.PTTL(ctx, "gh:lease:webhook:abc").Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Minute.Milliseconds(), ttl.Milliseconds(), float64(5*time.Second.Milliseconds()))
	cursorTTL, err := raw.PTTL(ctx, "gh:cursor:webhook:abc").Result()
	require.NoError(t, err)
	assert.Equal(t, time.Duration(-1), cursorTTL, "a cursor never expires")
}

// R45: with Redis down the policy and worker calls fail with
// ErrUnavailable.
func TestBackgroundOutage(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	srv.Stop()

	calls := map[string]func(ctx context.Context) error{
		"SavePolicy": func(ctx context.Context) error { return s.SavePolicy(ctx, policyRevision("rev-1")) },
		"GetPolicy": func(ctx context.Context) error {
			_, err := s.GetPolicy(ctx, "rev-1")
			return err
		},
		"ListPolicies": func(ctx context.Context) error {
			_, err := s.ListPolicies(ctx, 0)
			return err
		},
		"ActivatePolicy": func(ctx context.Context) error {
			return s.ActivatePolicy(ctx, engine.PolicyActivation{Revision: "rev-1"})
		},
		"ActivePolicy": func(ctx context.Context) error {
			_, err := s.ActivePolicy(ctx)
			return err
		},
		"WatchPolicy": func(ctx context.Context) error {
			_, err := s.WatchPolicy(ctx)
			return err
		},
		"AcquireLease": func(ctx context.Context) error {
			_, err := s.AcquireLease(ctx, "webhook", "replica-a", time.Second)
			return err
		},
		"GetCursor": func(ctx context.Context) error {
			_, err := s.GetCursor(ctx, "webhook")
			return err
		},
		"SetCursor": func(ctx context.Context) error { return s.SetCursor(ctx, "webhook", "1-0") },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call(t.Context())
			require.ErrorIs(t, err, engine.ErrUnavailable)
			assert.NotErrorIs(t, err, engine.ErrNotFound)
		})
	}
}
