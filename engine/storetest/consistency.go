package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// testSnapshotAtLeast: a snapshot at least as fresh as a write's token
// holds the write, read after the same store answered Snapshot before it
// (a store's cache, if any, is behind); a token naming no account reads the
// current state; a token naming a version the store has not reached is an
// error wrapping ErrUnavailable, and so is one naming an account the store
// never wrote.
func testSnapshotAtLeast(t *testing.T, s engine.Store) {
	acme := newAccount("acme")
	createAccounts(t, s, acme)
	ann := newUser("ann")
	member := newMember(acme.ID, ann.ID)
	commit(t, s, engine.Change{Versions: map[string]uint64{acme.ID: 1}, Users: []engine.User{ann}, Members: []engine.Membership{member}})
	granted := engine.Token{Versions: map[string]uint64{acme.ID: 2}}

	snap, err := s.SnapshotAtLeast(t.Context(), ann.ID, acme.ID, granted)
	require.NoError(t, err)
	assert.Equal(t, &member, snap.Membership)
	// Warm whatever the store keeps of these records.
	for range 3 {
		_, err = s.Snapshot(t.Context(), ann.ID, acme.ID)
		require.NoError(t, err)
	}

	commit(t, s, engine.Change{Versions: map[string]uint64{acme.ID: 2},
		RemovedMembers: []engine.MemberRef{{Account: acme.ID, User: ann.ID}}})
	revoked := engine.Token{Versions: map[string]uint64{acme.ID: 3}}
	for _, tc := range []struct {
		name  string
		token engine.Token
	}{
		{"the write's token", revoked},
		{"an older token, after the write", granted},
		{"a token naming no account", engine.Token{Versions: map[string]uint64{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := s.SnapshotAtLeast(t.Context(), ann.ID, acme.ID, tc.token)
			require.NoError(t, err)
			assert.Nil(t, snap.Membership, "the revocation is seen")
			assert.Equal(t, &ann, snap.User)
		})
	}

	for _, tc := range []struct {
		name  string
		token engine.Token
	}{
		{"a version not reached", engine.Token{Versions: map[string]uint64{acme.ID: 4}}},
		{"an account never written", engine.Token{Versions: map[string]uint64{acme.ID: 3, "elsewhere": 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.SnapshotAtLeast(t.Context(), ann.ID, acme.ID, tc.token)
			require.ErrorIs(t, err, engine.ErrUnavailable)
		})
	}
}
