package redis_test

import (
	"testing"
	"time"

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

// testTimeouts are generous store deadlines for the tests that do not test
// them: under -race on a busy machine a call can take far longer than the
// production default of a second.
var testTimeouts = []redisstore.Option{redisstore.WithReadTimeout(time.Minute), redisstore.WithWriteTimeout(time.Minute)}

// newStore opens a Store on srv with testTimeouts and closes it when the
// test ends.
func newStore(tb testing.TB, srv *redistest.Server) *redisstore.Store {
	tb.Helper()
	return openStore(tb, srv, testTimeouts...)
}

// newStoreDefaults opens a Store on srv with the production deadlines, for
// the tests of those deadlines.
func newStoreDefaults(tb testing.TB, srv *redistest.Server) *redisstore.Store {
	tb.Helper()
	return openStore(tb, srv)
}

func openStore(tb testing.TB, srv *redistest.Server, opts ...redisstore.Option) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.Open(srv.URL(), opts...)
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
