package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// seedRequests commits, out of chronological order, the requests the
// listing tests read:
//
//	id   account  requester  status   created
//	r1   acme     alice      pending  1
//	r2   acme     bob        granted  2
//	r3   acme     alice      denied   3
//	r4   acme     alice      pending  3  (same instant as r3: id breaks the tie)
//	r5   other    alice      pending  4
func seedRequests(tb testing.TB, s engine.Store) {
	tb.Helper()
	createAccounts(tb, s, newAccount("acme"), newAccount("other"))
	commit(tb, s, engine.Change{Requests: []engine.AccessRequest{
		newRequest("r4", "acme", "alice", engine.StatusPending, 3),
		newRequest("r2", "acme", "bob", engine.StatusGranted, 2),
	}})
	commit(tb, s, engine.Change{Requests: []engine.AccessRequest{
		newRequest("r5", "other", "alice", engine.StatusPending, 4),
		newRequest("r1", "acme", "alice", engine.StatusPending, 1),
		newRequest("r3", "acme", "alice", engine.StatusDenied, 3),
	}})
}

// testListRequests: requests by account or by requester, newest first (by
// creation time, then id), filtered by status, limited (R39a).
func testListRequests(t *testing.T, s engine.Store) {
	seedRequests(t, s)

	tests := []struct {
		name   string
		filter engine.RequestFilter
		want   []string
	}{
		{"by account", engine.RequestFilter{Account: "acme"}, []string{"r4", "r3", "r2", "r1"}},
		{"by account and status", engine.RequestFilter{Account: "acme", Status: engine.StatusPending}, []string{"r4", "r1"}},
		{"by account with limit", engine.RequestFilter{Account: "acme", Limit: 2}, []string{"r4", "r3"}},
		{"by account, status and limit", engine.RequestFilter{Account: "acme", Status: engine.StatusPending, Limit: 1}, []string{"r4"}},
		{"by requester", engine.RequestFilter{Requester: "alice"}, []string{"r5", "r4", "r3", "r1"}},
		{"by requester and status", engine.RequestFilter{Requester: "alice", Status: engine.StatusDenied}, []string{"r3"}},
		{"by requester with limit", engine.RequestFilter{Requester: "alice", Limit: 3}, []string{"r5", "r4", "r3"}},
		{"limit above the count", engine.RequestFilter{Requester: "bob", Limit: 10}, []string{"r2"}},
		{"status without match", engine.RequestFilter{Account: "acme", Status: engine.StatusExpired}, []string{}},
		{"unknown account", engine.RequestFilter{Account: "nowhere"}, []string{}},
		{"unknown requester", engine.RequestFilter{Requester: "nobody"}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListRequests(t.Context(), tc.filter)
			require.NoError(t, err)
			assert.Equal(t, tc.want, requestIDs(got))
		})
	}

	invalid := []struct {
		name   string
		filter engine.RequestFilter
	}{
		{"neither account nor requester", engine.RequestFilter{Status: engine.StatusPending}},
		{"both account and requester", engine.RequestFilter{Account: "acme", Requester: "alice"}},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ListRequests(t.Context(), tc.filter)
			require.ErrorIs(t, err, engine.ErrInvalid)
		})
	}
}

// testAccountState: the account, all its members, its requests of the given
// statuses (all when none) and its version, nothing of other accounts.
func testAccountState(t *testing.T, s engine.Store) {
	seedRequests(t, s)
	alice, bob := newMember("acme", "alice"), newMember("acme", "bob")
	commit(t, s, engine.Change{
		Versions: map[string]uint64{"acme": 1},
		Members:  []engine.Membership{alice, bob, newMember("other", "carol")},
	})
	acme, err := s.GetAccount(t.Context(), "acme")
	require.NoError(t, err)

	tests := []struct {
		name     string
		statuses []string
		want     []string
	}{
		{"all statuses", nil, []string{"r1", "r2", "r3", "r4"}},
		{"one status", []string{engine.StatusPending}, []string{"r1", "r4"}},
		{"two statuses", []string{engine.StatusGranted, engine.StatusDenied}, []string{"r2", "r3"}},
		{"status without match", []string{engine.StatusRevoked}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			state, err := s.AccountState(t.Context(), "acme", tc.statuses...)
			require.NoError(t, err)
			assert.Equal(t, normAccount(acme), normAccount(state.Account))
			assert.ElementsMatch(t, normAll([]engine.Membership{alice, bob}, normMember), normAll(state.Members, normMember))
			assert.ElementsMatch(t, tc.want, requestIDs(state.Requests))
			assert.Equal(t, uint64(2), state.Version)
		})
	}

	t.Run("unknown account", func(t *testing.T) {
		_, err := s.AccountState(t.Context(), "nowhere")
		require.ErrorIs(t, err, engine.ErrNotFound)
	})
}
