package clustertest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// grant is a change on account acct-<i>: a granted request of user-<i>, its
// membership, an audit record and an event to the user, touching the
// account's slot, the user's, gh:requests, gh:events and the expiry index.
func grant(i int) engine.Change {
	account, user, id := fmt.Sprintf("acct-%03d", i), fmt.Sprintf("user-%03d", i), fmt.Sprintf("req-%03d", i)
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	return engine.Change{
		ID: "c-" + id, Versions: map[string]uint64{account: 0},
		Requests: []engine.AccessRequest{{ID: id, Kind: engine.KindTenant, Account: account, Requester: user,
			Status: engine.StatusGranted, CreatedAt: now, ExpiresAt: &later}},
		Members: []engine.Membership{{Account: account, User: user, Roles: []string{"account_user"}, AddedAt: now}},
		Audit:   []engine.AuditRecord{{ID: "au-" + id, Account: account, Action: "request.granted", At: now}},
		Events:  []engine.Event{{ID: "ev-" + id, Type: "request.granted", Account: account, At: now, To: []string{user}}},
	}
}

// R40, R42, issue 11: replicas cut off at random points of their commits
// (their context ends anywhere within twice a full commit's time: before,
// during or after the home script, between or amid the outbox's
// pipelines), then a relay on a
// fresh replica: each change ends with every effect exactly once, or, when
// its home script never ran, none.
func TestKilledMidCommitEndsWholeOrNothing(t *testing.T) {
	c := startCluster(t)
	const prefix, changes = "kill", 120
	replicas := make([]interface {
		Commit(context.Context, engine.Change) error
	}, 4)
	// Each replica commits once in full first: its connections are open,
	// and the slowest of those commits sets the range of the cut-offs.
	var full time.Duration
	for i := range replicas {
		s := openStore(t, c, prefix)
		replicas[i] = s
		start := time.Now()
		require.NoError(t, s.Commit(t.Context(), engine.Change{
			Versions: map[string]uint64{fmt.Sprintf("warm-%d", i): 0},
			Events:   []engine.Event{{ID: fmt.Sprintf("warm-%d", i), Type: "warm", To: []string{"nobody"}}},
		}))
		full = max(full, time.Since(start))
	}
	t.Logf("a full commit took up to %s; cut-offs fall within 0 to twice that", full)
	errs := make([]error, changes)
	var wg sync.WaitGroup
	for i := range changes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.Int64N(int64(2*full))))
			defer cancel()
			errs[i] = replicas[i%len(replicas)].Commit(ctx, grant(i)) // cut off anywhere: the outcome is checked below
		})
	}
	wg.Wait()

	s := openStore(t, c, prefix)
	require.NoError(t, s.Relay(t.Context()))
	all, err := s.ListEvents(t.Context(), "", 0, engine.Ascending)
	require.NoError(t, err)
	seen := map[string]int{}
	for _, ev := range all {
		seen[ev.ID]++
	}
	all = slices.DeleteFunc(all, func(ev engine.Event) bool { return ev.Type == "warm" })
	applied, unanswered := 0, 0
	for i := range changes {
		g := grant(i)
		account, user, id := g.Members[0].Account, g.Members[0].User, g.Requests[0].ID
		members, err := s.ListMembers(t.Context(), account)
		require.NoError(t, err)
		audit, err := s.ListAudit(t.Context(), account, "", 0, engine.Ascending)
		require.NoError(t, err)
		mine, err := s.ListEventsFor(t.Context(), user, "", 0, engine.Ascending)
		require.NoError(t, err)
		requests, err := s.ListRequests(t.Context(), engine.RequestFilter{Requester: user})
		require.NoError(t, err)
		_, getErr := s.GetRequest(t.Context(), id)
		due, err := s.DueExpiries(t.Context(), g.Requests[0].ExpiresAt.Add(time.Second), 0)
		require.NoError(t, err)
		indexed := 0
		for _, x := range due {
			if x.Request == id {
				indexed++
			}
		}
		if len(members) == 0 {
			assert.Empty(t, audit, "change %d: not applied, no audit", i)
			assert.Zero(t, seen["ev-"+id], "change %d: not applied, no event", i)
			assert.Empty(t, mine, "change %d", i)
			assert.Empty(t, requests, "change %d", i)
			assert.ErrorIs(t, getErr, engine.ErrNotFound, "change %d", i)
			assert.Zero(t, indexed, "change %d", i)
			continue
		}
		applied++
		if errs[i] != nil {
			unanswered++
		}
		assert.Len(t, audit, 1, "change %d: one audit record", i)
		assert.Equal(t, 1, seen["ev-"+id], "change %d: one event", i)
		assert.Len(t, mine, 1, "change %d: one copy for the user", i)
		assert.Len(t, requests, 1, "change %d: indexed for the requester", i)
		assert.NoError(t, getErr, "change %d: in gh:requests", i)
		assert.Equal(t, 1, indexed, "change %d: in the expiry index", i)
	}
	t.Logf("%d of %d changes cut off at random points were applied, every one exactly once; "+
		"%d of those were cut off after their home script (their caller was told nothing sure), and completed by the relay", applied, changes, unanswered)
	assert.Positive(t, applied)
	assert.Len(t, all, applied, "no other event")
}
