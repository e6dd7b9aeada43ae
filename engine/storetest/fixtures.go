package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// base is the suite's epoch: UTC, microsecond precision.
var base = time.Date(2025, time.March, 14, 9, 26, 53, 589793000, time.UTC)

// at returns base plus the given number of minutes.
func at(minutes int) time.Time {
	return base.Add(time.Duration(minutes) * time.Minute)
}

// atPtr returns a pointer to at(minutes).
func atPtr(minutes int) *time.Time {
	t := at(minutes)
	return &t
}

// newUser is a user with every required field set.
func newUser(id string) engine.User {
	return engine.User{
		ID:        id,
		Email:     id + "@example.com",
		FirstName: "First " + id,
		LastName:  "Last " + id,
		CreatedAt: at(0),
	}
}

// newAccount is an account with two virtual accounts and no partner.
func newAccount(id string) engine.Account {
	return engine.Account{
		ID:              id,
		Name:            "Account " + id,
		VirtualAccounts: []string{id + "-va1", id + "-va2"},
		CreatedAt:       at(0),
	}
}

// newMember is an account_user membership without expiry.
func newMember(account, user string) engine.Membership {
	return engine.Membership{
		Account: account,
		User:    user,
		Roles:   []string{"account_user"},
		AddedBy: "admin",
		AddedAt: at(1),
	}
}

// newRequest is an account request created the given minutes after base.
func newRequest(id, account, requester, status string, created int) engine.AccessRequest {
	return engine.AccessRequest{
		ID:        id,
		Kind:      engine.KindAccount,
		Account:   account,
		Requester: requester,
		Status:    status,
		CreatedAt: at(created),
	}
}

// commit commits change and stops the test when it fails.
func commit(tb testing.TB, s engine.Store, change engine.Change) {
	tb.Helper()
	require.NoError(tb, s.Commit(tb.Context(), change))
}

// createAccounts creates the accounts (at version 0) with no other state.
func createAccounts(tb testing.TB, s engine.Store, accounts ...engine.Account) {
	tb.Helper()
	versions := make(map[string]uint64, len(accounts))
	for _, a := range accounts {
		versions[a.ID] = 0
	}
	commit(tb, s, engine.Change{Versions: versions, Accounts: accounts})
}

// version returns the account's current version.
func version(tb testing.TB, s engine.Store, account string) uint64 {
	tb.Helper()
	state, err := s.AccountState(tb.Context(), account)
	require.NoError(tb, err)
	return state.Version
}

// requestIDs lists the ids of requests in order.
func requestIDs(requests []engine.AccessRequest) []string {
	ids := make([]string, 0, len(requests))
	for _, r := range requests {
		ids = append(ids, r.ID)
	}
	return ids
}

// memberUsers lists the users of memberships in order.
func memberUsers(members []engine.Membership) []string {
	users := make([]string, 0, len(members))
	for _, m := range members {
		users = append(users, m.User)
	}
	return users
}

// auditIDs lists the ids of audit records in order.
func auditIDs(records []engine.AuditRecord) []string {
	ids := make([]string, 0, len(records))
	for _, r := range records {
		ids = append(ids, r.ID)
	}
	return ids
}

// eventIDs lists the ids of events in order.
func eventIDs(events []engine.Event) []string {
	ids := make([]string, 0, len(events))
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	return ids
}

// rawJSON marshals v for audit and event payloads.
func rawJSON(tb testing.TB, v any) json.RawMessage {
	tb.Helper()
	raw, err := json.Marshal(v)
	require.NoError(tb, err)
	return raw
}
