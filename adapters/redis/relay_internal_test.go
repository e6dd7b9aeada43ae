package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// replica opens a Store on srv, as one more gatehouse replica would.
func replica(tb testing.TB, url string) *Store {
	tb.Helper()
	s, err := Open(url, WithReadTimeout(time.Minute), WithWriteTimeout(time.Minute))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// submission is a tenant submission (R36) as the engine commits it: one
// request per tenant, homed on the first tenant, with an audit record on
// each tenant and an event to each tenant's admins; it touches the slots of
// both tenants, the requester, both admins and the global keys.
func submission(id string) engine.Change {
	at := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	c := engine.Change{ID: id, Versions: map[string]uint64{"t1": 0, "t2": 0}}
	for _, t := range []string{"t1", "t2"} {
		r := engine.AccessRequest{
			ID: id + "-" + t, Kind: engine.KindTenant, Account: t, Requester: "ann", Status: engine.StatusPending,
			CreatedAt: at, Name: "support", Users: []string{"ann"},
		}
		c.Requests = append(c.Requests, r)
		c.Audit = append(c.Audit, engine.AuditRecord{ID: "au-" + r.ID, Account: t, Action: "request.created", At: at})
		c.Events = append(c.Events, engine.Event{ID: "ev-" + r.ID, Type: "request.created", Account: t, At: at, To: []string{"admin-" + t}})
	}
	return c
}

// commitHomeOnly runs what Commit runs up to and including the home
// account's script, then stops, as a replica killed right after it would.
func commitHomeOnly(t *testing.T, s *Store, change engine.Change) outboxEntry {
	t.Helper()
	p, err := s.plan(change)
	require.NoError(t, err)
	require.True(t, p.outboxed)
	require.NoError(t, s.holdFences(t.Context(), p))
	require.NoError(t, s.register(t.Context(), p.home))
	reply, err := s.commit.Run(t.Context(), s.client, p.b.keys, p.b.args...).StringSlice()
	require.NoError(t, err)
	require.Equal(t, "ok", reply[0])
	entries, err := s.client.XRange(t.Context(), s.keys.outbox(p.home), "-", "+").Result()
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	var entry outboxEntry
	require.NoError(t, json.Unmarshal([]byte(entries[len(entries)-1].Values[outboxField].(string)), &entry))
	return entry
}

// requireAppliedOnce checks that every effect of submission(id) is in the
// store exactly once.
func requireAppliedOnce(t *testing.T, s *Store, id string) {
	t.Helper()
	ctx := t.Context()
	for _, tenant := range []string{"t1", "t2"} {
		r, err := s.GetRequest(ctx, id+"-"+tenant)
		require.NoError(t, err, "request on %s", tenant)
		assert.Equal(t, tenant, r.Account)
		state, err := s.AccountState(ctx, tenant)
		require.ErrorIs(t, err, engine.ErrNotFound, "no account record was written")
		assert.Zero(t, state.Version)
		version, err := s.client.Get(ctx, s.keys.version(tenant)).Uint64()
		require.NoError(t, err)
		assert.Equal(t, uint64(1), version, "version of %s: incremented once", tenant)
		rv, err := s.client.HGet(ctx, s.keys.requesterVersions(tenant), "ann").Uint64()
		require.NoError(t, err)
		assert.Equal(t, uint64(1), rv, "ann's requests on %s: incremented once", tenant)
		audit, err := s.ListAudit(ctx, tenant, "", 0, engine.Ascending)
		require.NoError(t, err)
		assert.Len(t, audit, 1, "audit of %s", tenant)
		mine, err := s.ListEventsFor(ctx, "admin-"+tenant, "", 0, engine.Ascending)
		require.NoError(t, err)
		assert.Len(t, mine, 1, "events of admin-%s", tenant)
	}
	events, err := s.ListEvents(ctx, "", 0, engine.Ascending)
	require.NoError(t, err)
	assert.Len(t, events, 2)
	mine, err := s.ListRequests(ctx, engine.RequestFilter{Requester: "ann"})
	require.NoError(t, err)
	assert.Len(t, mine, 2)
	n, err := s.client.XLen(ctx, s.keys.outbox("t1")).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "the outbox is empty")
	n, err = s.client.Exists(ctx, s.keys.fence("t2")).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "the fence on the other tenant is released")
}

// R36, R40, R42, issue 11: a replica killed right after the home script,
// then a relay killed after each step in turn: a relay started afterwards,
// or the change sent again, completes it, and every effect lands exactly
// once, however many replicas relay at once.
func TestRelayCompletesAfterKillsExactlyOnce(t *testing.T) {
	for _, killedAfter := range []int{-1, 0, 1, 2, 3, 4} {
		t.Run(fmt.Sprintf("relay killed after step %d", killedAfter), func(t *testing.T) {
			srv := redistest.Start(t)
			crashed := replica(t, srv.URL())
			entry := commitHomeOnly(t, crashed, submission("c1"))
			require.Greater(t, len(entry.Steps), 4, "the submission spans several slots")
			_, err := crashed.GetRequest(t.Context(), "c1-t2")
			require.ErrorIs(t, err, engine.ErrNotFound, "the second tenant's request waits in the outbox")

			for i := 0; i <= killedAfter; i++ {
				err := crashed.pipeline(t.Context(), func(pipe redis.Pipeliner) []redis.Cmder {
					return crashed.queueSteps(t.Context(), pipe, []stepRun{{entry.ID, entry.Steps[i]}})
				})
				require.NoError(t, err)
			}
			require.NoError(t, crashed.Close())

			relays := make([]*Store, 4)
			for i := range relays {
				relays[i] = replica(t, srv.URL())
			}
			var wg sync.WaitGroup
			for _, r := range relays {
				wg.Go(func() { assert.NoError(t, r.Relay(t.Context())) })
			}
			wg.Wait()
			requireAppliedOnce(t, relays[0], "c1")

			// Sending the change again, as the engine does after a lost
			// reply, and relaying again change nothing.
			require.NoError(t, relays[1].Commit(t.Context(), submission("c1")))
			require.NoError(t, relays[2].Relay(t.Context()))
			requireAppliedOnce(t, relays[3], "c1")
		})
	}
}

// R40, issue 11: while a change deciding on two accounts is between its
// check of the second one and its writes there, the fence it holds makes
// every other commit on that account conflict, even when the replica died
// meanwhile; once its step is applied, they go through.
func TestFenceHoldsOffTheOtherAccount(t *testing.T) {
	srv := redistest.Start(t)
	commitHomeOnly(t, replica(t, srv.URL()), submission("c1"))
	other := replica(t, srv.URL())
	member := engine.Change{
		Versions: map[string]uint64{"t2": 0},
		Members:  []engine.Membership{{Account: "t2", User: "bob", Roles: []string{"account_user"}}},
	}
	err := other.Commit(t.Context(), member)
	require.ErrorIs(t, err, engine.ErrConflict)
	assert.Contains(t, err.Error(), "fence")
	state, err := other.AccountState(t.Context(), "t2")
	require.ErrorIs(t, err, engine.ErrNotFound)
	assert.Empty(t, state.Members, "the refused commit wrote nothing")

	require.NoError(t, other.Relay(t.Context()))
	err = other.Commit(t.Context(), member)
	require.ErrorIs(t, err, engine.ErrConflict, "decided on t2 before the submission reached it")
	member.Versions["t2"] = 1
	require.NoError(t, other.Commit(t.Context(), member))
	got, err := other.GetMember(t.Context(), "t2", "bob")
	require.NoError(t, err)
	assert.Equal(t, "bob", got.User)
}

// R36, issue 11: the engine sending again a change whose replica died after
// the home script completes it with the same effects (and no relay).
func TestCommitAgainCompletesTheOutbox(t *testing.T) {
	srv := redistest.Start(t)
	commitHomeOnly(t, replica(t, srv.URL()), submission("c1"))
	other := replica(t, srv.URL())
	require.NoError(t, other.Commit(t.Context(), submission("c1")))
	requireAppliedOnce(t, other, "c1")
}

// R42, issue 11: the events of one account's commits reach the global
// stream and each recipient's stream in the order of the commits, with the
// same cursors, though many replicas relay the outbox at once.
func TestRelayKeepsEachAccountsOrder(t *testing.T) {
	srv := redistest.Start(t)
	crashed := replica(t, srv.URL())
	const commits = 40
	for i := range commits {
		commitHomeOnly(t, crashed, engine.Change{
			ID: fmt.Sprintf("c%02d", i), Versions: map[string]uint64{"acme": uint64(i)},
			Events: []engine.Event{{ID: fmt.Sprintf("e%02d", i), Type: "member.added", Account: "acme", To: []string{"alice", "bob"}}},
		})
	}
	var wg sync.WaitGroup
	for range 4 {
		r := replica(t, srv.URL())
		wg.Go(func() { assert.NoError(t, r.Relay(context.WithoutCancel(t.Context()))) })
	}
	wg.Wait()

	s := replica(t, srv.URL())
	all, err := s.ListEvents(t.Context(), "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Len(t, all, commits)
	for i, ev := range all {
		assert.Equal(t, fmt.Sprintf("e%02d", i), ev.ID)
	}
	for _, user := range []string{"alice", "bob"} {
		mine, err := s.ListEventsFor(t.Context(), user, "", 0, engine.Ascending)
		require.NoError(t, err)
		require.Len(t, mine, commits, user)
		for i, ev := range mine {
			assert.Equal(t, all[i].ID, ev.ID)
			assert.Equal(t, all[i].Cursor, ev.Cursor)
		}
	}
}

// Issue 11: a deployment upgraded from a version that copied events to
// their recipients within the commit has no fan-out cursor; the first fan
// out goes through the old events and copies none twice.
func TestFanoutAfterUpgradeCopiesNothingTwice(t *testing.T) {
	srv := redistest.Start(t)
	s := replica(t, srv.URL())
	ctx := t.Context()
	for i := range 300 { // more than a page
		data, err := json.Marshal(engine.Event{ID: fmt.Sprintf("old%03d", i), Type: "member.added", To: []string{"bob"}})
		require.NoError(t, err)
		id, err := s.client.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.events(), Values: []any{eventField, data}}).Result()
		require.NoError(t, err)
		require.NoError(t, s.client.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.userEvents("bob"), ID: id, Values: []any{eventField, data}}).Err())
	}
	require.NoError(t, s.Commit(ctx, engine.Change{Events: []engine.Event{{ID: "new", Type: "member.added", To: []string{"bob", "carol"}}}}))
	bob, err := s.ListEventsFor(ctx, "bob", "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Len(t, bob, 301)
	assert.Equal(t, "new", bob[300].ID)
	carol, err := s.ListEventsFor(ctx, "carol", "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Len(t, carol, 1)
}

// Issue 11: the relay drops from the registry the accounts whose outbox it
// emptied and whose last registration is older than the grace period, and
// keeps the others.
func TestRelayPrunesTheRegistry(t *testing.T) {
	srv := redistest.Start(t)
	s := replica(t, srv.URL())
	ctx := t.Context()
	commitHomeOnly(t, s, submission("c1")) // registers t1 now
	old := float64(time.Now().Add(-2 * registryGrace).UnixMilli())
	require.NoError(t, s.client.ZAdd(ctx, s.keys.pendingOutboxes("idle"), redis.Z{Score: old, Member: "idle"}).Err())

	require.NoError(t, s.Relay(ctx))
	requireAppliedOnce(t, s, "c1")
	_, err := s.client.ZScore(ctx, s.keys.pendingOutboxes("idle"), "idle").Result()
	require.ErrorIs(t, err, redis.Nil, "an old registration with an empty outbox leaves")
	_, err = s.client.ZScore(ctx, s.keys.pendingOutboxes("t1"), "t1").Result()
	require.NoError(t, err, "a registration within the grace period stays")
}
