package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// UpdateMember changes only the fields it is given: a secondary contact
// whose role changes keeps their contact type and privileges (issue 9);
// the merged membership is decided like SetMember (R26, R12) and audited.
func TestUpdateMemberKeepsWhatItIsNotGiven(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)
		_, err := w.e.SetMember(w.ctx, "alice", secondary("carol"))
		require.NoError(t, err)

		roles := []string{"account_viewer"}
		m, err := w.e.UpdateMember(w.ctx, "alice", "acme", "carol", engine.MemberPatch{Roles: &roles})
		require.NoError(t, err)
		assert.Equal(t, []string{"account_viewer"}, m.Roles)
		assert.Equal(t, engine.ContactSecondary, m.Contact, "the contact type survives a role change")
		assert.Equal(t, map[string]string{"entitlements": "view"}, m.Privileges, "the privileges survive a role change")
		assert.Equal(t, "support contract", m.Justification, "the justification is kept")
		stored, err := w.e.GetMember(w.ctx, sysAdmin, "acme", "carol")
		require.NoError(t, err)
		assert.Equal(t, m.Roles, stored.Roles)
		assert.Equal(t, m.Contact, stored.Contact)
		assert.Equal(t, m.Privileges, stored.Privileges)

		// Empty values clear; an expiry is set, then cleared.
		none, at := "", commandEpoch.Add(24*time.Hour)
		m, err = w.e.UpdateMember(w.ctx, "alice", "acme", "carol", engine.MemberPatch{Contact: &none, SetExpiresAt: true, ExpiresAt: &at})
		require.NoError(t, err)
		assert.Empty(t, m.Contact)
		assert.Equal(t, map[string]string{"entitlements": "view"}, m.Privileges)
		require.NotNil(t, m.ExpiresAt)
		assert.True(t, at.Equal(*m.ExpiresAt))
		m, err = w.e.UpdateMember(w.ctx, "alice", "acme", "carol", engine.MemberPatch{SetExpiresAt: true})
		require.NoError(t, err)
		assert.Nil(t, m.ExpiresAt)
		assert.Equal(t, []string{"account_viewer"}, m.Roles)

		// Decided as a PUT of the merged membership: the last primary
		// contact stays (R12), nothing changes.
		_, err = w.e.UpdateMember(w.ctx, sysAdmin, "acme", "alice", engine.MemberPatch{Contact: &none})
		assert.NotEmpty(t, violationsOf(t, err, false))
		alice, err := w.e.GetMember(w.ctx, sysAdmin, "acme", "alice")
		require.NoError(t, err)
		assert.Equal(t, engine.ContactPrimary, alice.Contact)

		// A user who is no member is added with the fields given, and the
		// direct add needs a justification (R26).
		user := []string{"account_user"}
		_, err = w.e.UpdateMember(w.ctx, "alice", "acme", "dan", engine.MemberPatch{Roles: &user})
		assert.Equal(t, []string{"a justification is required to add dan to acme directly (R26)"}, violationsOf(t, err, false))
		why := "new buyer"
		m, err = w.e.UpdateMember(w.ctx, "alice", "acme", "dan", engine.MemberPatch{Roles: &user, Justification: &why})
		require.NoError(t, err)
		assert.Equal(t, []string{"account_user"}, m.Roles)

		// Bad input names the field and changes nothing (R44).
		bad := []string{"not a role"}
		_, err = w.e.UpdateMember(w.ctx, "alice", "acme", "carol", engine.MemberPatch{Roles: &bad})
		var ve *engine.ViolationError
		require.ErrorAs(t, err, &ve, "an unknown role is refused by the policy's data (R1)")
		assert.ErrorContains(t, err, "roles[0]")

		assert.Equal(t, []string{
			engine.ActionMemberAdded, engine.ActionMemberChanged, engine.ActionMemberChanged, engine.ActionMemberChanged, engine.ActionMemberAdded,
		}, auditActions(w.audit("acme"))[4:], "every change is audited, the refused ones not")
	})
}
