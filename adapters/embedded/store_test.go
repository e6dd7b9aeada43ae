package embedded_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/engine/storetest"
)

// openStore opens a store in a fresh temporary directory, closed at cleanup.
func openStore(tb testing.TB, dir string, opts ...embedded.Option) *embedded.Store {
	tb.Helper()
	s, err := embedded.Open(dir, opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, s.Close()) })
	return s
}

func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) engine.Store {
		return openStore(tb, tb.TempDir())
	})
}

// TestStoreIsDurable: what one Open committed, the next Open of the same
// directory reads back (R40).
func TestStoreIsDurable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s, err := embedded.Open(dir)
	require.NoError(t, err)
	user := engine.User{ID: "alice", Email: "alice@example.com"}
	require.NoError(t, s.Commit(t.Context(), engine.Change{
		Versions: map[string]uint64{"acme": 0},
		Users:    []engine.User{user},
		Accounts: []engine.Account{{ID: "acme", Name: "Acme", VirtualAccounts: []string{}}},
		Members:  []engine.Membership{{Account: "acme", User: "alice", Roles: []string{"account_admin"}}},
		Audit:    []engine.AuditRecord{{ID: "au-1", Account: "acme", Action: "member.add"}},
		Events:   []engine.Event{{ID: "ev-1", Type: "user.added"}},
	}))
	require.NoError(t, s.Close())
	assert.FileExists(t, filepath.Join(dir, embedded.FileName))

	reopened := openStore(t, dir)
	got, err := reopened.GetUser(t.Context(), "alice")
	require.NoError(t, err)
	assert.Equal(t, user, got)
	state, err := reopened.AccountState(t.Context(), "acme")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), state.Version)
	require.Len(t, state.Members, 1)
	assert.Equal(t, []string{"account_admin"}, state.Members[0].Roles)
	audit, err := reopened.ListAudit(t.Context(), "acme", "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Len(t, audit, 1)
	assert.Equal(t, "au-1", audit[0].ID)

	t.Run("sequences continue after reopening", func(t *testing.T) {
		require.NoError(t, reopened.Commit(t.Context(), engine.Change{Events: []engine.Event{{ID: "ev-2", Type: "user.added"}}}))
		events, err := reopened.ListEvents(t.Context(), "", 0, engine.Ascending)
		require.NoError(t, err)
		require.Len(t, events, 2)
		assert.Equal(t, "ev-2", events[1].ID)
		assert.NotEqual(t, events[0].Cursor, events[1].Cursor)
	})
}

// TestOpenFailsClearly: a path that cannot hold the store, or a file another
// handle holds, is refused with an error naming the problem.
func TestOpenFailsClearly(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	held := t.TempDir()
	openStore(t, held)

	tests := []struct {
		name    string
		dir     string
		opts    []embedded.Option
		message string
	}{
		{"empty path", "", nil, "no data directory"},
		{"directory under a file", filepath.Join(file, "data"), nil, "create data directory"},
		{"file held by another handle", held, []embedded.Option{embedded.WithOpenTimeout(50 * time.Millisecond)}, "in use by another process"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := embedded.Open(tc.dir, tc.opts...)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.Contains(t, err.Error(), tc.message)
		})
	}
}

// TestClosedStoreIsUnavailable: after Close, reads and writes wrap
// ErrUnavailable (R45) and a second Close is harmless.
func TestClosedStoreIsUnavailable(t *testing.T) {
	s, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	require.NoError(t, s.Close())

	require.ErrorIs(t, s.Ping(t.Context()), engine.ErrUnavailable)
	_, err = s.Snapshot(t.Context(), "alice", "acme")
	require.ErrorIs(t, err, engine.ErrUnavailable)
	require.ErrorIs(t, s.Commit(t.Context(), engine.Change{Users: []engine.User{{ID: "alice"}}}), engine.ErrUnavailable)
	assert.NoError(t, s.Close())
}

// TestCommitRefusesRecordsWithoutKeys: records missing the ids they are
// stored under are refused as invalid and nothing is written (R44).
func TestCommitRefusesRecordsWithoutKeys(t *testing.T) {
	s := openStore(t, t.TempDir())
	tests := []struct {
		name   string
		change engine.Change
	}{
		{"user without id", engine.Change{Users: []engine.User{{Email: "a@example.com"}}}},
		{"account without id", engine.Change{Accounts: []engine.Account{{Name: "Acme"}}}},
		{"member without user", engine.Change{Members: []engine.Membership{{Account: "acme"}}}},
		{"removed member without account", engine.Change{RemovedMembers: []engine.MemberRef{{User: "alice"}}}},
		{"request without id", engine.Change{Requests: []engine.AccessRequest{{Account: "acme", Requester: "alice"}}}},
		{"grants without tenant", engine.Change{Grants: []engine.TenantGrants{{User: "alice"}}}},
		{"empty exclusive tenant", engine.Change{ExclusiveTenants: []string{""}}},
		{"audit without account", engine.Change{Audit: []engine.AuditRecord{{ID: "au-1"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.change.Versions = map[string]uint64{"acme": 0}
			require.ErrorIs(t, s.Commit(t.Context(), tc.change), engine.ErrInvalid)
			state, err := s.Snapshot(t.Context(), "alice", "acme")
			require.NoError(t, err)
			assert.Equal(t, engine.Snapshot{}, state)
		})
	}
}

// TestListsRefuseForeignCursors: a cursor this store did not issue is
// invalid input, not a silent restart.
func TestListsRefuseForeignCursors(t *testing.T) {
	s := openStore(t, t.TempDir())
	_, err := s.ListAudit(t.Context(), "acme", "not-a-cursor", 10, engine.Ascending)
	require.ErrorIs(t, err, engine.ErrInvalid)
	_, err = s.ListEvents(t.Context(), "-1", 10, engine.Ascending)
	require.ErrorIs(t, err, engine.ErrInvalid)
}
