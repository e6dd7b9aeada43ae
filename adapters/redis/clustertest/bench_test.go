package clustertest_test

import (
	"testing"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
)

// BenchmarkCommit commits grants, each on its own account, one at a time,
// on a 3-master cluster: the latency of one write, every round trip to
// every master included.
func BenchmarkCommit(b *testing.B) {
	s := openStore(b, redistest.StartCluster(b, 3), "bench")
	i := 0
	for b.Loop() {
		if err := s.Commit(b.Context(), grant(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
