package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// appliedChange is a change with a commit ID, writing a member, a request,
// an audit record and an event on acme.
func appliedChange(id string, acmeVersion uint64) engine.Change {
	return engine.Change{
		ID:       id,
		Versions: map[string]uint64{"acme": acmeVersion},
		Members:  []engine.Membership{newMember("acme", "carol")},
		Requests: []engine.AccessRequest{newRequest("req-1", "acme", "carol", engine.StatusGranted, 1)},
		Audit:    []engine.AuditRecord{{ID: "au-1", Account: "acme", Actor: "root", Action: "member.added", At: at(1)}},
		Events:   []engine.Event{{ID: "ev-1", Type: "member.added", Account: "acme", To: []string{"carol"}, At: at(1)}},
	}
}

// testCommitIDAppliesOnce: a change committed again with the same ID (a
// retry after a lost reply) writes nothing and succeeds, though the
// versions it was decided on have moved since: one audit record, one
// event, versions bumped once (R40).
func testCommitIDAppliesOnce(t *testing.T, s engine.Store) {
	createAccounts(t, s, newAccount("acme"))
	change := appliedChange("commit-1", version(t, s, "acme"))
	commit(t, s, change)
	after := version(t, s, "acme")

	require.NoError(t, s.Commit(t.Context(), change), "the same change again is answered applied")
	assert.Equal(t, after, version(t, s, "acme"), "no second increment")
	audit, err := s.ListAudit(t.Context(), "acme", "", 0, engine.Ascending)
	require.NoError(t, err)
	assert.Equal(t, []string{"au-1"}, auditIDs(audit))
	events, err := s.ListEvents(t.Context(), "", 0, engine.Ascending)
	require.NoError(t, err)
	assert.Equal(t, []string{"ev-1"}, eventIDs(events))
	eventsFor, err := s.ListEventsFor(t.Context(), "carol", "", 0, engine.Ascending)
	require.NoError(t, err)
	assert.Len(t, eventsFor, 1)

	other := appliedChange("commit-2", after-1)
	require.ErrorIs(t, s.Commit(t.Context(), other), engine.ErrConflict, "another ID at a stale version conflicts")
	fresh := appliedChange("commit-3", after)
	fresh.Audit[0].ID, fresh.Events[0].ID = "au-2", "ev-2"
	commit(t, s, fresh)
	audit, err = s.ListAudit(t.Context(), "acme", "", 0, engine.Ascending)
	require.NoError(t, err)
	assert.Equal(t, []string{"au-1", "au-2"}, auditIDs(audit), "another ID at the current version applies")
}

// testReadVersions: ReadVersions are checked but not incremented (R40).
func testReadVersions(t *testing.T, s engine.Store) {
	createAccounts(t, s, newAccount("acme"))
	v := version(t, s, "acme")
	commit(t, s, engine.Change{ReadVersions: map[string]uint64{"acme": v}, Users: []engine.User{newUser("x")}})
	assert.Equal(t, v, version(t, s, "acme"), "a read version is not incremented")

	err := s.Commit(t.Context(), engine.Change{ReadVersions: map[string]uint64{"acme": v + 1}, Users: []engine.User{newUser("y")}})
	require.ErrorIs(t, err, engine.ErrConflict)
	_, err = s.GetUser(t.Context(), "y")
	require.ErrorIs(t, err, engine.ErrNotFound, "a conflicting change writes nothing")
}

// testRequesterVersions: writing a request increments its requester's
// version on its account, and only that one; a change decided on a stale
// requester version conflicts (R20, R25, R40).
func testRequesterVersions(t *testing.T, s engine.Store) {
	createAccounts(t, s, newAccount("acme"))
	state, err := s.AccountState(t.Context(), "acme")
	require.NoError(t, err)
	assert.Zero(t, state.RequesterVersion("carol"))
	accountVersion := state.Version

	carol := engine.RequesterRef{Account: "acme", Requester: "carol"}
	commit(t, s, engine.Change{
		ReadVersions:      map[string]uint64{"acme": accountVersion},
		RequesterVersions: map[engine.RequesterRef]uint64{carol: 0},
		Requests: []engine.AccessRequest{
			newRequest("req-c1", "acme", "carol", engine.StatusPending, 1),
			newRequest("req-c2", "acme", "carol", engine.StatusDenied, 2),
		},
	})
	commit(t, s, engine.Change{
		RequesterVersions: map[engine.RequesterRef]uint64{{Account: "acme", Requester: "dan"}: 0},
		Requests:          []engine.AccessRequest{newRequest("req-d1", "acme", "dan", engine.StatusPending, 1)},
	})
	state, err = s.AccountState(t.Context(), "acme")
	require.NoError(t, err)
	assert.Equal(t, map[string]uint64{"carol": 1, "dan": 1}, state.RequesterVersions, "once per change and requester")
	assert.Equal(t, accountVersion, state.Version, "requests alone leave the account's version")

	err = s.Commit(t.Context(), engine.Change{
		RequesterVersions: map[engine.RequesterRef]uint64{carol: 0},
		Requests:          []engine.AccessRequest{newRequest("req-c3", "acme", "carol", engine.StatusPending, 3)},
	})
	require.ErrorIs(t, err, engine.ErrConflict)
	_, err = s.GetRequest(t.Context(), "req-c3")
	require.ErrorIs(t, err, engine.ErrNotFound)
}

// idempotencyRecord is actor's record for key.
func idempotencyRecord(actor, key, fingerprint string) *engine.IdempotencyRecord {
	return &engine.IdempotencyRecord{
		Actor: actor, Key: key, Fingerprint: fingerprint, Answer: []byte(`{"status":201}`),
		CreatedAt: at(1), Retention: time.Hour,
	}
}

// testIdempotencyRecords: a change's idempotency record is kept under its
// home account with the change; a second change with the same actor and
// key conflicts and writes nothing; another actor's same key is another
// record (R40, the HTTP Idempotency-Key).
func testIdempotencyRecords(t *testing.T, s engine.Store) {
	ctx := t.Context()
	createAccounts(t, s, newAccount("acme"))
	_, err := s.Idempotency(ctx, "acme", "alice", "k1")
	require.ErrorIs(t, err, engine.ErrNotFound)

	first := idempotencyRecord("alice", "k1", "fp-1")
	commit(t, s, engine.Change{ID: "c1", Home: "acme", Idempotency: first, Users: []engine.User{newUser("u1")}})
	got, err := s.Idempotency(ctx, "acme", "alice", "k1")
	require.NoError(t, err)
	assert.Equal(t, first.Fingerprint, got.Fingerprint)
	assert.Equal(t, first.Answer, got.Answer)
	assert.True(t, first.CreatedAt.Equal(got.CreatedAt))

	err = s.Commit(ctx, engine.Change{ID: "c2", Home: "acme", Idempotency: idempotencyRecord("alice", "k1", "fp-2"), Users: []engine.User{newUser("u2")}})
	require.ErrorIs(t, err, engine.ErrConflict, "the key has a record")
	_, err = s.GetUser(ctx, "u2")
	require.ErrorIs(t, err, engine.ErrNotFound, "a conflicting change writes nothing")
	got, err = s.Idempotency(ctx, "acme", "alice", "k1")
	require.NoError(t, err)
	assert.Equal(t, "fp-1", got.Fingerprint, "the first record stays")

	commit(t, s, engine.Change{ID: "c3", Home: "acme", Idempotency: idempotencyRecord("bob", "k1", "fp-3"), Users: []engine.User{newUser("u3")}})
	got, err = s.Idempotency(ctx, "acme", "bob", "k1")
	require.NoError(t, err)
	assert.Equal(t, "fp-3", got.Fingerprint)
	_, err = s.Idempotency(ctx, "other", "alice", "k1")
	require.ErrorIs(t, err, engine.ErrNotFound, "records are kept under their home account")

	// Without Home, the record is kept under the first account of Versions.
	v := version(t, s, "acme")
	commit(t, s, engine.Change{ID: "c4", Versions: map[string]uint64{"acme": v}, Idempotency: idempotencyRecord("carol", "k2", "fp-4")})
	_, err = s.Idempotency(ctx, "acme", "carol", "k2")
	require.NoError(t, err)
}

// testIdempotencyRecordsExpire: a record is dropped once its retention
// passed; its key then commits again.
func testIdempotencyRecordsExpire(t *testing.T, s engine.Store) {
	ctx := t.Context()
	rec := idempotencyRecord("alice", "short", "fp")
	rec.Retention = 20 * time.Millisecond
	commit(t, s, engine.Change{ID: "c1", Home: "acme", Idempotency: rec})
	start := time.Now()
	require.Eventually(t, func() bool {
		_, err := s.Idempotency(ctx, "acme", "alice", "short")
		return errors.Is(err, engine.ErrNotFound)
	}, 30*time.Second, 5*time.Millisecond)
	t.Logf("a record kept for %s was gone after %s", rec.Retention, time.Since(start).Round(time.Millisecond))
	commit(t, s, engine.Change{ID: "c2", Home: "acme", Idempotency: idempotencyRecord("alice", "short", "fp-again")})
}
