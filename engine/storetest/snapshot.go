package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// testSnapshot: each part of a snapshot is present when it exists and nil
// otherwise (R1-R7), the partner membership is the subject's membership in
// the account's partner and the tenant grants are the grants on that tenant
// naming the subject (R39). Unknown subjects and accounts give empty parts,
// never errors.
func testSnapshot(t *testing.T, s engine.Store) {
	// The worked example of SPEC section 8, after tom-sawyer granted.
	classics := newAccount("classics")
	tom := newAccount("tom-sawyer")
	tom.Partner = classics.ID
	acre := newAccount("hundred-acre")
	acre.Partner = classics.ID
	createAccounts(t, s, classics, tom, acre)

	users := map[string]engine.User{}
	for _, id := range []string{"elizabeth", "caroline", "charlotte", "jane"} {
		u := newUser(id)
		u.Organization = classics.ID
		users[id] = u
	}
	elizabethAtClassics := newMember(classics.ID, "elizabeth")
	elizabethAtClassics.Roles = []string{"tm_admin"}
	janeAtClassics := newMember(classics.ID, "jane")
	janeAtClassics.Roles = []string{"impersonator"}
	charlotteAtTom := newMember(tom.ID, "charlotte")
	caroline := engine.Grant{Request: "req-tom", GrantedBy: "tom-admin", ExpiresAt: atPtr(900)}
	charlotte := []engine.Grant{caroline, {Request: "req-tom-2", GrantedBy: "tom-admin"}}
	charlotteAcre := []engine.Grant{{Request: "req-acre", GrantedBy: "acre-admin"}}
	commit(t, s, engine.Change{
		Users:   []engine.User{users["elizabeth"], users["caroline"], users["charlotte"], users["jane"]},
		Members: []engine.Membership{elizabethAtClassics, janeAtClassics, charlotteAtTom},
		Grants: []engine.TenantGrants{
			{Tenant: tom.ID, User: "caroline", Grants: []engine.Grant{caroline}},
			{Tenant: tom.ID, User: "charlotte", Grants: charlotte},
			{Tenant: acre.ID, User: "charlotte", Grants: charlotteAcre},
		},
		ExclusiveTenants: []string{tom.ID},
	})

	userPtr := func(id string) *engine.User { u := users[id]; return &u }
	tests := []struct {
		name             string
		subject, account string
		want             engine.Snapshot
	}{
		{
			name: "member of the tenant with grants", subject: "charlotte", account: tom.ID,
			want: engine.Snapshot{User: userPtr("charlotte"), Account: &tom, Membership: &charlotteAtTom,
				TenantExclusive: true, TenantGrants: charlotte},
		},
		{
			name: "partner employee with one grant", subject: "caroline", account: tom.ID,
			want: engine.Snapshot{User: userPtr("caroline"), Account: &tom,
				TenantExclusive: true, TenantGrants: []engine.Grant{caroline}},
		},
		{
			name: "partner member without grant on an exclusive tenant", subject: "jane", account: tom.ID,
			want: engine.Snapshot{User: userPtr("jane"), Account: &tom, PartnerMembership: &janeAtClassics,
				TenantExclusive: true},
		},
		{
			name: "partner member on a tenant not yet exclusive", subject: "elizabeth", account: acre.ID,
			want: engine.Snapshot{User: userPtr("elizabeth"), Account: &acre, PartnerMembership: &elizabethAtClassics},
		},
		{
			name: "grants of another tenant stay there", subject: "charlotte", account: acre.ID,
			want: engine.Snapshot{User: userPtr("charlotte"), Account: &acre, TenantGrants: charlotteAcre},
		},
		{
			name: "account without partner", subject: "elizabeth", account: classics.ID,
			want: engine.Snapshot{User: userPtr("elizabeth"), Account: &classics, Membership: &elizabethAtClassics},
		},
		{
			name: "unknown subject", subject: "ghost", account: tom.ID,
			want: engine.Snapshot{Account: &tom, TenantExclusive: true},
		},
		{
			name: "unknown account", subject: "jane", account: "nowhere",
			want: engine.Snapshot{User: userPtr("jane")},
		},
		{
			name: "unknown subject and account", subject: "ghost", account: "nowhere",
			want: engine.Snapshot{},
		},
		{
			name: "empty subject and account", subject: "", account: "",
			want: engine.Snapshot{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Snapshot(t.Context(), tc.subject, tc.account)
			require.NoError(t, err)
			assert.Equal(t, normSnapshot(tc.want), normSnapshot(got))
		})
	}
}
