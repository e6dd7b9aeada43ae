package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// testAudit: an account's audit trail lists oldest first, record for record
// as committed, pages with the cursors the store assigns, and holds only
// that account's records (R41). Listed newest first (engine.Descending) it
// is the same trail reversed, paging backwards with the same cursors.
func testAudit(t *testing.T, s engine.Store) {
	record := func(id, account string, minute int) engine.AuditRecord {
		return engine.AuditRecord{
			ID: id, Account: account, Actor: "root", Action: "member.add", Target: "alice",
			At:             at(minute),
			Before:         rawJSON(t, map[string]any{"roles": []string{}}),
			After:          rawJSON(t, map[string]any{"roles": []string{"account_user"}}),
			Reason:         "approved request r1",
			PolicyRevision: "rev-1",
		}
	}
	a1, a2, o1, a3 := record("a1", "acme", 1), record("a2", "acme", 1), record("o1", "other", 2), record("a3", "acme", 3)
	a2.Before, a2.After, a2.Reason, a2.Target = nil, nil, "", ""
	commit(t, s, engine.Change{Audit: []engine.AuditRecord{a1, a2}})
	commit(t, s, engine.Change{Audit: []engine.AuditRecord{o1}})
	commit(t, s, engine.Change{Audit: []engine.AuditRecord{a3}})

	all, err := s.ListAudit(t.Context(), "acme", "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, normAll([]engine.AuditRecord{a1, a2, a3}, normAudit), normAll(all, normAudit))
	for _, rec := range all {
		assert.NotEmpty(t, rec.Cursor, "cursor of %s", rec.ID)
	}

	pages := []struct {
		name  string
		after string
		limit int
		want  []string
	}{
		{"first page", "", 2, []string{"a1", "a2"}},
		{"after the first", all[0].Cursor, 1, []string{"a2"}},
		{"after the second", all[1].Cursor, 2, []string{"a3"}},
		{"after the last", all[2].Cursor, 2, []string{}},
		{"no limit", all[0].Cursor, 0, []string{"a2", "a3"}},
	}
	for _, tc := range pages {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAudit(t.Context(), "acme", tc.after, tc.limit, engine.Ascending)
			require.NoError(t, err)
			assert.Equal(t, tc.want, auditIDs(got))
		})
	}

	descPages := []struct {
		name  string
		after string
		limit int
		want  []string
	}{
		{"newest first, first page", "", 2, []string{"a3", "a2"}},
		{"newest first, no limit", "", 0, []string{"a3", "a2", "a1"}},
		{"newest first, after the newest", all[2].Cursor, 0, []string{"a2", "a1"}},
		{"newest first, after the second", all[1].Cursor, 5, []string{"a1"}},
		{"newest first, after the oldest", all[0].Cursor, 5, []string{}},
	}
	for _, tc := range descPages {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAudit(t.Context(), "acme", tc.after, tc.limit, engine.Descending)
			require.NoError(t, err)
			assert.Equal(t, tc.want, auditIDs(got))
		})
	}
	t.Run("pages of one walk the trail both ways", func(t *testing.T) {
		for _, order := range []engine.Order{engine.Ascending, engine.Descending} {
			var walked []string
			after := ""
			for range 10 {
				got, err := s.ListAudit(t.Context(), "acme", after, 1, order)
				require.NoError(t, err)
				if len(got) == 0 {
					break
				}
				walked = append(walked, auditIDs(got)...)
				after = got[0].Cursor
			}
			want := []string{"a1", "a2", "a3"}
			if order == engine.Descending {
				want = []string{"a3", "a2", "a1"}
			}
			assert.Equal(t, want, walked, "order %s", order)
		}
	})
	newest, err := s.ListAudit(t.Context(), "acme", "", 0, engine.Descending)
	require.NoError(t, err)
	assert.Equal(t, normAll([]engine.AuditRecord{a3, a2, a1}, normAudit), normAll(newest, normAudit), "the same records, reversed")
	for i, rec := range newest {
		assert.Equal(t, all[len(all)-1-i].Cursor, rec.Cursor, "one cursor per record in both orders")
	}
	otherDesc, err := s.ListAudit(t.Context(), "other", "", 0, engine.Descending)
	require.NoError(t, err)
	assert.Equal(t, []string{"o1"}, auditIDs(otherDesc))
	noneDesc, err := s.ListAudit(t.Context(), "nowhere", "", 5, engine.Descending)
	require.NoError(t, err)
	assert.Empty(t, noneDesc)

	others, err := s.ListAudit(t.Context(), "other", "", 0, engine.Ascending)
	require.NoError(t, err)
	assert.Equal(t, []string{"o1"}, auditIDs(others))
	none, err := s.ListAudit(t.Context(), "nowhere", "", 0, engine.Ascending)
	require.NoError(t, err)
	assert.Empty(t, none)

	t.Run("records appended after a cursor follow it", func(t *testing.T) {
		a4 := record("a4", "acme", 4)
		commit(t, s, engine.Change{Audit: []engine.AuditRecord{a4}})
		got, err := s.ListAudit(t.Context(), "acme", all[2].Cursor, 0, engine.Ascending)
		require.NoError(t, err)
		assert.Equal(t, []string{"a4"}, auditIDs(got))
		got, err = s.ListAudit(t.Context(), "acme", "", 1, engine.Descending)
		require.NoError(t, err)
		assert.Equal(t, []string{"a4"}, auditIDs(got), "newest first starts with it")
		got, err = s.ListAudit(t.Context(), "acme", all[2].Cursor, 0, engine.Descending)
		require.NoError(t, err)
		assert.Equal(t, []string{"a2", "a1"}, auditIDs(got), "but does not put it after an older cursor")
	})
}

// testEvents: events of every account list oldest first, as committed, and
// page with the cursors the store assigns, new events following (R42);
// newest first (engine.Descending) they page backwards with the same cursors.
func testEvents(t *testing.T, s engine.Store) {
	event := func(id, account string, minute int) engine.Event {
		return engine.Event{
			ID: id, Type: "request.created", Account: account, At: at(minute),
			To:   []string{"alice", "bob"},
			Data: rawJSON(t, map[string]any{"request": "r1", "message": "welcome"}),
		}
	}
	e1, e2, e3 := event("e1", "acme", 1), event("e2", "other", 2), event("e3", "", 3)
	e3.To, e3.Data = nil, nil
	commit(t, s, engine.Change{Events: []engine.Event{e1}})
	commit(t, s, engine.Change{Events: []engine.Event{e2, e3}})

	all, err := s.ListEvents(t.Context(), "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Len(t, all, 3)
	assert.Equal(t, normAll([]engine.Event{e1, e2, e3}, normEvent), normAll(all, normEvent))
	for _, ev := range all {
		assert.NotEmpty(t, ev.Cursor, "cursor of %s", ev.ID)
	}

	pages := []struct {
		name  string
		after string
		limit int
		want  []string
	}{
		{"first page", "", 1, []string{"e1"}},
		{"after the first", all[0].Cursor, 1, []string{"e2"}},
		{"after the first, no limit", all[0].Cursor, 0, []string{"e2", "e3"}},
		{"after the last", all[2].Cursor, 5, []string{}},
	}
	for _, tc := range pages {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListEvents(t.Context(), tc.after, tc.limit, engine.Ascending)
			require.NoError(t, err)
			assert.Equal(t, tc.want, eventIDs(got))
		})
	}

	descPages := []struct {
		name  string
		after string
		limit int
		want  []string
	}{
		{"newest first, first page", "", 2, []string{"e3", "e2"}},
		{"newest first, after the newest", all[2].Cursor, 1, []string{"e2"}},
		{"newest first, after the newest, no limit", all[2].Cursor, 0, []string{"e2", "e1"}},
		{"newest first, after the oldest", all[0].Cursor, 5, []string{}},
	}
	for _, tc := range descPages {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListEvents(t.Context(), tc.after, tc.limit, engine.Descending)
			require.NoError(t, err)
			assert.Equal(t, tc.want, eventIDs(got))
		})
	}
	newest, err := s.ListEvents(t.Context(), "", 0, engine.Descending)
	require.NoError(t, err)
	assert.Equal(t, normAll([]engine.Event{e3, e2, e1}, normEvent), normAll(newest, normEvent), "the same events, reversed")

	t.Run("events appended after a cursor follow it", func(t *testing.T) {
		commit(t, s, engine.Change{Events: []engine.Event{event("e4", "acme", 4), event("e5", "acme", 5)}})
		got, err := s.ListEvents(t.Context(), all[2].Cursor, 0, engine.Ascending)
		require.NoError(t, err)
		assert.Equal(t, []string{"e4", "e5"}, eventIDs(got))
	})
}

// testEventsFor: each recipient lists exactly the events addressed to it
// (Event.To), oldest first, with the cursors ListEvents gives them, so that
// either listing's cursor pages the other; an event naming a recipient twice
// lists once, and a refused commit indexes nothing (R42, R43); newest first
// it pages backwards with the same cursors.
func testEventsFor(t *testing.T, s engine.Store) {
	event := func(id string, minute int, to ...string) engine.Event {
		return engine.Event{
			ID: id, Type: "request.created", Account: "acme", At: at(minute), To: to,
			Data: rawJSON(t, map[string]any{"request": "r-" + id}),
		}
	}
	commit(t, s, engine.Change{Events: []engine.Event{event("e1", 1, "alice", "bob"), event("e2", 1, "bob")}})
	commit(t, s, engine.Change{Events: []engine.Event{event("e3", 2), event("e4", 2, "carol", "alice", "alice")}})
	commit(t, s, engine.Change{Events: []engine.Event{event("e5", 3, "bob")}})
	err := s.Commit(t.Context(), engine.Change{
		Versions: map[string]uint64{"nowhere": 1},
		Events:   []engine.Event{event("refused", 4, "alice", "dave")},
	})
	require.ErrorIs(t, err, engine.ErrConflict)

	all, err := s.ListEvents(t.Context(), "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Equal(t, []string{"e1", "e2", "e3", "e4", "e5"}, eventIDs(all))
	byID := make(map[string]engine.Event, len(all))
	for _, ev := range all {
		byID[ev.ID] = ev
	}

	recipients := []struct {
		name      string
		recipient string
		want      []string
	}{
		{"two recipients, two commits", "alice", []string{"e1", "e4"}},
		{"several events of one commit", "bob", []string{"e1", "e2", "e5"}},
		{"named twice, listed once", "carol", []string{"e4"}},
		{"only in a refused commit", "dave", []string{}},
		{"unknown recipient", "nobody", []string{}},
	}
	for _, tc := range recipients {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListEventsFor(t.Context(), tc.recipient, "", 0, engine.Ascending)
			require.NoError(t, err)
			require.Equal(t, tc.want, eventIDs(got))
			for _, ev := range got {
				assert.Equal(t, byID[ev.ID].Cursor, ev.Cursor, "cursor of %s", ev.ID)
				assert.Equal(t, normEvent(byID[ev.ID]), normEvent(ev), "event %s", ev.ID)
			}
		})
	}

	bob, err := s.ListEventsFor(t.Context(), "bob", "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Len(t, bob, 3)
	pages := []struct {
		name  string
		after string
		limit int
		want  []string
	}{
		{"first page", "", 2, []string{"e1", "e2"}},
		{"after the first", bob[0].Cursor, 1, []string{"e2"}},
		{"after the second, no limit", bob[1].Cursor, 0, []string{"e5"}},
		{"after the last", bob[2].Cursor, 5, []string{}},
		{"after a global cursor not addressed to bob", byID["e3"].Cursor, 0, []string{"e5"}},
	}
	for _, tc := range pages {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListEventsFor(t.Context(), "bob", tc.after, tc.limit, engine.Ascending)
			require.NoError(t, err)
			assert.Equal(t, tc.want, eventIDs(got))
		})
	}

	descPages := []struct {
		name      string
		recipient string
		after     string
		limit     int
		want      []string
	}{
		{"newest first, first page", "bob", "", 2, []string{"e5", "e2"}},
		{"newest first, after the newest", "bob", bob[2].Cursor, 0, []string{"e2", "e1"}},
		{"newest first, after the oldest", "bob", bob[0].Cursor, 5, []string{}},
		{"newest first, after a global cursor not addressed to bob", "bob", byID["e3"].Cursor, 0, []string{"e2", "e1"}},
		{"newest first, another recipient", "alice", "", 0, []string{"e4", "e1"}},
	}
	for _, tc := range descPages {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListEventsFor(t.Context(), tc.recipient, tc.after, tc.limit, engine.Descending)
			require.NoError(t, err)
			assert.Equal(t, tc.want, eventIDs(got))
			for _, ev := range got {
				assert.Equal(t, byID[ev.ID].Cursor, ev.Cursor, "cursor of %s", ev.ID)
			}
		})
	}

	t.Run("events appended after a cursor follow it", func(t *testing.T) {
		commit(t, s, engine.Change{Events: []engine.Event{event("e6", 5, "alice"), event("e7", 5, "bob")}})
		got, err := s.ListEventsFor(t.Context(), "bob", bob[2].Cursor, 0, engine.Ascending)
		require.NoError(t, err)
		assert.Equal(t, []string{"e7"}, eventIDs(got))
	})
}
