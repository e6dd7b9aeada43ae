package sentineltest_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/engine/storetest"
)

// testTimeouts are generous store deadlines: under -race on a busy machine
// a call, its WAIT included, can take far longer than the production
// default of a second.
var testTimeouts = []redisstore.Option{redisstore.WithReadTimeout(time.Minute), redisstore.WithWriteTimeout(time.Minute)}

// openStore opens a Store on d's redis+sentinel:// URL and closes it when
// the test ends.
func openStore(tb testing.TB, d *redistest.Sentinel, opts ...redisstore.Option) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.Open(d.URL(), append(append([]redisstore.Option{}, testTimeouts...), opts...)...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() }) // the suite may have closed it already
	return s
}

// TestConformance runs the Store conformance suite through Sentinel, as
// gatehouse serve does with a redis+sentinel:// URL, and again with every
// commit waiting for the replica's acknowledgement (WithMinReplicasAck 1).
// One deployment serves both, its three sentinels taking seconds to agree;
// each subtest gets a fresh, empty store of its own key prefix.
func TestConformance(t *testing.T) {
	d := redistest.StartSentinel(t)
	var n atomic.Int64
	for _, tc := range []struct {
		name string
		opts []redisstore.Option
	}{
		{name: "Sentinel"},
		{name: "SentinelMinReplicasAck", opts: []redisstore.Option{redisstore.WithMinReplicasAck(1, time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, func(tb testing.TB) engine.Store {
				prefix := "t" + strconv.FormatInt(n.Add(1), 10)
				return openStore(tb, d, append([]redisstore.Option{redisstore.WithPrefix(prefix)}, tc.opts...)...)
			})
		})
	}
}
