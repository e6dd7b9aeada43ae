package redistest_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
)

func newClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(srv.URL())
	require.NoError(t, err)
	opts.MaxRetries = -1
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestStartAnswersOnItsURL(t *testing.T) {
	srv := redistest.Start(t)
	assert.True(t, strings.HasPrefix(srv.Addr(), "127.0.0.1:"), srv.Addr())
	assert.Equal(t, "redis://"+srv.Addr()+"/0", srv.URL())

	c := newClient(t, srv)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	got, err := c.Get(ctx, "k").Result()
	require.NoError(t, err)
	assert.Equal(t, "v", got)
}

func TestServersAreIsolated(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	assert.NotEqual(t, a.Addr(), b.Addr())

	ctx := context.Background()
	require.NoError(t, newClient(t, a).Set(ctx, "k", "a", 0).Err())
	err := newClient(t, b).Get(ctx, "k").Err()
	assert.ErrorIs(t, err, redis.Nil)
}

// R45: outage tests stop the server and bring it back on the same address.
func TestStopAndRestartKeepTheAddress(t *testing.T) {
	srv := redistest.Start(t)
	addr := srv.Addr()
	c := newClient(t, srv)
	ctx := context.Background()

	srv.Stop()
	assert.Error(t, c.Ping(ctx).Err(), "a stopped server must not answer")
	srv.Stop() // stopping twice does nothing

	srv.Restart()
	assert.Equal(t, addr, srv.Addr())
	assert.Equal(t, "PONG", c.Ping(ctx).Val())
}

func TestRestartLosesDataByDefault(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())

	srv.Restart()
	assert.ErrorIs(t, c.Get(ctx, "k").Err(), redis.Nil)
}

func TestWithArgsKeepsDataAcrossRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--appendonly", "yes", "--appendfsync", "always"))
	c := newClient(t, srv)
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())

	srv.Restart()
	assert.Equal(t, "v", c.Get(ctx, "k").Val())
}

func TestConcurrentStops(t *testing.T) {
	srv := redistest.Start(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(srv.Stop)
	}
	wg.Wait()
	c := newClient(t, srv)
	assert.Error(t, c.Ping(context.Background()).Err())

	srv.Restart()
	assert.Equal(t, "PONG", c.Ping(context.Background()).Val())
}
