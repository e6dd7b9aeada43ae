package engine_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// allowed asks the decision endpoint's question.
func (w *world) allowed(subject, action, account, va string) bool {
	w.t.Helper()
	d := w.e.Decide(w.ctx, engine.DecisionRequest{
		Subject: subject, Action: action, Resource: engine.Resource{Account: account, VirtualAccount: va},
	})
	require.Empty(w.t, d.Error)
	return d.Allow
}

// request files user's access request for acme.
func (w *world) request(user, justification string) engine.AccessRequest {
	w.t.Helper()
	r, err := w.e.RequestAccess(w.ctx, user, "acme", justification)
	require.NoError(w.t, err)
	return r
}

// R20-R22, R25, R40-R42: the Smart Account flow: a user requests access,
// a decider approves it with scope account or virtual_accounts, the
// membership, request, audit trail and events agree, and a decided request
// cannot be decided again.
func TestSmartAccountRequestAndApprove(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)

		r := w.request("carol", "I run the lab")
		assert.Equal(t, engine.StatusPending, r.Status)
		assert.Equal(t, engine.KindAccount, r.Kind)
		assert.Equal(t, commandEpoch, r.CreatedAt)
		created := eventsOf(w.events(), engine.EventRequestCreated)
		require.Len(t, created, 1)
		assert.Equal(t, []string{"alice", "bob"}, created[0].To, "R42: the deciders of acme are told")

		// R20: one pending request per user and account; only known users.
		_, err := w.e.RequestAccess(w.ctx, "carol", "acme", "")
		assert.Equal(t, []string{"carol already has a pending request for acme (" + r.ID + "): wait for its decision (R20)"}, violationsOf(t, err, false))
		_, err = w.e.RequestAccess(w.ctx, "ghost", "acme", "")
		require.ErrorIs(t, err, engine.ErrForbidden)
		_, err = w.e.RequestAccess(w.ctx, "carol", "nowhere", "")
		require.ErrorIs(t, err, engine.ErrNotFound)

		// R22: a scope that does not fit is refused with a clear reason.
		mismatches := []struct {
			name      string
			approval  engine.Approval
			violation string
		}{
			{"account_role_with_virtual_accounts", engine.Approval{Scope: "account", Role: "account_user", VirtualAccounts: []string{"va1"}},
				"scope account takes an account role and no virtual accounts: to grant virtual accounts, use scope virtual_accounts (R22)"},
			{"account_role_on_virtual_accounts", engine.Approval{Scope: "virtual_accounts", Role: "account_user", VirtualAccounts: []string{"va1"}},
				"role must be va_admin, va_user or va_viewer (it is account_user): scope virtual_accounts takes a virtual-account role (R2, R22)"},
			{"unknown_virtual_account", engine.Approval{Scope: "virtual_accounts", Role: "va_user", VirtualAccounts: []string{"va9"}},
				"virtual_accounts[0] must be a virtual account of acme: va1 or va2 (it is va9) (R22)"},
			{"no_role", engine.Approval{Scope: "account"}, "scope account needs one role (R22)"},
			{"nothing", engine.Approval{}, "choose a scope (account or virtual_accounts), a contact type or privileges to approve the request (R22, R23)"},
		}
		for _, tt := range mismatches {
			t.Run(tt.name, func(t *testing.T) {
				_, err := w.e.Approve(w.ctx, "alice", r.ID, tt.approval)
				assert.Contains(t, violationsOf(t, err, false), tt.violation)
			})
		}

		// R21: who decides: not a viewer, not the requester.
		// A viewer may not see the request either: it is unknown to her (R43).
		_, err = w.e.Approve(w.ctx, "vera", r.ID, engine.Approval{Scope: "account", Role: "account_user"})
		require.ErrorIs(t, err, engine.ErrNotFound)
		own := w.request("dan", "")
		w.member(engine.Membership{Account: "acme", User: "dan", Roles: []string{"account_admin"}})
		_, err = w.e.Deny(w.ctx, "dan", own.ID, engine.Denial{})
		assert.Equal(t, []string{"dan may not decide their own request"}, violationsOf(t, err, true))

		granted, err := w.e.Approve(w.ctx, "bob", r.ID, engine.Approval{Scope: "account", Role: "account_user", Message: "welcome aboard"})
		require.NoError(t, err)
		assert.Equal(t, engine.StatusGranted, granted.Status)
		assert.Equal(t, "bob", granted.DecidedBy)
		assert.Equal(t, "welcome aboard", granted.Message)
		m, err := w.e.GetMember(w.ctx, "carol", "acme", "carol")
		require.NoError(t, err)
		assert.Equal(t, []string{"account_user"}, m.Roles)
		assert.Equal(t, r.ID, m.Request)
		assert.Equal(t, "bob", m.AddedBy)
		assert.Equal(t, "I run the lab", m.Justification)
		assert.True(t, w.allowed("carol", "use", "acme", "va2"), "R3: account_user acts as va_user on every virtual account")

		// R25: deciding it again is a conflict, whoever tries.
		_, err = w.e.Approve(w.ctx, "alice", r.ID, engine.Approval{Scope: "account", Role: "account_admin"})
		require.ErrorIs(t, err, engine.ErrConflict)
		_, err = w.e.Deny(w.ctx, "alice", r.ID, engine.Denial{})
		require.ErrorIs(t, err, engine.ErrConflict)
		assert.Contains(t, err.Error(), "request "+r.ID+" is granted: only a pending request can be decided (R25)")

		// Scope virtual_accounts: one role on the named virtual accounts.
		e := w.request("erin", "")
		_, err = w.e.Approve(w.ctx, "alice", e.ID, engine.Approval{Scope: "virtual_accounts", Role: "va_user", VirtualAccounts: []string{"va1"}, Justification: "va1 pilot"})
		require.NoError(t, err)
		assert.True(t, w.allowed("erin", "use", "acme", "va1"))
		assert.False(t, w.allowed("erin", "use", "acme", "va2"))
		em, err := w.e.GetMember(w.ctx, sysAdmin, "acme", "erin")
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"va1": "va_user"}, em.VARoles)
		assert.Equal(t, "va1 pilot", em.Justification, "R23: the approver adds a justification the request lacked")

		// R41, R42: the trail and the events tell the story.
		var trail []string
		for _, rec := range w.audit("acme") {
			if rec.Target == r.ID || (rec.Target == "carol" && rec.Actor != sysAdmin) {
				trail = append(trail, rec.Action)
			}
		}
		assert.Equal(t, []string{engine.ActionRequestCreated, engine.ActionMemberAdded, engine.ActionRequestGranted}, trail)
		grantedEvents := eventsOf(w.events(), engine.EventRequestGranted)
		require.Len(t, grantedEvents, 2)
		assert.Equal(t, []string{"carol"}, grantedEvents[0].To)
		var data struct{ Message string }
		require.NoError(t, json.Unmarshal(grantedEvents[0].Data, &data))
		assert.Equal(t, "welcome aboard", data.Message)
	})
}

// R23, R10: an approval may name a secondary contact and privileges, never
// the primary contact, and the secondary contact limit holds.
func TestApproveContactAndPrivileges(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(map[string]any{"max_secondary_contacts": 2})
		carol, dan := w.request("carol", "billing"), w.request("dan", "")

		_, err := w.e.Approve(w.ctx, "alice", carol.ID, engine.Approval{Contact: engine.ContactPrimary})
		assert.Contains(t, violationsOf(t, err, false), "contact must be secondary, or none (it is primary) (R23)")
		_, err = w.e.Approve(w.ctx, "alice", carol.ID, engine.Approval{Contact: engine.ContactSecondary, Justification: "another"})
		assert.Equal(t, []string{"the request already has a justification: the approver may add one only when it had none (R23)"}, violationsOf(t, err, false))

		_, err = w.e.Approve(w.ctx, "alice", carol.ID, engine.Approval{
			Contact: engine.ContactSecondary, Privileges: map[string]string{"contact_updates": "update", "entitlements": "view"},
		})
		require.NoError(t, err)
		assert.True(t, w.allowed("carol", "contact_updates.update", "acme", ""))
		assert.False(t, w.allowed("carol", "entitlements.update", "acme", ""))

		_, err = w.e.Approve(w.ctx, "alice", dan.ID, engine.Approval{Contact: engine.ContactSecondary})
		assert.Equal(t, []string{"an account can have at most 2 secondary contacts (it has 2)"}, violationsOf(t, err, false))
		pending, err := w.e.GetRequest(w.ctx, "dan", dan.ID)
		require.NoError(t, err)
		assert.Equal(t, engine.StatusPending, pending.Status, "a refused approval changes nothing")
	})
}

// R24: denial with a reason code and a message; an account may require
// the reason code.
func TestDenyWithReasonCodes(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(map[string]any{"require_deny_reason": true})
		r := w.request("carol", "")

		_, err := w.e.Deny(w.ctx, "alice", r.ID, engine.Denial{Message: "no"})
		assert.Equal(t, []string{"acme requires a reason_code to deny a request: choose access_not_needed, no_business_relationship, other or unknown_requester (R24)"}, violationsOf(t, err, false))
		_, err = w.e.Deny(w.ctx, "alice", r.ID, engine.Denial{ReasonCode: "grumpy"})
		assert.Equal(t, []string{"reason_code must be unknown_requester, access_not_needed, no_business_relationship or other (it is grumpy) (R24)"}, violationsOf(t, err, false))

		denied, err := w.e.Deny(w.ctx, "bob", r.ID, engine.Denial{ReasonCode: "no_business_relationship", Message: "we do not know your company"})
		require.NoError(t, err)
		assert.Equal(t, engine.StatusDenied, denied.Status)
		assert.Equal(t, "no_business_relationship", denied.ReasonCode)
		assert.Equal(t, "we do not know your company", denied.Message)

		evs := eventsOf(w.events(), engine.EventRequestDenied)
		require.Len(t, evs, 1)
		assert.Equal(t, []string{"carol"}, evs[0].To)
		var data struct {
			ReasonCode string `json:"reason_code"`
			Message    string `json:"message"`
		}
		require.NoError(t, json.Unmarshal(evs[0].Data, &data))
		assert.Equal(t, "no_business_relationship", data.ReasonCode)
		assert.Equal(t, "we do not know your company", data.Message)
		recs := w.audit("acme")
		assert.Equal(t, engine.ActionRequestDenied, recs[len(recs)-1].Action)
		assert.Equal(t, "no_business_relationship: we do not know your company", recs[len(recs)-1].Reason)

		// R25: a denied request stays denied.
		_, err = w.e.Approve(w.ctx, "alice", r.ID, engine.Approval{Scope: "account", Role: "account_viewer"})
		require.ErrorIs(t, err, engine.ErrConflict)
		_, err = w.e.GetMember(w.ctx, sysAdmin, "acme", "carol")
		require.ErrorIs(t, err, engine.ErrNotFound)

		// Without the setting, the reason code is optional.
		w.account(engine.Account{ID: "globex", Name: "Globex"})
		w.member(engine.Membership{Account: "globex", User: "alice", Roles: []string{"account_admin"}})
		g, err := w.e.RequestAccess(w.ctx, "dan", "globex", "")
		require.NoError(t, err)
		_, err = w.e.Deny(w.ctx, "alice", g.ID, engine.Denial{})
		require.NoError(t, err)
	})
}

// R43, R39a: who reads requests.
func TestRequestReads(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)
		r := w.request("carol", "")

		got, err := w.e.GetRequest(w.ctx, "carol", r.ID)
		require.NoError(t, err)
		assert.Equal(t, r.ID, got.ID)
		_, err = w.e.GetRequest(w.ctx, "bob", r.ID)
		require.NoError(t, err)
		_, err = w.e.GetRequest(w.ctx, "dan", r.ID)
		require.ErrorIs(t, err, engine.ErrNotFound, "a request of another account does not exist for dan")
		_, err = w.e.GetRequest(w.ctx, "carol", "01NOPE")
		require.ErrorIs(t, err, engine.ErrNotFound)

		mine, err := w.e.ListRequests(w.ctx, "carol", engine.RequestFilter{Requester: "carol", Status: engine.StatusPending})
		require.NoError(t, err)
		require.Len(t, mine, 1)
		_, err = w.e.ListRequests(w.ctx, "dan", engine.RequestFilter{Requester: "carol"})
		require.ErrorIs(t, err, engine.ErrForbidden)
		queue, err := w.e.ListRequests(w.ctx, "alice", engine.RequestFilter{Account: "acme", Status: engine.StatusPending})
		require.NoError(t, err)
		require.Len(t, queue, 1)
		none, err := w.e.ListRequests(w.ctx, "alice", engine.RequestFilter{Account: "acme", Status: engine.StatusGranted})
		require.NoError(t, err)
		assert.Empty(t, none)

		_, err = w.e.ListRequests(w.ctx, "alice", engine.RequestFilter{Account: "acme", Requester: "carol"})
		require.ErrorIs(t, err, engine.ErrInvalid)
		_, err = w.e.ListRequests(w.ctx, "alice", engine.RequestFilter{Account: "acme", Status: "lost"})
		require.ErrorIs(t, err, engine.ErrInvalid)
	})
}
