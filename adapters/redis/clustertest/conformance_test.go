package clustertest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/engine/storetest"
)

// startCluster starts a 3-master cluster for one test and logs how long
// that took.
func startCluster(t *testing.T) *redistest.Cluster {
	t.Helper()
	start := time.Now()
	c := redistest.StartCluster(t, 3)
	t.Logf("3-master cluster ready in %s", time.Since(start).Round(time.Millisecond))
	return c
}

// openStore opens a Store on c under prefix (another replica of the same
// deployment for the same prefix), closed when the test ends.
func openStore(tb testing.TB, c *redistest.Cluster, prefix string) *redisstore.Store {
	tb.Helper()
	s, err := redisstore.Open(c.URL(), redisstore.WithPrefix(prefix),
		redisstore.WithReadTimeout(time.Minute), redisstore.WithWriteTimeout(time.Minute))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() }) // the suite may have closed it already
	return s
}

// TestConformance runs the Store conformance suite, its race tests
// included, on one 3-master cluster: each subtest's store has a prefix of
// its own, so it starts empty. Then ConnectedReplicas counts the fewest
// replicas of any master (none).
func TestConformance(t *testing.T) {
	c := startCluster(t)
	start := time.Now()
	n := 0
	storetest.Run(t, func(tb testing.TB) engine.Store {
		n++
		return openStore(tb, c, fmt.Sprintf("t%d", n))
	})
	t.Logf("conformance suite on the cluster: %s", time.Since(start).Round(time.Millisecond))

	// serve compares this with --redis-min-replicas-ack at start: the
	// masters of redistest's cluster have no replica.
	replicas, err := openStore(t, c, "replicas").ConnectedReplicas(t.Context())
	require.NoError(t, err)
	require.Equal(t, 0, replicas)
}
