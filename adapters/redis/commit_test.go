package redis_test

import (
	"math"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// dump returns every key of the database with its serialized value, to
// prove that a refused commit wrote nothing at all. The registry of outboxes
// is left out: a commit lists its home account there before its script
// runs, whatever the script decides; it names outboxes to look at, no state.
func dump(tb testing.TB, c *redis.Client) map[string]string {
	tb.Helper()
	keys, err := c.Keys(tb.Context(), "*").Result()
	require.NoError(tb, err)
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		if strings.HasPrefix(k, "gh:{outboxes:") {
			continue
		}
		out[k], err = c.Dump(tb.Context(), k).Result()
		require.NoError(tb, err)
	}
	return out
}

// R40, R45: a commit that is refused leaves every key as it was, the audit
// stream, the events stream and the indexes included.
func TestRefusedCommitWritesNothing(t *testing.T) {
	tests := []struct {
		name   string
		change func() engine.Change
		want   error
	}{
		{"stale version", func() engine.Change {
			c := fullChange("acme", "u2")
			c.Versions = map[string]uint64{"acme": 0}
			return c
		}, engine.ErrConflict},
		{"one stale version among current ones", func() engine.Change {
			c := fullChange("acme", "u2")
			c.Versions = map[string]uint64{"acme": 1, "zeta": 3}
			return c
		}, engine.ErrConflict},
		{"empty member user", func() engine.Change {
			c := fullChange("acme", "u2")
			c.Versions = map[string]uint64{"acme": 1}
			c.Members = append(c.Members, engine.Membership{Account: "acme"})
			return c
		}, engine.ErrInvalid},
		{"audit record without account", func() engine.Change {
			c := fullChange("acme", "u2")
			c.Versions = map[string]uint64{"acme": 1}
			c.Audit = append(c.Audit, engine.AuditRecord{ID: "au"})
			return c
		}, engine.ErrInvalid},
		{"settings that JSON cannot encode", func() engine.Change {
			c := fullChange("acme", "u2")
			c.Versions = map[string]uint64{"acme": 1}
			c.Accounts[0].Settings = map[string]any{"limit": math.NaN()}
			return c
		}, engine.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Start(t)
			s := newStore(t, srv)
			c := newClient(t, srv)
			require.NoError(t, s.Commit(t.Context(), fullChange("acme", "u")))
			before := dump(t, c)
			require.Equal(t, int64(1), c.XLen(t.Context(), "gh:events").Val())

			err := s.Commit(t.Context(), tc.change())
			require.ErrorIs(t, err, tc.want)
			assert.Equal(t, before, dump(t, c))
		})
	}
}

// The script runs from its SHA; when Redis has forgotten it (SCRIPT FLUSH,
// a restart, a failover) go-redis sends it again.
func TestCommitAfterScriptFlush(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	c := newClient(t, srv)
	require.NoError(t, s.Commit(t.Context(), fullChange("acme", "u")))
	require.NoError(t, c.ScriptFlush(t.Context()).Err())

	require.NoError(t, s.Commit(t.Context(), fullChange("other", "u")))
	got, err := s.GetAccount(t.Context(), "other")
	require.NoError(t, err)
	assert.Equal(t, "other", got.ID)
}

// The Cursor of an audit record or event is its stream entry id.
func TestCursorsAreStreamIDs(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	c := newClient(t, srv)
	require.NoError(t, s.Commit(t.Context(), fullChange("acme", "u")))

	entries, err := c.XRange(t.Context(), "gh:{a:acme}:audit", "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, entries, 1)
	records, err := s.ListAudit(t.Context(), "acme", "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Len(t, records, 1)
	assert.Equal(t, entries[0].ID, records[0].Cursor)
	assert.Equal(t, "au-acme", records[0].ID)

	entries, err = c.XRange(t.Context(), "gh:events", "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, entries, 1)
	events, err := s.ListEvents(t.Context(), "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.Equal(t, entries[0].ID, events[0].Cursor)

	mine, err := c.XRange(t.Context(), "gh:{u:u}:events", "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, mine, 1)
	assert.Equal(t, entries[0].ID, mine[0].ID, "the recipient's copy keeps the global id")
	events, err = s.ListEventsFor(t.Context(), "u", "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.Equal(t, entries[0].ID, events[0].Cursor)
}

func TestMalformedCursorIsInvalid(t *testing.T) {
	s := newStore(t, redistest.Start(t))
	for _, cursor := range []string{"abc", "1-", "-1", "1-2-3", "99999999999999999999-0", "(1-0"} {
		t.Run(cursor, func(t *testing.T) {
			_, err := s.ListAudit(t.Context(), "acme", cursor, 0, engine.Ascending)
			require.ErrorIs(t, err, engine.ErrInvalid)
			_, err = s.ListEvents(t.Context(), cursor, 0, engine.Ascending)
			require.ErrorIs(t, err, engine.ErrInvalid)
			_, err = s.ListEventsFor(t.Context(), "u", cursor, 0, engine.Ascending)
			require.ErrorIs(t, err, engine.ErrInvalid)
		})
	}
}
