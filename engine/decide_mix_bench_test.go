package engine_test

import (
	"context"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/engine/benchdata"
)

// benchMix loads the data set of make bench-decisions (benchdata.Full,
// seed 1: 10,000 accounts, 100,000 memberships) into an embedded store in a
// temporary directory and returns an engine on it and its 20,000 distinct
// questions.
func benchMix(b *testing.B, opts ...engine.Option) (*engine.Engine, []engine.DecisionRequest) {
	b.Helper()
	data := benchdata.Generate(1, benchdata.Full)
	store := openEmbedded(b, embedded.WithNoSync())
	require.NoError(b, data.Load(context.Background(), store))
	eng, err := engine.New(store, builtinPolicy(b), append(opts, engine.WithClock(func() time.Time { return benchdata.Now }), engine.WithDecisionTimeout(time.Minute))...)
	require.NoError(b, err)
	return eng, data.Uniform(1, 20_000)
}

// runMix decides the questions in turn, failing on a decision that failed
// closed, and reports wall µs, process CPU µs (GC included: steadier than
// wall time on a loaded machine) and allocations per decision.
func runMix(b *testing.B, eng *engine.Engine, qs []engine.DecisionRequest) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if d := eng.Decide(ctx, qs[i%len(qs)]); d.Error != "" {
			b.Fatalf("decision failed: %s %v", d.Error, d.Reasons)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/decision")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/decision")
}

// processCPU is the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecideMixUniform: the uniform question set of make
// bench-decisions, decision cache off: every decision reads the store and
// evaluates the policy, with each evaluator (benchstat -col /evaluator
// compares them).
func BenchmarkDecideMixUniform(b *testing.B) {
	for _, ev := range []engine.Evaluator{engine.EvaluatorTopdown, engine.EvaluatorPlan} {
		b.Run("evaluator="+string(ev), func(b *testing.B) {
			eng, qs := benchMix(b, engine.WithEvaluator(ev))
			runMix(b, eng, qs)
		})
	}
}

// BenchmarkDecideMixZipf: the Zipf question set of make bench-decisions
// (a few subjects ask most questions), with the default decision cache,
// with each evaluator.
func BenchmarkDecideMixZipf(b *testing.B) {
	for _, ev := range []engine.Evaluator{engine.EvaluatorTopdown, engine.EvaluatorPlan} {
		b.Run("evaluator="+string(ev), func(b *testing.B) {
			eng, qs := benchMix(b, engine.WithDecisionCache(100_000), engine.WithEvaluator(ev))
			runMix(b, eng, benchdata.Zipf(qs, 1, len(qs)))
		})
	}
}

// BenchmarkDecideMixPolicyBefore: as BenchmarkDecideMixUniform with the
// policy as it was before the decision path was reworked (issue 8), kept in
// testdata/policy-before for the equivalence test; for comparison.
func BenchmarkDecideMixPolicyBefore(b *testing.B) {
	data := benchdata.Generate(1, benchdata.Full)
	store := openEmbedded(b, embedded.WithNoSync())
	require.NoError(b, data.Load(context.Background(), store))
	eng, err := engine.New(store, policyBefore(b), engine.WithClock(func() time.Time { return benchdata.Now }), engine.WithDecisionTimeout(time.Minute))
	require.NoError(b, err)
	runMix(b, eng, data.Uniform(1, 20_000))
}

// policyBefore compiles testdata/policy-before.
func policyBefore(tb testing.TB) *engine.Policy {
	tb.Helper()
	files, err := engine.ReadPolicyFiles(os.DirFS("testdata/policy-before"))
	require.NoError(tb, err)
	p, err := engine.CompilePolicy(context.Background(), files, "before")
	require.NoError(tb, err)
	return p
}

// BenchmarkDecideMixUniformParallel: as BenchmarkDecideMixUniform from
// GOMAXPROCS goroutines at once, for the block and mutex profiles of
// concurrent decisions (-blockprofile, -mutexprofile, -trace).
func BenchmarkDecideMixUniformParallel(b *testing.B) {
	eng, qs := benchMix(b)
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if d := eng.Decide(ctx, qs[int(next.Add(1))%len(qs)]); d.Error != "" {
				b.Errorf("decision failed: %s %v", d.Error, d.Reasons)
				return
			}
		}
	})
}
