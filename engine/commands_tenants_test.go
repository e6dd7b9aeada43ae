package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// classics builds the directory of SPEC section 8: the reseller classics,
// its tm_admin elizabeth, its employees caroline, charlotte and jane (who
// holds impersonator there), and its tenants tom-sawyer (admin tom) and
// hundred-acre (admin pooh).
func (w *world) classics() {
	w.t.Helper()
	w.account(engine.Account{ID: "classics", Name: "Classics, Inc."})
	for _, id := range []string{"elizabeth", "caroline", "charlotte", "jane"} {
		w.employee(id, "classics")
	}
	w.account(engine.Account{ID: "pemberley", Name: "Pemberley"})
	w.employee("darcy", "pemberley")
	w.users("tom", "pooh")
	w.account(engine.Account{ID: "tom-sawyer", Name: "Tom Sawyer Fence Painting Co.", Partner: "classics"})
	w.account(engine.Account{ID: "hundred-acre", Name: "Hundred Acre Wood Art Gallery", Partner: "classics"})
	w.account(engine.Account{ID: "netherfield", Name: "Netherfield", Partner: "pemberley"})
	w.member(engine.Membership{Account: "classics", User: "elizabeth", Roles: []string{"tm_admin"}})
	w.member(engine.Membership{Account: "classics", User: "jane", Roles: []string{"impersonator"}})
	w.member(engine.Membership{Account: "tom-sawyer", User: "tom", Roles: []string{"account_admin"}})
	w.member(engine.Membership{Account: "hundred-acre", User: "pooh", Roles: []string{"account_admin"}})
}

var supportAccess = engine.TenantRequest{
	Name:    "SupportAccess",
	Message: "Caroline and Charlotte manage your account",
	Associations: []engine.Association{
		{Users: []string{"caroline"}, Tenants: []string{"tom-sawyer"}},
		{Users: []string{"charlotte"}, Tenants: []string{"tom-sawyer", "hundred-acre"}},
	},
}

// impersonates reports whether user may impersonate tenant by both methods (R39).
func (w *world) impersonates(user, tenant string) bool {
	w.t.Helper()
	support := w.allowed(user, "impersonate.support", tenant, "")
	configure := w.allowed(user, "impersonate.configure", tenant, "")
	require.Equal(w.t, support, configure, "both methods answer alike")
	return support
}

// R35-R39: the worked example of SPEC section 8, at engine level.
func TestTenantRequestsWorkedExample(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.classics()

		// R39: before any grant, the legacy method.
		assert.True(t, w.impersonates("jane", "tom-sawyer"))
		assert.True(t, w.impersonates("jane", "hundred-acre"))
		assert.False(t, w.impersonates("caroline", "tom-sawyer"))

		// R36: one request per tenant, with exactly its users.
		reqs, err := w.e.RequestTenantAccess(w.ctx, "elizabeth", supportAccess)
		require.NoError(t, err)
		require.Len(t, reqs, 2)
		tomReq, acreReq := reqs[0], reqs[1]
		assert.Equal(t, "tom-sawyer", tomReq.Account)
		assert.Equal(t, []string{"caroline", "charlotte"}, tomReq.Users)
		assert.Equal(t, "hundred-acre", acreReq.Account)
		assert.Equal(t, []string{"charlotte"}, acreReq.Users)
		for _, r := range reqs {
			assert.Equal(t, engine.KindTenant, r.Kind)
			assert.Equal(t, engine.StatusPending, r.Status)
			assert.Equal(t, "classics", r.Partner)
			assert.Equal(t, "SupportAccess", r.Name)
		}

		// R37, R42: the tenant side is told, without the name and users.
		created := eventsOf(w.events(), engine.EventRequestCreated)
		require.Len(t, created, 2)
		assert.Equal(t, []string{"tom"}, created[0].To)
		assert.Equal(t, []string{"pooh"}, created[1].To)
		for _, ev := range created {
			assert.NotContains(t, string(ev.Data), "SupportAccess")
			assert.NotContains(t, string(ev.Data), "charlotte")
			assert.Contains(t, string(ev.Data), "Caroline and Charlotte manage your account")
		}
		seen, err := w.e.GetRequest(w.ctx, "tom", tomReq.ID)
		require.NoError(t, err)
		assert.Empty(t, seen.Name)
		assert.Empty(t, seen.Users)
		assert.Equal(t, "classics", seen.Partner)
		assert.Equal(t, supportAccess.Message, seen.RequestMessage)
		queue, err := w.e.ListRequests(w.ctx, "tom", engine.RequestFilter{Account: "tom-sawyer"})
		require.NoError(t, err)
		require.Len(t, queue, 1)
		assert.Empty(t, queue[0].Name)
		assert.Empty(t, queue[0].Users)
		full, err := w.e.GetRequest(w.ctx, "elizabeth", tomReq.ID)
		require.NoError(t, err)
		assert.Equal(t, "SupportAccess", full.Name)
		assert.Equal(t, []string{"caroline", "charlotte"}, full.Users)
		for _, rec := range w.audit("tom-sawyer") {
			assert.NotContains(t, string(rec.After), "SupportAccess", "R37: the tenant's audit trail hides the name")
		}
		assert.Contains(t, string(w.audit("classics")[len(w.audit("classics"))-1].After), "SupportAccess")

		// R38: only the tenant's account_admin grants.
		// pooh may not see tom-sawyer's request: it is unknown to him (R43).
		_, err = w.e.Approve(w.ctx, "pooh", tomReq.ID, engine.Approval{})
		require.ErrorIs(t, err, engine.ErrNotFound)
		_, err = w.e.Approve(w.ctx, "tom", tomReq.ID, engine.Approval{Scope: "account", Role: "account_user"})
		assert.Contains(t, violationsOf(t, err, false), "a tenant request is granted as it was asked: scope must not be given (R38)")

		until := commandEpoch.Add(2 * time.Hour)
		granted, err := w.e.Approve(w.ctx, "tom", tomReq.ID, engine.Approval{Message: "go ahead", ExpiresAt: &until})
		require.NoError(t, err)
		assert.Equal(t, engine.StatusGranted, granted.Status)
		assert.Equal(t, until, *granted.ExpiresAt)
		assert.Empty(t, granted.Name, "R37: the tenant's answer hides the request name")
		assert.Empty(t, granted.Users, "R37: the tenant's answer hides the users")

		// R39: tom-sawyer is exclusive: caroline and charlotte, not jane.
		assert.True(t, w.impersonates("caroline", "tom-sawyer"))
		assert.True(t, w.impersonates("charlotte", "tom-sawyer"))
		assert.False(t, w.impersonates("jane", "tom-sawyer"))
		// hundred-acre is not yet exclusive: jane still may, charlotte not yet.
		assert.True(t, w.impersonates("jane", "hundred-acre"))
		assert.False(t, w.impersonates("charlotte", "hundred-acre"))

		_, err = w.e.Approve(w.ctx, "pooh", acreReq.ID, engine.Approval{})
		require.NoError(t, err)
		assert.True(t, w.impersonates("charlotte", "hundred-acre"))
		assert.False(t, w.impersonates("jane", "hundred-acre"))
		assert.False(t, w.impersonates("caroline", "hundred-acre"))

		grantedEvents := eventsOf(w.events(), engine.EventRequestGranted)
		require.Len(t, grantedEvents, 2)
		assert.Equal(t, []string{"elizabeth", "caroline", "charlotte"}, grantedEvents[0].To)
		assert.Contains(t, string(grantedEvents[0].Data), "go ahead")

		// R39a: the requester lists their tenants by status, with the
		// tenant admin's message and expiry.
		mine, err := w.e.ListRequests(w.ctx, "elizabeth", engine.RequestFilter{Requester: "elizabeth", Status: engine.StatusGranted})
		require.NoError(t, err)
		require.Len(t, mine, 2)
		byTenant := map[string]engine.AccessRequest{}
		for _, r := range mine {
			byTenant[r.Account] = r
		}
		assert.Equal(t, "go ahead", byTenant["tom-sawyer"].Message)
		assert.Equal(t, until, *byTenant["tom-sawyer"].ExpiresAt)
		assert.Equal(t, "SupportAccess", byTenant["hundred-acre"].Name)
	})
}

// R35: who may request tenant access, and what a request must hold.
func TestTenantRequestRules(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.classics()

		_, err := w.e.RequestTenantAccess(w.ctx, "jane", supportAccess)
		assert.Equal(t, []string{"jane may not request tenant access for classics: that takes the role tm_admin there (R35)"}, violationsOf(t, err, true))
		_, err = w.e.RequestTenantAccess(w.ctx, "tom", supportAccess)
		assert.Equal(t, []string{"tom is not an employee of a reseller: tenant requests are made by a tm_admin of the reseller they work for (R35)"}, violationsOf(t, err, true))

		tests := []struct {
			name       string
			request    engine.TenantRequest
			violations []string
		}{
			{
				name:       "name_with_space",
				request:    engine.TenantRequest{Name: "Support Access", Associations: supportAccess.Associations},
				violations: []string{"request name must contain only letters and digits, 1 to 64 of them (no spaces, no special characters) (R35)"},
			},
			{
				name:       "no_association",
				request:    engine.TenantRequest{Name: "Support"},
				violations: []string{"a tenant request needs at least one association linking users to tenants (R35)"},
			},
			{
				name: "strangers",
				request: engine.TenantRequest{Name: "Support", Associations: []engine.Association{
					{Users: []string{"caroline", "darcy", "ghost"}, Tenants: []string{"tom-sawyer", "netherfield", "nowhere"}},
				}},
				violations: []string{
					"darcy is not an employee of classics (R35)",
					"ghost is not an employee of classics (R35)",
					"netherfield does not have classics as its partner (R35)",
					"nowhere does not have classics as its partner (R35)",
				},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := w.e.RequestTenantAccess(w.ctx, "elizabeth", tt.request)
				assert.Equal(t, tt.violations, violationsOf(t, err, false))
			})
		}
		mine, err := w.e.ListRequests(w.ctx, "elizabeth", engine.RequestFilter{Requester: "elizabeth"})
		require.NoError(t, err)
		assert.Empty(t, mine, "refused requests change nothing")

		_, err = w.e.RequestTenantAccess(w.ctx, "elizabeth", engine.TenantRequest{
			Name: "Support", Associations: []engine.Association{{Users: []string{"bad id"}, Tenants: []string{"tom-sawyer"}}},
		})
		var fe *engine.FieldError
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, "associations[0].users[0]", fe.Field)
	})
}

// R38, R39, R7: the expiry of a grant changes at any time; once it passes,
// access ends, the request is final, and the tenant stays exclusive.
func TestTenantGrantExpiryAndRevocation(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.classics()
		reqs, err := w.e.RequestTenantAccess(w.ctx, "elizabeth", supportAccess)
		require.NoError(t, err)
		tomReq, acreReq := reqs[0], reqs[1]
		_, err = w.e.Approve(w.ctx, "tom", tomReq.ID, engine.Approval{})
		require.NoError(t, err)
		_, err = w.e.Approve(w.ctx, "pooh", acreReq.ID, engine.Approval{})
		require.NoError(t, err)

		// Add, change and remove the expiry.
		in30 := commandEpoch.Add(30 * time.Minute)
		r, err := w.e.SetRequestExpiry(w.ctx, "tom", tomReq.ID, &in30)
		require.NoError(t, err)
		assert.Equal(t, in30, *r.ExpiresAt)
		assert.Empty(t, r.Name, "R37")
		assert.Empty(t, r.Users, "R37")
		r, err = w.e.SetRequestExpiry(w.ctx, "tom", tomReq.ID, nil)
		require.NoError(t, err)
		assert.Nil(t, r.ExpiresAt)
		_, err = w.e.SetRequestExpiry(w.ctx, "elizabeth", tomReq.ID, &in30)
		require.ErrorIs(t, err, engine.ErrForbidden, "the reseller does not set the tenant's expiry")
		past := commandEpoch.Add(-time.Minute)
		_, err = w.e.SetRequestExpiry(w.ctx, "tom", tomReq.ID, &past)
		assert.Equal(t, []string{"the expiry must be in the future (it is 2025-11-21T08:59:00Z) (R38)"}, violationsOf(t, err, false))
		_, err = w.e.SetRequestExpiry(w.ctx, "tom", tomReq.ID, &in30)
		require.NoError(t, err)
		changed := eventsOf(w.events(), engine.EventRequestExpiryChanged)
		require.Len(t, changed, 3)
		assert.Equal(t, []string{"elizabeth", "caroline", "charlotte"}, changed[0].To)

		// R7: access ends at the instant, before ExpireDue runs.
		w.clk.Advance(30 * time.Minute)
		assert.False(t, w.impersonates("caroline", "tom-sawyer"))
		assert.False(t, w.impersonates("jane", "tom-sawyer"), "R39: exclusivity stays after the grant expired")
		seen, err := w.e.GetRequest(w.ctx, "elizabeth", tomReq.ID)
		require.NoError(t, err)
		assert.Equal(t, engine.StatusExpired, seen.Status)

		// R38: expired is final.
		later := commandEpoch.Add(5 * time.Hour)
		_, err = w.e.SetRequestExpiry(w.ctx, "tom", tomReq.ID, &later)
		require.ErrorIs(t, err, engine.ErrConflict)
		assert.Contains(t, err.Error(), "request "+tomReq.ID+" expired: access ended and a new request is needed (R38)")

		n, err := w.e.ExpireDue(w.ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		expired, err := w.e.ListRequests(w.ctx, "elizabeth", engine.RequestFilter{Requester: "elizabeth", Status: engine.StatusExpired})
		require.NoError(t, err)
		require.Len(t, expired, 1)
		assert.Equal(t, tomReq.ID, expired[0].ID)
		ended := eventsOf(w.events(), engine.EventAccessExpired)
		require.Len(t, ended, 1)
		assert.Equal(t, []string{"elizabeth", "caroline", "charlotte"}, ended[0].To)
		tomTrail := w.audit("tom-sawyer")
		assert.Equal(t, engine.ActionRequestExpired, tomTrail[len(tomTrail)-1].Action)
		_, err = w.e.Approve(w.ctx, "tom", tomReq.ID, engine.Approval{})
		require.ErrorIs(t, err, engine.ErrConflict)

		// Revocation ends hundred-acre's grant; exclusivity stays (R39).
		assert.True(t, w.impersonates("charlotte", "hundred-acre"))
		revoked, err := w.e.Revoke(w.ctx, "pooh", acreReq.ID, "project over")
		require.NoError(t, err)
		assert.Empty(t, revoked.Users, "R37: the tenant's answer hides the users")
		assert.Equal(t, engine.StatusRevoked, revoked.Status)
		assert.False(t, w.impersonates("charlotte", "hundred-acre"))
		assert.False(t, w.impersonates("jane", "hundred-acre"))
		_, err = w.e.Revoke(w.ctx, "pooh", acreReq.ID, "")
		require.ErrorIs(t, err, engine.ErrConflict)
		revokedEvents := eventsOf(w.events(), engine.EventRequestRevoked)
		require.Len(t, revokedEvents, 1)
		assert.Contains(t, string(revokedEvents[0].Data), "project over")

		// A new request can be granted again.
		again, err := w.e.RequestTenantAccess(w.ctx, "elizabeth", engine.TenantRequest{
			Name: "SupportAgain", Associations: []engine.Association{{Users: []string{"caroline"}, Tenants: []string{"tom-sawyer"}}},
		})
		require.NoError(t, err)
		_, err = w.e.Approve(w.ctx, "tom", again[0].ID, engine.Approval{})
		require.NoError(t, err)
		assert.True(t, w.impersonates("caroline", "tom-sawyer"))
		assert.False(t, w.impersonates("charlotte", "tom-sawyer"))
	})
}

// Revoking an account request removes the membership it created (R12
// still applies).
func TestRevokeAccountRequest(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)
		r := w.request("carol", "")
		_, err := w.e.Approve(w.ctx, "alice", r.ID, engine.Approval{Scope: "account", Role: "account_user"})
		require.NoError(t, err)
		require.True(t, w.allowed("carol", "use", "acme", ""))

		// vera may not see the request: it is unknown to her (R43).
		_, err = w.e.Revoke(w.ctx, "vera", r.ID, "")
		require.ErrorIs(t, err, engine.ErrNotFound)
		_, err = w.e.Revoke(w.ctx, "carol", r.ID, "")
		require.ErrorIs(t, err, engine.ErrForbidden, "the requester sees it, and may not revoke it")
		_, err = w.e.Revoke(w.ctx, "alice", r.ID, "no longer needed")
		require.NoError(t, err)
		assert.False(t, w.allowed("carol", "use", "acme", ""))
		_, err = w.e.GetMember(w.ctx, sysAdmin, "acme", "carol")
		require.ErrorIs(t, err, engine.ErrNotFound)
		_, err = w.e.SetRequestExpiry(w.ctx, "alice", r.ID, nil)
		require.ErrorIs(t, err, engine.ErrConflict)
	})
}
