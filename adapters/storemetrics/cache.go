package storemetrics

import "github.com/prometheus/client_golang/prometheus"

// CacheStats are the counters of a store's local cache of the records
// decisions read (the Redis store's client-side cache): Hits and Misses
// of cached key reads, Invalidations (keys the server said changed),
// Drops (whole-cache drops on a lost connection), ReadsAround (decisions
// read around the cache), and its size in Entries and Bytes, bounded by
// MaxBytes.
type CacheStats struct {
	Hits, Misses, Invalidations, Drops, ReadsAround uint64
	Entries                                         int
	Bytes, MaxBytes                                 int64
}

// RegisterCache exports stats, read at each scrape, on reg:
// gatehouse_store_cache_hits_total, _misses_total, _invalidations_total,
// _drops_total and _reads_around_total (counters),
// gatehouse_store_cache_entries, gatehouse_store_cache_bytes and
// gatehouse_store_cache_max_bytes (gauges).
func RegisterCache(reg prometheus.Registerer, stats func() CacheStats) {
	counter := func(name, help string, v func(CacheStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gatehouse_store_cache_" + name, Help: help},
			func() float64 { return float64(v(stats())) })
	}
	gauge := func(name, help string, v func(CacheStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_store_cache_" + name, Help: help},
			func() float64 { return v(stats()) })
	}
	reg.MustRegister(
		counter("hits_total", "Reads of one key answered from the local cache of decision records.",
			func(s CacheStats) uint64 { return s.Hits }),
		counter("misses_total", "Reads of one key the local cache sent to the store.",
			func(s CacheStats) uint64 { return s.Misses }),
		counter("invalidations_total", "Keys the store said changed, dropped from the local cache.",
			func(s CacheStats) uint64 { return s.Invalidations }),
		counter("drops_total", "Times the whole local cache was dropped because its tracking connection was lost.",
			func(s CacheStats) uint64 { return s.Drops }),
		counter("reads_around_total", "Decisions read from the store around the local cache (a consistency token it was behind, or records that changed while read).",
			func(s CacheStats) uint64 { return s.ReadsAround }),
		gauge("entries", "Entries in the local cache.", func(s CacheStats) float64 { return float64(s.Entries) }),
		gauge("bytes", "Estimated size of the local cache, in bytes.", func(s CacheStats) float64 { return float64(s.Bytes) }),
		gauge("max_bytes", "Bound of the local cache's size, in bytes (serve --cache-max-bytes).",
			func(s CacheStats) float64 { return float64(s.MaxBytes) }),
	)
}
