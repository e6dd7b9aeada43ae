package redistest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
)

// failoverClient opens a go-redis client on d's URL, as Open does.
func failoverClient(t *testing.T, d *redistest.Sentinel) *redis.Client {
	t.Helper()
	opts, err := redis.ParseFailoverURL(strings.Replace(d.URL(), "redis+sentinel://", "redis://", 1))
	require.NoError(t, err)
	assert.Equal(t, redistest.MasterName, opts.MasterName)
	assert.Len(t, opts.SentinelAddrs, 3)
	c := redis.NewFailoverClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// eventually retries fn, for the seconds a client takes to find the new
// primary after a failover.
func eventually(t *testing.T, fn func() error) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = fn(); err == nil {
			return
		}
	}
	require.NoError(t, err)
}

func TestSentinelFailoverKeepsReplicatedData(t *testing.T) {
	d := redistest.StartSentinel(t)
	ctx := context.Background()
	c := failoverClient(t, d)
	first := d.Primary()
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	require.NoError(t, c.Wait(ctx, 1, 10*time.Second).Err())

	next := d.Failover()
	assert.NotEqual(t, first.Addr(), next.Addr())
	assert.Equal(t, next, d.Primary())
	assert.Equal(t, first, d.Replica())
	eventually(t, func() error { return c.Set(ctx, "k2", "v2", 0).Err() })
	assert.Equal(t, "v", c.Get(ctx, "k").Val())
}

func TestSentinelKillPrimaryAndRejoin(t *testing.T) {
	d := redistest.StartSentinel(t)
	ctx := context.Background()
	c := failoverClient(t, d)
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	require.NoError(t, c.Wait(ctx, 1, 10*time.Second).Err())

	old, next := d.KillPrimary()
	assert.Equal(t, next, d.Primary())
	eventually(t, func() error { return c.Set(ctx, "k2", "v2", 0).Err() })
	assert.Equal(t, "v", c.Get(ctx, "k").Val())

	d.RejoinAsReplica(old)
	assert.Equal(t, old, d.Replica())
	n, err := c.Wait(ctx, 1, 10*time.Second).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "the rejoined server acknowledges the primary's writes")
}
