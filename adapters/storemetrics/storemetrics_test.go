package storemetrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/adapters/storemetrics"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/engine/storetest"
)

// The wrapped store still passes the conformance suite: measuring changes nothing.
func TestWrappedStorePassesTheSuite(t *testing.T) {
	storetest.Run(t, func(tb testing.TB) engine.Store {
		s, err := embedded.Open(tb.TempDir())
		require.NoError(tb, err)
		tb.Cleanup(func() { s.Close() })
		return storemetrics.Wrap(s, prometheus.NewRegistry())
	})
}

func TestCallsAreCountedByOutcome(t *testing.T) {
	s, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	reg := prometheus.NewRegistry()
	w := storemetrics.Wrap(s, reg)

	_, err = w.GetUser(t.Context(), "nobody")
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = w.Snapshot(t.Context(), "alice", "acme")
	require.NoError(t, err)
	require.NoError(t, w.Commit(t.Context(), engine.Change{Versions: map[string]uint64{"acme": 0}, Accounts: []engine.Account{{ID: "acme"}}}))
	require.ErrorIs(t, w.Commit(t.Context(), engine.Change{Versions: map[string]uint64{"acme": 0}}), engine.ErrConflict)
	events, err := w.ListEventsFor(t.Context(), "alice", "", 0, engine.Ascending)
	require.NoError(t, err)
	assert.Empty(t, events)

	expect := map[[2]string]float64{
		{"get_user", "not_found"}: 1,
		{"snapshot", "ok"}:        1,
		{"commit", "ok"}:          1,
		{"commit", "conflict"}:    1,
		{"list_events_for", "ok"}: 1,
	}
	families, err := reg.Gather()
	require.NoError(t, err)
	var found int
	for _, f := range families {
		if f.GetName() != "gatehouse_store_calls_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if want, ok := expect[[2]string{labels["op"], labels["outcome"]}]; ok {
				assert.Equal(t, want, m.GetCounter().GetValue(), "%v", labels)
				found++
			} else {
				assert.Zero(t, m.GetCounter().GetValue(), "%v", labels)
			}
		}
	}
	assert.Equal(t, len(expect), found)
	assert.Positive(t, testutil.CollectAndCount(reg, "gatehouse_store_call_duration_seconds"))
}
