package storetest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// Run runs the conformance suite against the stores newStore makes. Each
// subtest gets its own store, which must be empty; newStore registers its
// cleanup with tb.Cleanup, and that cleanup must tolerate a store the suite
// has already closed.
//
// Semantics checked beyond the Store interface's comments:
//   - a list limit of 0 or less means no limit;
//   - AccountState of an account that does not exist wraps ErrNotFound,
//     while listings of unknown accounts or requesters are empty;
//   - ListRequests wants exactly one of Account and Requester, else ErrInvalid;
//   - DueExpiries lists the earliest expiries first;
//   - a member both written and removed by one change ends up removed;
//   - a change without Home keeps its records under the first account of
//     Versions;
//   - an event naming a recipient twice in To lists once in ListEventsFor;
//   - policy revisions with equal CreatedAt list by Revision, descending;
//   - a revision, activation or cursor without a name, and a lease without
//     name or holder or shorter than a millisecond, wrap ErrInvalid.
func Run(t *testing.T, newStore func(tb testing.TB) engine.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s engine.Store)
	}{
		{"Users", testUsers},
		{"Accounts", testAccounts},
		{"Members", testMembers},
		{"Requests", testRequests},
		{"Snapshot", testSnapshot},
		{"SnapshotAtLeast", testSnapshotAtLeast},
		{"CommitVersions", testCommitVersions},
		{"CommitConflictWritesNothing", testCommitConflictWritesNothing},
		{"CommitRaceRetriesAllLand", testCommitRaceRetries},
		{"CommitRaceSameVersionOneWins", testCommitRaceSameVersion},
		{"CommitIDAppliesOnce", testCommitIDAppliesOnce},
		{"ReadVersions", testReadVersions},
		{"RequesterVersions", testRequesterVersions},
		{"IdempotencyRecords", testIdempotencyRecords},
		{"IdempotencyRecordsExpire", testIdempotencyRecordsExpire},
		{"RemovedMembers", testRemovedMembers},
		{"Grants", testGrants},
		{"ListRequests", testListRequests},
		{"AccountState", testAccountState},
		{"Audit", testAudit},
		{"Events", testEvents},
		{"EventsFor", testEventsFor},
		{"DueExpiries", testDueExpiries},
		{"PolicyRevisions", testPolicyRevisions},
		{"PoliciesEmpty", testPoliciesEmpty},
		{"PolicyActivation", testPolicyActivation},
		{"WatchPolicy", testWatchPolicy},
		{"Leases", testLeases},
		{"LeaseExpires", testLeaseExpires},
		{"LeaseRace", testLeaseRace},
		{"Cursors", testCursors},
		{"PingAndClose", testPingAndClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			require.NotNil(t, s, "newStore returned nil")
			tc.run(t, s)
		})
	}
}

// testPingAndClose: a healthy store answers Ping, and Close succeeds.
func testPingAndClose(t *testing.T, s engine.Store) {
	require.NoError(t, s.Ping(t.Context()))
	require.NoError(t, s.Close())
}
