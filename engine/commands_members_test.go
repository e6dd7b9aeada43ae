package engine_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// secondary is a membership making user a secondary contact of acme.
func secondary(user string) engine.Membership {
	return engine.Membership{
		Account: "acme", User: user, Contact: engine.ContactSecondary,
		Privileges: map[string]string{"entitlements": "view"}, Justification: "support contract",
	}
}

// R26, R10, R41, R42: a manager adds users directly, with a justification,
// up to the secondary contact limit; each addition is audited and
// announced to the user.
func TestDirectAddUpToTheSecondaryLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)
		w.users("fay")

		// R26: a justification is required.
		noReason := secondary("carol")
		noReason.Justification = ""
		_, err := w.e.SetMember(w.ctx, "bob", noReason)
		assert.Equal(t, []string{"a justification is required to add carol to acme directly (R26)"}, violationsOf(t, err, false))

		// bob is a secondary contact with manage_access at update (R21, R26).
		m, err := w.e.SetMember(w.ctx, "bob", secondary("carol"))
		require.NoError(t, err)
		assert.Equal(t, "bob", m.AddedBy)
		assert.Equal(t, commandEpoch, m.AddedAt)
		for _, user := range []string{"dan", "erin"} {
			_, err := w.e.SetMember(w.ctx, "alice", secondary(user))
			require.NoError(t, err)
		}
		require.Equal(t, 4, w.contacts("acme", engine.ContactSecondary))

		// R10: the fifth secondary contact is refused and nothing changes.
		_, err = w.e.SetMember(w.ctx, "alice", secondary("fay"))
		assert.Equal(t, []string{"an account can have at most 4 secondary contacts (it has 4)"}, violationsOf(t, err, false))
		_, err = w.e.GetMember(w.ctx, sysAdmin, "acme", "fay")
		require.ErrorIs(t, err, engine.ErrNotFound)
		assert.Equal(t, 4, w.contacts("acme", engine.ContactSecondary))

		// Changing a contact who already is one is not an addition.
		change := secondary("dan")
		change.Privileges = map[string]string{"entitlements": "update"}
		_, err = w.e.SetMember(w.ctx, "alice", change)
		require.NoError(t, err)

		added := 0
		for _, rec := range w.audit("acme") {
			if rec.Action == engine.ActionMemberAdded && rec.Actor != sysAdmin {
				added++
				assert.Equal(t, "support contract", rec.Reason)
				assert.Equal(t, w.e.Policy().Revision, rec.PolicyRevision)
				assert.Nil(t, rec.Before)
				assert.NotEmpty(t, rec.After)
			}
		}
		assert.Equal(t, 3, added)
		welcomes := eventsOf(w.events(), engine.EventMemberAdded)
		var to []string
		for _, ev := range welcomes {
			to = append(to, ev.To...)
		}
		assert.Subset(t, to, []string{"carol", "dan", "erin"})
		assert.NotContains(t, to, "fay")
	})
}

// R10: an account's settings change its secondary contact limit.
func TestSecondaryLimitFromAccountSettings(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(map[string]any{"max_secondary_contacts": 2})
		_, err := w.e.SetMember(w.ctx, "alice", secondary("carol"))
		require.NoError(t, err)
		_, err = w.e.SetMember(w.ctx, "alice", secondary("dan"))
		assert.Equal(t, []string{"an account can have at most 2 secondary contacts (it has 2)"}, violationsOf(t, err, false))
	})
}

// R12: the account keeps its only primary contact and its last admin.
func TestLastPrimaryContactAndAdminStay(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)
		err := w.e.RemoveMember(w.ctx, sysAdmin, "acme", "alice")
		assert.Equal(t, []string{
			"alice is the last account_admin of acme: make another member account_admin first (R12)",
			"alice is the only primary contact of acme: name another primary contact first (R12)",
		}, violationsOf(t, err, false))

		demoted := engine.Membership{Account: "acme", User: "alice", Roles: []string{"account_admin"}}
		_, err = w.e.SetMember(w.ctx, sysAdmin, demoted)
		assert.Equal(t, []string{"alice is the only primary contact of acme: name another primary contact first (R12)"}, violationsOf(t, err, false))

		// With a second admin, only the primary contact rule holds alice.
		_, err = w.e.SetMember(w.ctx, "alice", engine.Membership{
			Account: "acme", User: "dan", Roles: []string{"account_admin"}, Justification: "deputy",
		})
		require.NoError(t, err)
		err = w.e.RemoveMember(w.ctx, "dan", "acme", "alice")
		assert.Equal(t, []string{"alice is the only primary contact of acme: name another primary contact first (R12)"}, violationsOf(t, err, false))

		m, err := w.e.GetMember(w.ctx, sysAdmin, "acme", "alice")
		require.NoError(t, err)
		assert.Equal(t, engine.ContactPrimary, m.Contact)

		// Removing someone else works, and is audited and announced.
		require.NoError(t, w.e.RemoveMember(w.ctx, "bob", "acme", "vera"))
		_, err = w.e.GetMember(w.ctx, sysAdmin, "acme", "vera")
		require.ErrorIs(t, err, engine.ErrNotFound)
		recs := w.audit("acme")
		last := recs[len(recs)-1]
		assert.Equal(t, engine.ActionMemberRemoved, last.Action)
		assert.Equal(t, "bob", last.Actor)
		assert.Equal(t, "vera", last.Target)
		assert.Nil(t, last.After)
		removed := eventsOf(w.events(), engine.EventMemberRemoved)
		require.Len(t, removed, 1)
		assert.Equal(t, []string{"vera"}, removed[0].To)
	})
}

// R21, R26, R30, R32: who may change members, and what.
func TestWhoMayChangeMembers(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)
		admin := engine.Membership{Account: "acme", User: "carol", Roles: []string{"account_admin"}, Justification: "new lead"}
		user := engine.Membership{Account: "acme", User: "carol", Roles: []string{"account_user"}, Justification: "new hire"}
		tests := []struct {
			name   string
			actor  string
			m      engine.Membership
			denial string
		}{
			{name: "viewer", actor: "vera", m: user, denial: "vera may not change the members of acme: that takes account_admin, the primary contact, or a secondary contact with manage_access at update (R26)"},
			{name: "stranger", actor: "erin", m: user, denial: "erin may not change the members of acme: that takes account_admin, the primary contact, or a secondary contact with manage_access at update (R26)"},
			{name: "secondary_makes_admin", actor: "bob", m: admin, denial: "only an account_admin of acme may make carol an account_admin (R30)"},
			{name: "own_access", actor: "bob", m: engine.Membership{Account: "acme", User: "bob", Contact: engine.ContactSecondary, Privileges: map[string]string{"manage_access": "update", "reporting": "view"}}, denial: "bob may not change their own access to acme: another manager must"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := w.e.SetMember(w.ctx, tt.actor, tt.m)
				require.ErrorIs(t, err, engine.ErrForbidden)
				assert.Equal(t, []string{tt.denial}, violationsOf(t, err, true))
			})
		}
		_, err := w.e.GetMember(w.ctx, sysAdmin, "acme", "carol")
		require.ErrorIs(t, err, engine.ErrNotFound, "a refused command changes nothing")

		// R30: an account_admin makes another user account_admin.
		m, err := w.e.SetMember(w.ctx, "alice", admin)
		require.NoError(t, err)
		assert.Equal(t, []string{"account_admin"}, m.Roles)
	})
}

// R31: adding a user who does not exist fails with 404 and changes nothing.
func TestAddingAnUnknownUserChangesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)
		before := len(w.audit("acme"))
		eventsBefore := len(w.events())
		_, err := w.e.SetMember(w.ctx, "alice", engine.Membership{
			Account: "acme", User: "ghost", Roles: []string{"account_admin"}, Justification: "new admin",
		})
		require.ErrorIs(t, err, engine.ErrNotFound)
		assert.Contains(t, err.Error(), "user ghost does not exist")
		_, err = w.e.GetMember(w.ctx, sysAdmin, "acme", "ghost")
		require.ErrorIs(t, err, engine.ErrNotFound)
		assert.Len(t, w.audit("acme"), before)
		assert.Len(t, w.events(), eventsBefore)

		// A stranger learns nothing: not entitled comes first (R43).
		_, err = w.e.SetMember(w.ctx, "erin", engine.Membership{Account: "acme", User: "ghost", Roles: []string{"account_user"}, Justification: "x"})
		require.ErrorIs(t, err, engine.ErrForbidden)
	})
}

// R43: nobody sees or changes another account's members, requests or
// audit trail; existence does not leak.
func TestAccountDataStaysInItsAccount(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)
		w.users("gina")
		w.account(engine.Account{ID: "globex", Name: "Globex"})
		w.member(engine.Membership{Account: "globex", User: "gina", Roles: []string{"account_admin"}})

		reads := []struct {
			name string
			read func(actor, account string) error
		}{
			{"list_members", func(a, acc string) error { _, err := w.e.ListMembers(w.ctx, a, acc); return err }},
			{"get_member", func(a, acc string) error { _, err := w.e.GetMember(w.ctx, a, acc, "alice"); return err }},
			{"get_account", func(a, acc string) error { _, err := w.e.GetAccount(w.ctx, a, acc); return err }},
			{"list_audit", func(a, acc string) error {
				_, err := w.e.ListAudit(w.ctx, a, acc, "", 10, engine.Ascending)
				return err
			}},
			{"list_requests", func(a, acc string) error {
				_, err := w.e.ListRequests(w.ctx, a, engine.RequestFilter{Account: acc})
				return err
			}},
		}
		for _, r := range reads {
			t.Run(r.name, func(t *testing.T) {
				require.ErrorIs(t, r.read("gina", "acme"), engine.ErrForbidden)
				require.ErrorIs(t, r.read("gina", "nowhere"), engine.ErrForbidden, "a missing account looks like a forbidden one")
				require.NoError(t, r.read("alice", "acme"))
			})
		}
		_, err := w.e.GetAccount(w.ctx, sysAdmin, "nowhere")
		require.ErrorIs(t, err, engine.ErrNotFound)

		// A viewer sees the members but not the audit trail.
		members, err := w.e.ListMembers(w.ctx, "vera", "acme")
		require.NoError(t, err)
		assert.Len(t, members, 3)
		_, err = w.e.ListAudit(w.ctx, "vera", "acme", "", 10, engine.Ascending)
		require.ErrorIs(t, err, engine.ErrForbidden)

		// Events go to the people they are addressed to.
		evs, err := w.e.ListEvents(w.ctx, "vera", "", 100, engine.Ascending)
		require.NoError(t, err)
		require.NotEmpty(t, evs)
		for _, ev := range evs {
			assert.Contains(t, ev.To, "vera")
		}
	})
}

// R7: a membership with an expiry ends at that instant, and ExpireDue
// records it with an audit record and an access.expired event.
func TestMembershipExpiry(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)
		until := commandEpoch.Add(time.Hour)
		temp := engine.Membership{Account: "acme", User: "carol", Roles: []string{"account_user"}, Justification: "audit week", ExpiresAt: &until}
		_, err := w.e.SetMember(w.ctx, "alice", temp)
		require.NoError(t, err)

		past := commandEpoch.Add(-time.Minute)
		temp.ExpiresAt = &past
		temp.User = "dan"
		_, err = w.e.SetMember(w.ctx, "alice", temp)
		assert.Equal(t, []string{"the expiry must be in the future (it is 2025-11-21T08:59:00Z)"}, violationsOf(t, err, false))

		n, err := w.e.ExpireDue(w.ctx)
		require.NoError(t, err)
		assert.Zero(t, n)

		w.clk.Advance(time.Hour)
		n, err = w.e.ExpireDue(w.ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		_, err = w.e.GetMember(w.ctx, sysAdmin, "acme", "carol")
		require.ErrorIs(t, err, engine.ErrNotFound)
		recs := w.audit("acme")
		assert.Equal(t, engine.ActionMemberExpired, recs[len(recs)-1].Action)
		assert.Equal(t, engine.SystemActor, recs[len(recs)-1].Actor)
		expired := eventsOf(w.events(), engine.EventAccessExpired)
		require.Len(t, expired, 1)
		assert.Equal(t, []string{"carol"}, expired[0].To)

		n, err = w.e.ExpireDue(w.ctx)
		require.NoError(t, err)
		assert.Zero(t, n, "an expiry is recorded once")
	})
}

// R44: malformed input names the field and changes nothing.
func TestMemberInputIsValidated(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)
		tests := []struct {
			name  string
			m     engine.Membership
			field string
		}{
			{"account", engine.Membership{Account: "a b", User: "carol"}, "account"},
			{"user", engine.Membership{Account: "acme", User: ""}, "user"},
			{"role", engine.Membership{Account: "acme", User: "carol", Roles: []string{strings.Repeat("r", 129)}}, "roles[0]"},
			{"va_role", engine.Membership{Account: "acme", User: "carol", VARoles: map[string]string{"va1": "\xff"}}, "va_roles.va1"},
			{"contact", engine.Membership{Account: "acme", User: "carol", Contact: strings.Repeat("c", 200)}, "contact"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := w.e.SetMember(w.ctx, "alice", tt.m)
				require.ErrorIs(t, err, engine.ErrInvalid)
				var fe *engine.FieldError
				require.True(t, errors.As(err, &fe))
				assert.Equal(t, tt.field, fe.Field)
			})
		}
		_, err := w.e.SetMember(w.ctx, "", secondary("carol"))
		require.ErrorIs(t, err, engine.ErrForbidden)

		// Any other value reaches the policy, whose 422 names the field,
		// the value and the values allowed.
		_, err = w.e.SetMember(w.ctx, "alice", engine.Membership{
			Account: "acme", User: "carol", Roles: []string{"admin!"}, Contact: "none", Justification: "j",
		})
		assert.Equal(t, []string{
			"roles[0] must be account_admin, account_approver, account_user, account_viewer, impersonator, policy_admin or tm_admin (it is admin!) (R1)",
		}, violationsOf(t, err, false))
	})
}

// API.md: contact "none" is no contact type, as "" is: stored as none.
func TestContactNoneIsNoContact(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)
		m, err := w.e.SetMember(w.ctx, "alice", engine.Membership{
			Account: "acme", User: "carol", Roles: []string{"account_user"}, Contact: engine.ContactNoneName, Justification: "j",
		})
		require.NoError(t, err)
		assert.Equal(t, engine.ContactNone, m.Contact)
		stored, err := w.e.GetMember(w.ctx, "alice", "acme", "carol")
		require.NoError(t, err)
		assert.Equal(t, engine.ContactNone, stored.Contact)
	})
}
