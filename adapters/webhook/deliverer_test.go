package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/adapters/webhook"
	"github.com/gatehouse/gatehouse/engine"
)

// deliveryWait bounds every wait for deliveries.
const deliveryWait = 30 * time.Second

var secret = []byte("webhook-secret")

// replicas opens two stores on the same data, as two gatehouse replicas
// would: two clients of one Redis, or the one embedded store twice (it is
// single-process).
type replicas func(tb testing.TB) (engine.Store, engine.Store)

func stores() map[string]replicas {
	return map[string]replicas{
		"embedded": func(tb testing.TB) (engine.Store, engine.Store) {
			s, err := embedded.Open(tb.TempDir())
			require.NoError(tb, err)
			tb.Cleanup(func() { assert.NoError(tb, s.Close()) })
			return s, s
		},
		"redis": func(tb testing.TB) (engine.Store, engine.Store) {
			srv := redistest.Start(tb)
			open := func() engine.Store {
				s, err := redisstore.Open(srv.URL(), redisstore.WithReadTimeout(time.Minute), redisstore.WithWriteTimeout(time.Minute))
				require.NoError(tb, err)
				tb.Cleanup(func() { assert.NoError(tb, s.Close()) })
				return s
			}
			return open(), open()
		},
	}
}

// fast are options that keep tests quick.
func fast(extra ...webhook.Option) []webhook.Option {
	return append([]webhook.Option{
		webhook.WithPollInterval(10 * time.Millisecond),
		webhook.WithBackoff(time.Millisecond, 20*time.Millisecond),
		webhook.WithLeaseTTL(3 * time.Second),
	}, extra...)
}

// run runs d until the returned stop is called or the test ends; stop
// waits for Run to return.
func run(tb testing.TB, d *webhook.Deliverer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.Run(ctx)
	}()
	stop = sync.OnceFunc(func() {
		cancel()
		<-done
	})
	tb.Cleanup(stop)
	return stop
}

// commitEvents commits events ev-<from> to ev-<to>, one change each, and
// returns them as the store lists them, with their cursors.
func commitEvents(tb testing.TB, s engine.Store, from, to int) []engine.Event {
	tb.Helper()
	for i := from; i <= to; i++ {
		data, err := json.Marshal(map[string]any{"request": fmt.Sprintf("req-%d", i)})
		require.NoError(tb, err)
		require.NoError(tb, s.Commit(tb.Context(), engine.Change{Events: []engine.Event{{
			ID: fmt.Sprintf("ev-%02d", i), Type: "request.created", Account: "acme",
			At: time.Date(2025, time.March, 14, 9, 0, i, 0, time.UTC), To: []string{"alice"}, Data: data,
		}}}))
	}
	all, err := s.ListEvents(tb.Context(), "", 0, engine.Ascending)
	require.NoError(tb, err)
	return all[from-1 : to]
}

func ids(events []engine.Event) []string {
	out := make([]string, 0, len(events))
	for _, ev := range events {
		out = append(out, ev.ID)
	}
	return out
}

// awaitDelivered waits until r accepted every one of want, then checks
// that it accepted nothing out of order: each accepted event was the next
// one or one already accepted (at least once allows duplicates, never gaps).
func awaitDelivered(t *testing.T, r *receiver, want []string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, want, r.Unique())
	}, deliveryWait, 5*time.Millisecond)
	accepted, problems := r.Accepted()
	assert.Empty(t, problems)
	next := 0
	for _, id := range accepted {
		at := slices.Index(want, id)
		require.NotEqual(t, -1, at, "unexpected event %s", id)
		if at > next {
			require.Fail(t, "a gap", "%s accepted before %s", id, want[next])
		}
		if at == next {
			next++
		}
	}
}

// R42: events committed with the change are delivered to every URL, in
// order, signed, with the event as the body.
func TestDeliversEveryEventInOrder(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			s, _ := open(t)
			first, second := newReceiver(t, secret), newReceiver(t, secret)
			var mu sync.Mutex
			outcomes := map[string]int{}
			observe := func(name string, ok bool) {
				mu.Lock()
				defer mu.Unlock()
				outcomes[fmt.Sprintf("%s %t", name, ok)]++
			}
			before := commitEvents(t, s, 1, 3)
			run(t, webhook.New(s, []string{first.url, second.url}, secret, fast(webhook.WithObserver(observe))...))
			after := commitEvents(t, s, 4, 5)
			want := append(before, after...)

			for _, r := range []*receiver{first, second} {
				awaitDelivered(t, r, ids(want))
				got := r.Events()
				for i := range want {
					ev := want[i]
					assert.Equal(t, ev.ID, got[i].ID)
					assert.Equal(t, ev.Type, got[i].Type)
					assert.Equal(t, ev.Account, got[i].Account)
					assert.True(t, ev.At.Equal(got[i].At), "at of %s", ev.ID)
					assert.Equal(t, ev.To, got[i].To)
					assert.JSONEq(t, string(ev.Data), string(got[i].Data))
				}
			}
			// The observer hears of an attempt once the receiver has answered it.
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				mu.Lock()
				defer mu.Unlock()
				assert.GreaterOrEqual(c, outcomes[webhook.Name(first.url)+" true"], len(want))
				assert.GreaterOrEqual(c, outcomes[webhook.Name(second.url)+" true"], len(want))
				assert.Zero(c, outcomes[webhook.Name(first.url)+" false"]+outcomes[webhook.Name(second.url)+" false"])
			}, deliveryWait, 5*time.Millisecond)
		})
	}
}

// R42: a receiver that fails is retried until it accepts, and still gets
// every event, in order.
func TestRetriesFailedDeliveries(t *testing.T) {
	tests := []struct {
		name   string
		refuse func(n int) bool
	}{
		{"the first attempts fail", func(n int) bool { return n <= 4 }},
		{"every other attempt fails", func(n int) bool { return n%2 == 1 }},
		{"two of three attempts fail", func(n int) bool { return n%3 != 0 }},
	}
	for name, open := range stores() {
		for _, tc := range tests {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				s, _ := open(t)
				r := newReceiver(t, secret, func(r *receiver) { r.refuse = tc.refuse })
				var mu sync.Mutex
				failures := 0
				observe := func(_ string, ok bool) {
					mu.Lock()
					defer mu.Unlock()
					if !ok {
						failures++
					}
				}
				want := commitEvents(t, s, 1, 6)
				run(t, webhook.New(s, []string{r.url}, secret, fast(webhook.WithObserver(observe))...))

				awaitDelivered(t, r, ids(want))
				mu.Lock()
				defer mu.Unlock()
				assert.Positive(t, failures, "failed attempts observed")
			})
		}
	}
}

// Issue 3: two replicas deliver through one store; every event arrives in
// order, and never do both post to the URL at the same time.
func TestReplicasDeliverOneAtATime(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			a, b := open(t)
			r := newReceiver(t, secret, func(r *receiver) { r.hold = 2 * time.Millisecond })
			run(t, webhook.New(a, []string{r.url}, secret, fast()...))
			run(t, webhook.New(b, []string{r.url}, secret, fast()...))
			want := commitEvents(t, a, 1, 10)
			want = append(want, commitEvents(t, b, 11, 20)...)

			awaitDelivered(t, r, ids(want))
			assert.Zero(t, r.overlaps.Load(), "deliveries overlapped")
		})
	}
}

// R42: a Deliverer that stops and a new one that starts (a restart, or
// another replica taking over) resumes after the stored cursor: nothing is
// lost and what was delivered is not delivered again. The stopped one hands
// its lease back, so the new one need not wait for the ttl.
func TestRestartResumesAfterCursor(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			s, _ := open(t)
			r := newReceiver(t, secret)
			opts := fast(webhook.WithLeaseTTL(time.Hour))
			before := commitEvents(t, s, 1, 3)
			stop := run(t, webhook.New(s, []string{r.url}, secret, opts...))
			awaitDelivered(t, r, ids(before))
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				cursor, err := s.GetCursor(t.Context(), webhook.Name(r.url))
				require.NoError(c, err)
				assert.Equal(c, before[2].Cursor, cursor)
			}, deliveryWait, 5*time.Millisecond)
			stop()

			after := commitEvents(t, s, 4, 5)
			run(t, webhook.New(s, []string{r.url}, secret, opts...))
			awaitDelivered(t, r, ids(append(before, after...)))
			accepted, _ := r.Accepted()
			assert.Equal(t, ids(append(before, after...)), accepted, "no event delivered twice")
		})
	}
}

// A Deliverer runs once at a time: a second Run returns while the first
// goes on delivering.
func TestRunOnceAtATime(t *testing.T) {
	s, _ := stores()["embedded"](t)
	r := newReceiver(t, secret)
	d := webhook.New(s, []string{r.url}, secret, fast()...)
	first := commitEvents(t, s, 1, 2)
	run(t, d)
	awaitDelivered(t, r, ids(first)) // the first Run is running

	returned := make(chan struct{})
	go func() {
		defer close(returned)
		d.Run(t.Context())
	}()
	select {
	case <-returned:
	case <-time.After(deliveryWait):
		require.FailNow(t, "the second Run did not return")
	}
	awaitDelivered(t, r, ids(append(first, commitEvents(t, s, 3, 4)...)))
}
