package sentineltest_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// Issue 11, item 5: a failover in the middle of a write load. Writers add
// members through the engine; the replica is made to lag (frozen with
// SIGSTOP while the primary takes 48 MB of filler, more than the kernel's
// socket buffers hold, so that what follows stays in the primary's own
// output buffer); the primary is killed, the replica resumed and promoted,
// the old primary rejoins as a replica, and the load goes on. Then every
// write that was acknowledged is looked up on the new primary.
//
// With WithMinReplicasAck(1) (--redis-min-replicas-ack 1) no acknowledged
// write may be missing. Without it the loss is logged, not asserted: how
// much is lost depends on what the replica had received.
func TestFailoverMidLoad(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []redisstore.Option
		durable bool
	}{
		{name: "without min-replicas-ack"},
		{name: "with min-replicas-ack 1", opts: []redisstore.Option{redisstore.WithMinReplicasAck(1, 100*time.Millisecond)}, durable: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := redistest.StartSentinel(t)
			store := openStore(t, d, tc.opts...)
			eng := newEngine(t, store)
			accounts := []string{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"}
			const users = 20_000
			// The seed is not under test: it goes through a store that does
			// not wait for the replica (on a busy machine it could miss the
			// 100ms), and the load's first acknowledged write covers it.
			seed(t, openStore(t, d), accounts, users)

			l := startLoad(t, eng, accounts, users)
			l.waitAcked(t, 50)

			primary, replica := d.Primary(), d.Replica()
			replica.Pause()
			attempts, acked := l.attempts.Load(), l.count()
			fill(t, primary, 48, 1<<20)
			l.waitAttempts(t, attempts+20)
			// A figure, not a check: a write the replica acknowledged just
			// before the pause may be counted here too.
			ackedLagging := l.count() - acked

			primary.Stop()
			replica.Resume()
			d.WaitPromoted(replica)
			d.RejoinAsReplica(primary)
			l.waitAcked(t, l.count()+20)
			l.stop()

			ctx := context.Background()
			var lost []string
			for _, m := range l.ackedMembers() {
				if _, err := store.GetMember(ctx, m.Account, m.User); errors.Is(err, engine.ErrNotFound) {
					lost = append(lost, m.Account+"/"+m.User)
				} else {
					require.NoError(t, err)
				}
			}
			t.Logf("%s: %d writes attempted, %d acknowledged (%d while the replica lagged), %d acknowledged writes lost after the failover; errors: %v",
				tc.name, l.attempts.Load(), l.count(), ackedLagging, len(lost), l.errorCounts())
			t.Logf("%s: acknowledged write latency p50 %s, p99 %s, max %s", tc.name, l.latency(0.5), l.latency(0.99), l.latency(1))
			if tc.durable {
				assert.Empty(t, lost, "acknowledged writes lost with min-replicas-ack 1")
			}
		})
	}
}

// fill writes n values of size bytes to srv directly, so that the
// replication stream to a frozen replica backs up beyond the kernel's
// socket buffers.
func fill(t *testing.T, srv *redistest.Server, n, size int) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer c.Close()
	value := strings.Repeat("x", size)
	for i := range n {
		require.NoError(t, c.Set(context.Background(), "filler:"+strconv.Itoa(i), value, 0).Err())
	}
}

// load is writers adding members through the engine until stopped,
// recording the memberships whose SetMember returned no error.
type load struct {
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	attempts atomic.Int64

	mu        sync.Mutex
	acked     []engine.Membership
	latencies []time.Duration
	errs      map[string]int
}

const writers = 4

func startLoad(t *testing.T, eng *engine.Engine, accounts []string, users int) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel, errs: map[string]int{}}
	t.Cleanup(l.stop)
	var next atomic.Int64
	for range writers {
		l.wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= users {
					return
				}
				m := member(accounts, i)
				start := time.Now()
				_, err := eng.SetMember(ctx, operator, m)
				l.record(m, time.Since(start), err)
				if err != nil {
					time.Sleep(10 * time.Millisecond) // no busy loop while Redis is away
				}
			}
		})
	}
	return l
}

func (l *load) record(m engine.Membership, took time.Duration, err error) {
	l.attempts.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.acked = append(l.acked, m)
		l.latencies = append(l.latencies, took)
	case errors.Is(err, engine.ErrOutcomeUnknown):
		l.errs["outcome unknown"]++
	case errors.Is(err, engine.ErrUnavailable):
		l.errs["unavailable"]++
	case errors.Is(err, context.Canceled):
	default:
		l.errs[err.Error()]++
	}
}

func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *load) ackedMembers() []engine.Membership {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acked)
}

func (l *load) errorCounts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.errs)
}

// latency returns the q quantile of the acknowledged writes' latencies.
func (l *load) latency(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.latencies) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(l.latencies))
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

// waitAcked waits until n writes were acknowledged.
func (l *load) waitAcked(t *testing.T, n int) {
	t.Helper()
	waitUntil(t, func() bool { return l.count() >= n }, "%d acknowledged writes (have %d)", n, l.count)
}

// waitAttempts waits until n writes were attempted, acknowledged or not.
func (l *load) waitAttempts(t *testing.T, n int64) {
	t.Helper()
	waitUntil(t, func() bool { return l.attempts.Load() >= n }, "%d attempted writes (have %d)", n, l.attempts.Load)
}

func waitUntil[N any](t *testing.T, cond func() bool, format string, want any, have func() N) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 2m for "+format, want, have())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
