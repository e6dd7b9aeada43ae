package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// testCommitVersions: a commit succeeds only at the versions it read (0 for
// an account never committed) and increments each of them by one (R40).
func testCommitVersions(t *testing.T, s engine.Store) {
	createAccounts(t, s, newAccount("a"), newAccount("b"))
	assert.Equal(t, uint64(1), version(t, s, "a"))
	assert.Equal(t, uint64(1), version(t, s, "b"))

	commit(t, s, engine.Change{Versions: map[string]uint64{"a": 1}})
	assert.Equal(t, uint64(2), version(t, s, "a"))
	assert.Equal(t, uint64(1), version(t, s, "b"), "an account outside Versions keeps its version")

	commit(t, s, engine.Change{Versions: map[string]uint64{"a": 2, "b": 1}, Members: []engine.Membership{newMember("b", "u")}})
	assert.Equal(t, uint64(3), version(t, s, "a"))
	assert.Equal(t, uint64(2), version(t, s, "b"))

	conflicts := []struct {
		name     string
		versions map[string]uint64
	}{
		{"stale version", map[string]uint64{"a": 2}},
		{"version from the future", map[string]uint64{"a": 4}},
		{"one stale account among current ones", map[string]uint64{"a": 3, "b": 1}},
		{"account created twice", map[string]uint64{"b": 0}},
		{"never committed account expected later", map[string]uint64{"c": 1}},
	}
	for _, tc := range conflicts {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Commit(t.Context(), engine.Change{Versions: tc.versions, Users: []engine.User{newUser("x")}})
			require.ErrorIs(t, err, engine.ErrConflict)
			assert.Equal(t, uint64(3), version(t, s, "a"))
			assert.Equal(t, uint64(2), version(t, s, "b"))
			_, err = s.GetUser(t.Context(), "x")
			require.ErrorIs(t, err, engine.ErrNotFound)
		})
	}
}

// testCommitConflictWritesNothing: a change refused for one stale version
// writes none of its parts and bumps no version (R40, R45).
func testCommitConflictWritesNothing(t *testing.T, s engine.Store) {
	acme, other := newAccount("acme"), newAccount("other")
	createAccounts(t, s, acme, other)
	kept := newMember("acme", "kept")
	commit(t, s, engine.Change{
		Versions: map[string]uint64{"acme": 1},
		Members:  []engine.Membership{kept},
		Audit:    []engine.AuditRecord{{ID: "au-0", Account: "acme", Actor: "root", Action: "member.add", At: at(1)}},
		Events:   []engine.Event{{ID: "ev-0", Type: "user.added", Account: "acme", At: at(1)}},
	})

	renamed := acme
	renamed.Name = "Renamed"
	expiring := newMember("acme", "new")
	expiring.ExpiresAt = atPtr(-10)
	err := s.Commit(t.Context(), engine.Change{
		Versions:         map[string]uint64{"acme": 2, "other": 0},
		Users:            []engine.User{newUser("new")},
		Accounts:         []engine.Account{renamed},
		Members:          []engine.Membership{expiring},
		RemovedMembers:   []engine.MemberRef{{Account: "acme", User: "kept"}},
		Requests:         []engine.AccessRequest{newRequest("req-new", "acme", "new", engine.StatusPending, 2)},
		Grants:           []engine.TenantGrants{{Tenant: "acme", User: "new", Grants: []engine.Grant{{Request: "req-new", GrantedBy: "root"}}}},
		ExclusiveTenants: []string{"acme"},
		Audit:            []engine.AuditRecord{{ID: "au-1", Account: "acme", Actor: "root", Action: "member.add", At: at(2)}},
		Events:           []engine.Event{{ID: "ev-1", Type: "user.added", Account: "acme", At: at(2)}},
	})
	require.ErrorIs(t, err, engine.ErrConflict)

	ctx := t.Context()
	assert.Equal(t, uint64(2), version(t, s, "acme"))
	assert.Equal(t, uint64(1), version(t, s, "other"))
	_, err = s.GetUser(ctx, "new")
	assert.ErrorIs(t, err, engine.ErrNotFound, "user")
	got, err := s.GetAccount(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, acme.Name, got.Name, "account")
	_, err = s.GetMember(ctx, "acme", "new")
	assert.ErrorIs(t, err, engine.ErrNotFound, "added member")
	_, err = s.GetMember(ctx, "acme", "kept")
	assert.NoError(t, err, "removed member")
	_, err = s.GetRequest(ctx, "req-new")
	assert.ErrorIs(t, err, engine.ErrNotFound, "request")
	listed, err := s.ListRequests(ctx, engine.RequestFilter{Requester: "new"})
	require.NoError(t, err)
	assert.Empty(t, listed, "request index")
	snap, err := s.Snapshot(ctx, "new", "acme")
	require.NoError(t, err)
	assert.Equal(t, engine.Snapshot{Account: snap.Account}, snap, "grants, exclusivity, membership")
	due, err := s.DueExpiries(ctx, at(0), 0)
	require.NoError(t, err)
	assert.Empty(t, due, "expiry index")
	audit, err := s.ListAudit(ctx, "acme", "", 0, engine.Ascending)
	require.NoError(t, err)
	assert.Equal(t, []string{"au-0"}, auditIDs(audit), "audit")
	events, err := s.ListEvents(ctx, "", 0, engine.Ascending)
	require.NoError(t, err)
	assert.Equal(t, []string{"ev-0"}, eventIDs(events), "events")
}

// testRemovedMembers: RemovedMembers deletes exactly the named memberships,
// including one written by the same change.
func testRemovedMembers(t *testing.T, s engine.Store) {
	createAccounts(t, s, newAccount("acme"), newAccount("other"))
	commit(t, s, engine.Change{Members: []engine.Membership{
		newMember("acme", "alice"), newMember("acme", "bob"), newMember("other", "alice"),
	}})

	commit(t, s, engine.Change{
		Members:        []engine.Membership{newMember("acme", "carol")},
		RemovedMembers: []engine.MemberRef{{Account: "acme", User: "alice"}, {Account: "acme", User: "carol"}},
	})

	_, err := s.GetMember(t.Context(), "acme", "alice")
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = s.GetMember(t.Context(), "acme", "carol")
	require.ErrorIs(t, err, engine.ErrNotFound)
	members, err := s.ListMembers(t.Context(), "acme")
	require.NoError(t, err)
	assert.Equal(t, []string{"bob"}, memberUsers(members))
	snap, err := s.Snapshot(t.Context(), "alice", "acme")
	require.NoError(t, err)
	assert.Nil(t, snap.Membership)
	_, err = s.GetMember(t.Context(), "other", "alice")
	assert.NoError(t, err, "the same user elsewhere stays")
}

// testGrants: a TenantGrants entry replaces the user's grants on the tenant;
// an empty one removes them (R38, R39).
func testGrants(t *testing.T, s engine.Store) {
	createAccounts(t, s, newAccount("tenant"))
	first := engine.Grant{Request: "r1", GrantedBy: "admin", ExpiresAt: atPtr(60)}
	second := engine.Grant{Request: "r2", GrantedBy: "admin"}
	commit(t, s, engine.Change{Grants: []engine.TenantGrants{
		{Tenant: "tenant", User: "alice", Grants: []engine.Grant{first}},
		{Tenant: "tenant", User: "bob", Grants: []engine.Grant{first, second}},
	}})

	commit(t, s, engine.Change{Grants: []engine.TenantGrants{
		{Tenant: "tenant", User: "alice", Grants: []engine.Grant{second}},
		{Tenant: "tenant", User: "bob", Grants: []engine.Grant{}},
	}})

	tests := []struct {
		user string
		want []engine.Grant
	}{
		{"alice", []engine.Grant{second}},
		{"bob", nil},
	}
	for _, tc := range tests {
		t.Run(tc.user, func(t *testing.T) {
			snap, err := s.Snapshot(t.Context(), tc.user, "tenant")
			require.NoError(t, err)
			assert.Equal(t, normAll(tc.want, normGrant), normAll(snap.TenantGrants, normGrant))
		})
	}
}
