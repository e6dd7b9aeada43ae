package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// testUsers: users round-trip exactly, a rewrite replaces, a missing user
// is ErrNotFound.
func testUsers(t *testing.T, s engine.Store) {
	full := newUser("elizabeth")
	full.Organization = "classics"
	minimal := engine.User{ID: "m", CreatedAt: at(3)}
	commit(t, s, engine.Change{Users: []engine.User{full, minimal}})

	for _, want := range []engine.User{full, minimal} {
		t.Run(want.ID, func(t *testing.T) {
			got, err := s.GetUser(t.Context(), want.ID)
			require.NoError(t, err)
			assert.Equal(t, normUser(want), normUser(got))
		})
	}

	renamed := full
	renamed.LastName = "Bennet"
	commit(t, s, engine.Change{Users: []engine.User{renamed}})
	got, err := s.GetUser(t.Context(), full.ID)
	require.NoError(t, err)
	assert.Equal(t, normUser(renamed), normUser(got))

	_, err = s.GetUser(t.Context(), "nobody")
	require.ErrorIs(t, err, engine.ErrNotFound)
}

// testAccounts: accounts round-trip exactly (settings hold JSON-native
// values), a missing account is ErrNotFound.
func testAccounts(t *testing.T, s engine.Store) {
	full := newAccount("tom-sawyer")
	full.Partner = "classics"
	full.Settings = map[string]any{"max_secondary_contacts": float64(2), "label": "gold", "strict": true}
	emptyVA := engine.Account{ID: "empty", Name: "Empty", VirtualAccounts: []string{}, CreatedAt: at(2)}
	nilVA := engine.Account{ID: "nil", Name: "Nil", CreatedAt: at(2)}
	commit(t, s, engine.Change{Accounts: []engine.Account{full, emptyVA, nilVA}})

	for _, want := range []engine.Account{full, emptyVA, nilVA} {
		t.Run(want.ID, func(t *testing.T) {
			got, err := s.GetAccount(t.Context(), want.ID)
			require.NoError(t, err)
			assert.Equal(t, normAccount(want), normAccount(got))
		})
	}

	_, err := s.GetAccount(t.Context(), "nowhere")
	require.ErrorIs(t, err, engine.ErrNotFound)
}

// testMembers: memberships round-trip exactly, are listed per account, and
// a missing one is ErrNotFound.
func testMembers(t *testing.T, s engine.Store) {
	createAccounts(t, s, newAccount("acme"), newAccount("other"))
	full := engine.Membership{
		Account:       "acme",
		User:          "alice",
		Roles:         []string{"account_admin", "account_user"},
		VARoles:       map[string]string{"acme-va1": "va_admin"},
		Contact:       engine.ContactPrimary,
		Privileges:    map[string]string{"software_downloads": "full", "contact_updates": "edit"},
		Justification: "runs the account",
		AddedBy:       "root",
		AddedAt:       at(5),
		ExpiresAt:     atPtr(500),
		Request:       "req-1",
	}
	minimal := engine.Membership{Account: "acme", User: "bob", Roles: []string{}, AddedBy: "alice", AddedAt: at(6)}
	elsewhere := newMember("other", "alice")
	commit(t, s, engine.Change{Members: []engine.Membership{full, minimal, elsewhere}})

	for _, want := range []engine.Membership{full, minimal, elsewhere} {
		t.Run(want.Account+"/"+want.User, func(t *testing.T) {
			got, err := s.GetMember(t.Context(), want.Account, want.User)
			require.NoError(t, err)
			assert.Equal(t, normMember(want), normMember(got))
		})
	}

	listed, err := s.ListMembers(t.Context(), "acme")
	require.NoError(t, err)
	assert.ElementsMatch(t, normAll([]engine.Membership{full, minimal}, normMember), normAll(listed, normMember))

	changed := minimal
	changed.Roles = []string{"account_viewer"}
	commit(t, s, engine.Change{Members: []engine.Membership{changed}})
	got, err := s.GetMember(t.Context(), "acme", "bob")
	require.NoError(t, err)
	assert.Equal(t, normMember(changed), normMember(got))
	listed, err = s.ListMembers(t.Context(), "acme")
	require.NoError(t, err)
	assert.Len(t, listed, 2, "a rewritten membership is listed once")

	missing := []struct{ name, account, user string }{
		{"unknown user", "acme", "carol"},
		{"unknown account", "nowhere", "alice"},
		{"user of another account", "other", "bob"},
	}
	for _, tc := range missing {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.GetMember(t.Context(), tc.account, tc.user)
			require.ErrorIs(t, err, engine.ErrNotFound)
		})
	}

	none, err := s.ListMembers(t.Context(), "nowhere")
	require.NoError(t, err)
	assert.Empty(t, none)
}

// testRequests: requests round-trip exactly, a rewrite replaces (and is
// listed once, under its new status), a missing one is ErrNotFound.
func testRequests(t *testing.T, s engine.Store) {
	account := newRequest("req-account", "acme", "alice", engine.StatusDenied, 10)
	account.Justification = "I need to download software"
	account.DecidedBy = "root"
	account.DecidedAt = atPtr(12)
	account.ReasonCode = "not_an_employee"
	account.Message = "ask your manager"
	tenant := engine.AccessRequest{
		ID:             "req-tenant",
		Kind:           engine.KindTenant,
		Account:        "tom-sawyer",
		Requester:      "elizabeth",
		Status:         engine.StatusGranted,
		CreatedAt:      at(20),
		DecidedBy:      "tom-admin",
		DecidedAt:      atPtr(21),
		Message:        "welcome",
		ExpiresAt:      atPtr(1000),
		Name:           "SupportAccess",
		RequestMessage: "we support you",
		Partner:        "classics",
		Users:          []string{"caroline", "charlotte"},
	}
	pending := newRequest("req-pending", "acme", "bob", engine.StatusPending, 30)
	commit(t, s, engine.Change{Requests: []engine.AccessRequest{account, tenant, pending}})

	for _, want := range []engine.AccessRequest{account, tenant, pending} {
		t.Run(want.ID, func(t *testing.T) {
			got, err := s.GetRequest(t.Context(), want.ID)
			require.NoError(t, err)
			assert.Equal(t, normRequest(want), normRequest(got))
		})
	}

	granted := pending
	granted.Status = engine.StatusGranted
	granted.DecidedBy = "root"
	granted.DecidedAt = atPtr(31)
	commit(t, s, engine.Change{Requests: []engine.AccessRequest{granted}})
	got, err := s.GetRequest(t.Context(), pending.ID)
	require.NoError(t, err)
	assert.Equal(t, normRequest(granted), normRequest(got))

	byAccount, err := s.ListRequests(t.Context(), engine.RequestFilter{Account: "acme"})
	require.NoError(t, err)
	assert.Equal(t, []string{"req-pending", "req-account"}, requestIDs(byAccount), "a rewritten request is listed once")
	stillPending, err := s.ListRequests(t.Context(), engine.RequestFilter{Requester: "bob", Status: engine.StatusPending})
	require.NoError(t, err)
	assert.Empty(t, stillPending, "a request is listed under its current status only")

	_, err = s.GetRequest(t.Context(), "req-missing")
	require.ErrorIs(t, err, engine.ErrNotFound)
}
