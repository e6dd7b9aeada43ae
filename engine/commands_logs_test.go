package engine_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// eventReads counts the event listings the engine asks of its store.
type eventReads struct {
	engine.Store
	all, forRecipient atomic.Int64
}

func (s *eventReads) ListEvents(ctx context.Context, after string, limit int, order engine.Order) ([]engine.Event, error) {
	s.all.Add(1)
	return s.Store.ListEvents(ctx, after, limit, order)
}

func (s *eventReads) ListEventsFor(ctx context.Context, recipient, after string, limit int, order engine.Order) ([]engine.Event, error) {
	s.forRecipient.Add(1)
	return s.Store.ListEventsFor(ctx, recipient, after, limit, order)
}

// R42, R43: a user's event listing reads the store's index of the events
// addressed to them, in one store call, however many events others got; it
// pages with the cursors the system administrator's listing shows.
func TestListEventsReadsOnlyTheUsersEvents(t *testing.T) {
	const batches, perBatch = 5, 100
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			store := &eventReads{Store: kind.open(t)}
			e := newCommandEngine(t, store, newFakeClock())
			ctx := t.Context()
			require.NoError(t, store.Commit(ctx, engine.Change{Users: []engine.User{{ID: "dana", Email: "dana@example.com"}}}))

			var mine []string
			for b := range batches {
				var events []engine.Event
				for i := range perBatch {
					events = append(events, engine.Event{
						ID: fmt.Sprintf("other-%d-%d", b, i), Type: engine.EventRequestCreated, Account: "acme",
						At: commandEpoch, To: []string{fmt.Sprintf("user-%d", i%7), "ann"},
					})
				}
				if b%2 == 0 {
					id := fmt.Sprintf("dana-%d", b)
					mine = append(mine, id)
					events = append(events[:perBatch/2], append([]engine.Event{{
						ID: id, Type: engine.EventRequestCreated, Account: "acme", At: commandEpoch, To: []string{"ann", "dana"},
					}}, events[perBatch/2:]...)...)
				}
				require.NoError(t, store.Commit(ctx, engine.Change{Events: events}))
			}
			require.Len(t, mine, 3)

			got, err := e.ListEvents(ctx, "dana", "", 0, engine.Ascending)
			require.NoError(t, err)
			assert.Equal(t, mine, eventIDs(got))
			assert.Equal(t, int64(1), store.forRecipient.Load(), "one indexed read")
			assert.Zero(t, store.all.Load(), "the global log is not read")

			all, err := e.ListEvents(ctx, sysAdmin, "", engine.MaxListLimit, engine.Ascending)
			require.NoError(t, err)
			require.Len(t, all, batches*perBatch+len(mine))
			cursors := map[string]string{}
			for _, ev := range all {
				cursors[ev.ID] = ev.Cursor
			}
			for _, ev := range got {
				assert.Equal(t, cursors[ev.ID], ev.Cursor, "cursor of %s", ev.ID)
			}

			next, err := e.ListEvents(ctx, "dana", got[0].Cursor, 1, engine.Ascending)
			require.NoError(t, err)
			assert.Equal(t, mine[1:2], eventIDs(next))
		})
	}
}

// eventIDs lists the ids of events in order.
func eventIDs(events []engine.Event) []string {
	ids := make([]string, 0, len(events))
	for _, ev := range events {
		ids = append(ids, ev.ID)
	}
	return ids
}
