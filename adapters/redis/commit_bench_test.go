package redis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// approval is the change of an approved access request on a fresh account
// (version 0): the request, the new membership, two audit records and an
// event to the requester, as the engine's Approve writes them.
func approval(i int) engine.Change {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	account, user, id := fmt.Sprintf("acct-%06d", i), fmt.Sprintf("user-%06d", i), fmt.Sprintf("req-%06d", i)
	return engine.Change{
		ID:       "commit-" + id,
		Versions: map[string]uint64{account: 0},
		RequesterVersions: map[engine.RequesterRef]uint64{
			{Account: account, Requester: user}: 0,
		},
		Requests: []engine.AccessRequest{{
			ID: id, Kind: engine.KindAccount, Account: account, Requester: user, Status: engine.StatusGranted,
			CreatedAt: now, DecidedBy: "alice", DecidedAt: &now,
		}},
		Members: []engine.Membership{{Account: account, User: user, Roles: []string{"account_user"}, AddedBy: "alice", AddedAt: now}},
		Audit: []engine.AuditRecord{
			{ID: "au1-" + id, Account: account, Actor: "alice", Action: engine.ActionRequestGranted, At: now},
			{ID: "au2-" + id, Account: account, Actor: "alice", Action: engine.ActionMemberAdded, At: now},
		},
		Events: []engine.Event{{ID: "ev-" + id, Type: engine.EventRequestGranted, Account: account, At: now, To: []string{user}}},
	}
}

// BenchmarkCommit commits approvals, each on its own account, one at a
// time: the latency of one write, every round trip included.
func BenchmarkCommit(b *testing.B) {
	s := newStore(b, redistest.Start(b))
	i := 0
	for b.Loop() {
		if err := s.Commit(b.Context(), approval(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
