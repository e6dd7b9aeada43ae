package storemetrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/storemetrics"
)

// RegisterCache exports the stats read at each scrape, counters and gauges
// under gatehouse_store_cache_, and they pass Prometheus's lint.
func TestCacheStatsAreExported(t *testing.T) {
	reg := prometheus.NewRegistry()
	stats := storemetrics.CacheStats{Hits: 10, Misses: 3, Invalidations: 2, Drops: 1, ReadsAround: 4, Entries: 5, Bytes: 640, MaxBytes: 1 << 20}
	storemetrics.RegisterCache(reg, func() storemetrics.CacheStats { return stats })
	stats.Hits = 11 // read at the scrape, not at registration

	want := `
# HELP gatehouse_store_cache_hits_total Reads of one key answered from the local cache of decision records.
# TYPE gatehouse_store_cache_hits_total counter
gatehouse_store_cache_hits_total 11
# HELP gatehouse_store_cache_entries Entries in the local cache.
# TYPE gatehouse_store_cache_entries gauge
gatehouse_store_cache_entries 5
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
		"gatehouse_store_cache_hits_total", "gatehouse_store_cache_entries"))
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	assert.Equal(t, 8, n, "hits, misses, invalidations, drops, reads around, entries, bytes, max bytes")
}
