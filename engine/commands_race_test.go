package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// racers is how many goroutines race in each concurrency proof.
const racers = 60

// replicas are two engines sharing one backend, as two gatehouse replicas
// share one Redis: on Redis each has its own connection; the embedded
// store, single-node, is shared by both.
type replicas struct {
	name string
	open func(tb testing.TB) (engine.Store, engine.Store)
}

var replicaKinds = []replicas{
	{name: "redis_two_connections", open: func(tb testing.TB) (engine.Store, engine.Store) {
		srv := redistest.Start(tb)
		return openRedisStore(tb, srv), openRedisStore(tb, srv)
	}},
	{name: "embedded_one_store", open: func(tb testing.TB) (engine.Store, engine.Store) {
		s := openEmbeddedStore(tb)
		return s, s
	}},
}

// forEachReplicas runs test with two engines over each backend; w uses
// the first one.
func forEachReplicas(t *testing.T, test func(t *testing.T, w *world, engines [2]*engine.Engine)) {
	for _, kind := range replicaKinds {
		t.Run(kind.name, func(t *testing.T) {
			clk := newFakeClock()
			s1, s2 := kind.open(t)
			engines := [2]*engine.Engine{newCommandEngine(t, s1, clk), newCommandEngine(t, s2, clk)}
			test(t, &world{t: t, ctx: context.Background(), e: engines[0], clk: clk}, engines)
		})
	}
}

// race runs fn(i) for i in [0, n) on n goroutines released at once, and
// returns their errors by i.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// R10, R11, R40: racing approvals through two replicas never leave more
// secondary contacts than the limit, and the members, requests, audit trail
// and events agree.
func TestSecondaryLimitHoldsUnderRacingApprovals(t *testing.T) {
	forEachReplicas(t, func(t *testing.T, w *world, engines [2]*engine.Engine) {
		w.acme(nil) // bob is already a secondary contact: 3 seats are left.
		reqs := make([]engine.AccessRequest, racers)
		for i := range reqs {
			user := fmt.Sprintf("user%02d", i)
			w.users(user)
			reqs[i] = w.request(user, "")
		}
		auditBefore, eventsBefore := len(w.audit("acme")), len(w.events())

		errs := race(racers, func(i int) error {
			_, err := engines[i%2].Approve(w.ctx, "alice", reqs[i].ID, engine.Approval{Contact: engine.ContactSecondary})
			return err
		})

		granted := 0
		for i, err := range errs {
			var v *engine.ViolationError
			switch {
			case err == nil:
				granted++
			case errors.As(err, &v):
				assert.False(t, v.Forbidden, "racer %d: %v", i, err)
				assert.Equal(t, []string{"an account can have at most 4 secondary contacts (it has 4)"}, v.Violations)
			default:
				require.ErrorIs(t, err, engine.ErrConflict, "racer %d", i)
			}
		}
		assert.Equal(t, 3, granted)
		assert.Equal(t, 4, w.contacts("acme", engine.ContactSecondary))

		stored, err := w.e.ListRequests(w.ctx, sysAdmin, engine.RequestFilter{Account: "acme", Status: engine.StatusGranted})
		require.NoError(t, err)
		assert.Len(t, stored, granted)
		audit := w.audit("acme")[auditBefore:]
		assert.Len(t, audit, 2*granted, "one request.granted and one member.added per approval")
		assert.Equal(t, granted, countActions(audit, engine.ActionRequestGranted))
		assert.Equal(t, granted, countActions(audit, engine.ActionMemberAdded))
		events := w.events()[eventsBefore:]
		assert.Len(t, eventsOf(events, engine.EventRequestGranted), granted)
		assert.Len(t, eventsOf(events, engine.EventMemberAdded), granted)
		assert.Len(t, events, 2*granted)
	})
}

// countActions counts the audit records of one action.
func countActions(recs []engine.AuditRecord, action string) int {
	n := 0
	for _, r := range recs {
		if r.Action == action {
			n++
		}
	}
	return n
}

// R25, R40: deciders racing through two replicas to approve or deny one
// request: exactly one wins, every other gets ErrConflict.
func TestOneRequestIsDecidedOnce(t *testing.T) {
	forEachReplicas(t, func(t *testing.T, w *world, engines [2]*engine.Engine) {
		w.acme(nil)
		r := w.request("carol", "")
		auditBefore, eventsBefore := len(w.audit("acme")), len(w.events())
		deciders := []string{"alice", "bob", sysAdmin}

		errs := race(racers, func(i int) error {
			e, actor := engines[i%2], deciders[i%len(deciders)]
			if i%2 == 0 {
				_, err := e.Approve(w.ctx, actor, r.ID, engine.Approval{Scope: "account", Role: "account_user"})
				return err
			}
			_, err := e.Deny(w.ctx, actor, r.ID, engine.Denial{ReasonCode: "other"})
			return err
		})

		winner := -1
		for i, err := range errs {
			if err == nil {
				require.Equal(t, -1, winner, "racers %d and %d both decided the request", winner, i)
				winner = i
				continue
			}
			require.ErrorIs(t, err, engine.ErrConflict, "racer %d", i)
		}
		require.NotEqual(t, -1, winner, "nobody decided the request")

		final, err := w.e.GetRequest(w.ctx, sysAdmin, r.ID)
		require.NoError(t, err)
		decided := w.audit("acme")[auditBefore:]
		assert.Equal(t, 1, countActions(decided, engine.ActionRequestGranted)+countActions(decided, engine.ActionRequestDenied))
		events := w.events()[eventsBefore:]
		if winner%2 == 0 {
			assert.Equal(t, engine.StatusGranted, final.Status)
			assert.Len(t, eventsOf(events, engine.EventRequestGranted), 1)
			assert.Empty(t, eventsOf(events, engine.EventRequestDenied))
		} else {
			assert.Equal(t, engine.StatusDenied, final.Status)
			assert.Len(t, eventsOf(events, engine.EventRequestDenied), 1)
			assert.Empty(t, eventsOf(events, engine.EventRequestGranted))
		}
		assert.Equal(t, deciders[winner%len(deciders)], final.DecidedBy)
	})
}

// R11, R40: direct additions racing with approvals through two replicas
// keep the limit too.
func TestSecondaryLimitHoldsUnderRacingAdditions(t *testing.T) {
	forEachReplicas(t, func(t *testing.T, w *world, engines [2]*engine.Engine) {
		w.acme(map[string]any{"max_secondary_contacts": 2})
		users := make([]string, racers)
		for i := range users {
			users[i] = fmt.Sprintf("user%02d", i)
			w.users(users[i])
		}
		errs := race(racers, func(i int) error {
			_, err := engines[i%2].SetMember(w.ctx, "alice", secondary(users[i]))
			return err
		})
		added := 0
		for _, err := range errs {
			if err == nil {
				added++
				continue
			}
			var v *engine.ViolationError
			if !errors.As(err, &v) {
				require.ErrorIs(t, err, engine.ErrConflict)
			}
		}
		assert.Equal(t, 1, added, "bob holds one of the 2 seats")
		assert.Equal(t, 2, w.contacts("acme", engine.ContactSecondary))
	})
}
