package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// R45: WithCommandTimeout bounds a whole command, all its store calls
// included, and WithReadyTimeout bounds Ready, whatever the store's own
// timeouts: with Redis frozen by SIGSTOP and a store that would wait a
// minute per call, a command fails with ErrUnavailable and Ready reports
// the store, both once their own timeout ends. Nothing is written.
func TestCommandAndReadyTimeouts(t *testing.T) {
	srv := redistest.Start(t)
	store, err := redisstore.Open(srv.URL(), redisstore.WithReadTimeout(time.Minute), redisstore.WithWriteTimeout(time.Minute))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	eng, err := engine.New(store, commandTestPolicy(t), engine.WithSystemAdmins(sysAdmin),
		engine.WithCommandTimeout(500*time.Millisecond), engine.WithReadyTimeout(500*time.Millisecond))
	require.NoError(t, err)
	_, _, err = eng.PutUser(t.Context(), sysAdmin, engine.User{ID: "alice", Email: "alice@example.com"})
	require.NoError(t, err)

	srv.Pause()
	start := time.Now()
	_, _, err = eng.PutUser(t.Context(), sysAdmin, engine.User{ID: "bob", Email: "bob@example.com"})
	require.ErrorIs(t, err, engine.ErrUnavailable)
	t.Logf("a command on a stalled Redis failed after %.0f ms (command timeout 500ms, store timeouts 1m)",
		float64(time.Since(start).Milliseconds()))

	start = time.Now()
	err = eng.Ready(t.Context())
	require.ErrorIs(t, err, engine.ErrUnavailable)
	assert.Contains(t, err.Error(), "store")
	t.Logf("Ready on a stalled Redis failed after %.0f ms (ready timeout 500ms)", float64(time.Since(start).Milliseconds()))

	srv.Resume()
	require.Eventually(t, func() bool { return eng.Ready(t.Context()) == nil }, 30*time.Second, 10*time.Millisecond)
	_, err = store.GetUser(t.Context(), "bob")
	require.ErrorIs(t, err, engine.ErrNotFound, "the command that ran out of time wrote nothing")
}
