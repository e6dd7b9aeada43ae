package redis_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/engine/storetest"
)

// TestConformance runs the Store conformance suite, each subtest against its
// own fresh redis-server.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) engine.Store {
		return newStore(tb, redistest.Start(tb))
	})
}

// newStore opens a Store on srv and closes it when the test ends.
func newStore(tb testing.TB, srv *redistest.Server) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.Open(srv.URL())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() }) // the suite may have closed it already
	return s
}

// newClient returns a plain client on srv, for looking at what the Store wrote.
func newClient(tb testing.TB, srv *redistest.Server) *redis.Client {
	tb.Helper()
	opts, err := redis.ParseURL(srv.URL())
	require.NoError(tb, err)
	c := redis.NewClient(opts)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}
