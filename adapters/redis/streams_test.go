package redis_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// The ends of the stream id space are cursors too: nothing follows the
// largest id oldest first, nothing precedes 0-0 newest first. Redis refuses
// an exclusive bound there, so the store answers an empty page itself
// instead of a store error (R44). A malformed cursor is invalid in either
// order.
func TestStreamCursorBoundsInBothOrders(t *testing.T) {
	s := newStore(t, redistest.Start(t))
	require.NoError(t, s.Commit(t.Context(), engine.Change{
		Audit:  []engine.AuditRecord{{ID: "a1", Account: "acme", Actor: "root", Action: "member.add", PolicyRevision: "r"}},
		Events: []engine.Event{{ID: "e1", Type: "user.added", To: []string{"u"}}},
	}))
	bounds := []struct {
		cursor string
		order  engine.Order
	}{
		{"18446744073709551615-18446744073709551615", engine.Ascending},
		{"0-0", engine.Descending},
	}
	for _, b := range bounds {
		t.Run(string(b.order)+" after "+b.cursor, func(t *testing.T) {
			audit, err := s.ListAudit(t.Context(), "acme", b.cursor, 10, b.order)
			require.NoError(t, err)
			assert.Empty(t, audit)
			events, err := s.ListEvents(t.Context(), b.cursor, 10, b.order)
			require.NoError(t, err)
			assert.Empty(t, events)
			mine, err := s.ListEventsFor(t.Context(), "u", b.cursor, 10, b.order)
			require.NoError(t, err)
			assert.Empty(t, mine)
		})
	}
	for _, cursor := range []string{"abc", "1-", "(1-0"} {
		_, err := s.ListAudit(t.Context(), "acme", cursor, 0, engine.Descending)
		require.ErrorIs(t, err, engine.ErrInvalid, cursor)
		_, err = s.ListEventsFor(t.Context(), "u", cursor, 0, engine.Descending)
		require.ErrorIs(t, err, engine.ErrInvalid, cursor)
	}
}
