package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// requesters is how many users create access requests on one account at
// once in TestConcurrentRequestersAllSucceed.
const requesters = 50

// conflictCounter counts the commits a store refused with ErrConflict: each
// one is a re-decision of the command.
type conflictCounter struct {
	engine.Store
	conflicts *atomic.Int64
}

func (s conflictCounter) Commit(ctx context.Context, c engine.Change) error {
	err := s.Store.Commit(ctx, c)
	if errors.Is(err, engine.ErrConflict) {
		s.conflicts.Add(1)
	}
	return err
}

// R20, R40: requests by different users on one account change nothing the
// others decided on, so none of them conflicts with another: 50 users
// requesting access at once, through several engines (on Redis, several
// connections to one redis-server), all succeed, leaving exactly 50
// pending requests, 50 audit records and 50 events. The re-decisions are
// logged as a figure.
func TestConcurrentRequestersAllSucceed(t *testing.T) {
	kinds := []struct {
		name string
		open func(tb testing.TB) []engine.Store
	}{
		{"redis_four_connections", func(tb testing.TB) []engine.Store {
			srv := redistest.Start(tb)
			return []engine.Store{openRedisStore(tb, srv), openRedisStore(tb, srv), openRedisStore(tb, srv), openRedisStore(tb, srv)}
		}},
		{"embedded_one_store", func(tb testing.TB) []engine.Store {
			return []engine.Store{openEmbeddedStore(tb)}
		}},
	}
	for _, kind := range kinds {
		t.Run(kind.name, func(t *testing.T) {
			clk := newFakeClock()
			var conflicts atomic.Int64
			var engines []*engine.Engine
			for _, s := range kind.open(t) {
				engines = append(engines, newCommandEngine(t, conflictCounter{Store: s, conflicts: &conflicts}, clk))
			}
			w := &world{t: t, ctx: context.Background(), e: engines[0], clk: clk}
			w.acme(nil)
			users := make([]string, requesters)
			for i := range users {
				users[i] = fmt.Sprintf("requester%02d", i)
				w.users(users[i])
			}
			auditBefore, eventsBefore := len(w.audit("acme")), len(w.events())
			conflicts.Store(0)

			errs := race(requesters, func(i int) error {
				_, err := engines[i%len(engines)].RequestAccess(w.ctx, users[i], "acme", "I need it")
				return err
			})
			t.Logf("%d concurrent requesters on one account: %d re-decisions", requesters, conflicts.Load())
			for i, err := range errs {
				assert.NoError(t, err, "requester %d", i)
			}

			pending, err := w.e.ListRequests(w.ctx, sysAdmin, engine.RequestFilter{Account: "acme", Status: engine.StatusPending})
			require.NoError(t, err)
			assert.Len(t, pending, requesters, "pending requests")
			created := w.audit("acme")[auditBefore:]
			assert.Len(t, created, requesters, "audit records")
			assert.Equal(t, requesters, countActions(created, engine.ActionRequestCreated))
			assert.Len(t, eventsOf(w.events()[eventsBefore:], engine.EventRequestCreated), requesters, "events")
		})
	}
}

// R20, R40: one user requesting access to one account many times at once,
// through two engines, leaves exactly one pending request: the finer
// versions still serialize a requester's own requests.
func TestOneRequesterRacingGetsOnePendingRequest(t *testing.T) {
	forEachReplicas(t, func(t *testing.T, w *world, engines [2]*engine.Engine) {
		w.acme(nil)
		errs := race(racers, func(i int) error {
			_, err := engines[i%2].RequestAccess(w.ctx, "carol", "acme", "")
			return err
		})
		created := 0
		for i, err := range errs {
			if err == nil {
				created++
				continue
			}
			var v *engine.ViolationError
			if !errors.As(err, &v) {
				require.ErrorIs(t, err, engine.ErrConflict, "racer %d", i)
			}
		}
		assert.Equal(t, 1, created)
		pending, err := w.e.ListRequests(w.ctx, sysAdmin, engine.RequestFilter{Account: "acme", Status: engine.StatusPending})
		require.NoError(t, err)
		assert.Len(t, pending, 1)
	})
}
