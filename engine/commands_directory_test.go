package engine_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// R32, R40, R41: users and accounts are created by system administrators,
// and every change is audited; a created user has no access.
func TestDirectoryIsForSystemAdmins(t *testing.T) {
	forEachStore(t, func(t *testing.T, w *world) {
		w.acme(nil)

		_, _, err := w.e.PutUser(w.ctx, "alice", engine.User{ID: "zoe", Email: "zoe@example.com"})
		assert.Equal(t, []string{"only a system administrator may create or change users (R32)"}, violationsOf(t, err, true))
		_, _, err = w.e.PutAccount(w.ctx, "alice", engine.Account{ID: "initech", Name: "Initech"})
		assert.Equal(t, []string{"only a system administrator may create or change accounts (R32)"}, violationsOf(t, err, true))

		u, created, err := w.e.PutUser(w.ctx, sysAdmin, engine.User{ID: "zoe", Email: "zoe@example.com", Organization: "acme"})
		require.NoError(t, err)
		assert.True(t, created)
		assert.Equal(t, commandEpoch, u.CreatedAt)
		w.clk.Advance(time.Hour)
		u, created, err = w.e.PutUser(w.ctx, sysAdmin, engine.User{ID: "zoe", Email: "zoe@acme.example", Organization: "acme"})
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, commandEpoch, u.CreatedAt, "an update keeps the creation time")
		assert.False(t, w.allowed("zoe", "view", "acme", ""), "R32: a created user has no access until granted")

		trail := w.audit(engine.DirectoryAccount)
		require.GreaterOrEqual(t, len(trail), 2)
		last := trail[len(trail)-2:]
		assert.Equal(t, []string{engine.ActionUserCreated, engine.ActionUserUpdated}, auditActions(last))
		assert.Contains(t, string(last[1].Before), "zoe@example.com")
		assert.Contains(t, string(last[1].After), "zoe@acme.example")
		_, err = w.e.ListAudit(w.ctx, "alice", engine.DirectoryAccount, "", 10, engine.Ascending)
		require.ErrorIs(t, err, engine.ErrForbidden)

		// R43: who reads a user record.
		got, err := w.e.GetUser(w.ctx, "zoe", "zoe")
		require.NoError(t, err)
		assert.Equal(t, "zoe@acme.example", got.Email)
		_, err = w.e.GetUser(w.ctx, "alice", "zoe")
		require.NoError(t, err, "an account_admin of zoe's organization")
		_, err = w.e.GetUser(w.ctx, "bob", "zoe")
		require.ErrorIs(t, err, engine.ErrForbidden)
		_, err = w.e.GetUser(w.ctx, sysAdmin, "ghost")
		require.ErrorIs(t, err, engine.ErrNotFound)

		// R10, R24: settings are checked; the audit trail's id is reserved.
		_, _, err = w.e.PutAccount(w.ctx, sysAdmin, engine.Account{ID: "initech", Name: "Initech", Settings: map[string]any{"max_secondary_contacts": "lots"}})
		assert.Equal(t, []string{"settings.max_secondary_contacts must be a whole number from 0 up (it is lots)"}, violationsOf(t, err, false))
		_, _, err = w.e.PutAccount(w.ctx, sysAdmin, engine.Account{ID: engine.DirectoryAccount, Name: "x"})
		require.ErrorIs(t, err, engine.ErrInvalid)
		_, _, err = w.e.PutUser(w.ctx, sysAdmin, engine.User{ID: "yan", Email: "not-an-address"})
		require.ErrorIs(t, err, engine.ErrInvalid)

		a, created, err := w.e.PutAccount(w.ctx, sysAdmin, engine.Account{ID: "acme", Name: "Acme Corp", VirtualAccounts: []string{"va1", "va2", "va3"}})
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, commandEpoch, a.CreatedAt)
		seen, err := w.e.GetAccount(w.ctx, "vera", "acme")
		require.NoError(t, err)
		assert.Equal(t, "Acme Corp", seen.Name)
		recs := w.audit("acme")
		assert.Equal(t, engine.ActionAccountUpdated, recs[len(recs)-1].Action)
	})
}
