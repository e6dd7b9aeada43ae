package engine_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/engine/benchdata"
	"github.com/gatehouse/gatehouse/policies"
)

// planSeed replays one run of TestPlanEquivalentToTopdown: the seed it
// printed, as -plan-seed or GATEHOUSE_PLAN_SEED.
var planSeed = flag.Uint64("plan-seed", 0, "seed of TestPlanEquivalentToTopdown (0: GATEHOUSE_PLAN_SEED, else the time)")

// planFull makes TestPlanEquivalentToTopdown compare the 20,000 questions
// of make bench-decisions on its full data set (minutes: not for make test).
var planFull = flag.Bool("plan-full", false, "TestPlanEquivalentToTopdown on the 20,000 questions and full data set of make bench-decisions (seed 1)")

func equivalenceSeed(t *testing.T) uint64 {
	t.Helper()
	seed := *planSeed
	if seed == 0 {
		if env := os.Getenv("GATEHOUSE_PLAN_SEED"); env != "" {
			s, err := strconv.ParseUint(env, 10, 64)
			require.NoError(t, err, "GATEHOUSE_PLAN_SEED must be an unsigned integer")
			seed = s
		}
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: go test ./engine -run %s -plan-seed %d)", seed, t.Name(), seed)
	return seed
}

// TestPlanEquivalentToTopdown: the plan interpreter (the default
// evaluator) gives the whole decision that topdown gives - allow, every
// reason, the grant and the error - on a directory and questions drawn
// from a new seed on every run (printed; -plan-seed replays it): members,
// partners and tenants, expired and unexpired memberships and grants,
// unknown subjects, accounts, actions and virtual accounts, at clocks
// before, around and after the data's expiries (equivalenceClock); with the built-in policy, and with its data
// naming the applications that may ask (callers allowed, refused, absent).
// With -plan-full: the data set and 20,000 questions of make
// bench-decisions instead (seed 1), also as the benchmark asks them (its
// clock, no caller); the clocks and callers still vary with the printed
// seed.
func TestPlanEquivalentToTopdown(t *testing.T) {
	seed := equivalenceSeed(t)
	size, n := benchdata.Small, 2_000
	if *planFull {
		size, n = benchdata.Full, 20_000
	}
	dataSeed := seed
	if *planFull {
		dataSeed = 1
	}
	data := benchdata.Generate(dataSeed, size)
	store := openEmbedded(t, embedded.WithNoSync())
	require.NoError(t, data.Load(context.Background(), store))
	questions := data.Uniform(dataSeed, n)
	if !*planFull {
		questions = append(questions, benchdata.Zipf(questions, seed, n/2)...)
	} else {
		t.Run("as make bench-decisions asks", func(t *testing.T) {
			compareEvaluators(t, store, builtinPolicy(t), questions, 0)
		})
	}
	t.Run("built-in", func(t *testing.T) {
		compareEvaluators(t, store, builtinPolicy(t), questions, seed)
	})
	t.Run("decision callers", func(t *testing.T) {
		compareEvaluators(t, store, callersPolicy(t), questions, seed+1)
	})
}

// callersPolicy is the built-in policy with data naming the applications
// that may ask for decisions, and the actions they may ask about.
func callersPolicy(t *testing.T) *engine.Policy {
	t.Helper()
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(t, err)
	before := string(files["data.json"])
	after := strings.Replace(before, `"decision_callers": {}`, `"decision_callers": {"billing": ["view", "use"], "portal": ["*"]}`, 1)
	require.NotEqual(t, before, after, "data.json sets decision_callers to {}")
	files["data.json"] = []byte(after)
	p, err := engine.CompilePolicy(context.Background(), files, "callers")
	require.NoError(t, err)
	return p
}

// equivalenceClock draws the clock of one comparison: within 60 days of
// the data's, within two hours of the moment its expired memberships and
// grants expired (benchdata: four years before), or before it, when they
// are all live.
func equivalenceClock(r *rand.Rand) time.Time {
	expiry := benchdata.Now.AddDate(-4, 0, 0)
	switch r.IntN(3) {
	case 0:
		return benchdata.Now.Add(time.Duration(r.Int64N(int64(120*24*time.Hour))) - 60*24*time.Hour)
	case 1:
		return expiry.Add(time.Duration(r.Int64N(int64(4*time.Hour))) - 2*time.Hour)
	}
	return expiry.AddDate(-1, 0, 0)
}

// callers the comparison draws from: none (no authentication), and names
// the policy data may or may not list in decision_callers.
var equivalenceCallers = []string{"", "billing", "portal", "unknown-app"}

// compareEvaluators decides every question with the plan and with topdown
// and requires the same decision, at clocks and with callers drawn from
// seed (0: benchdata.Now and no caller).
func compareEvaluators(t *testing.T, store engine.Store, policy *engine.Policy, questions []engine.DecisionRequest, seed uint64) {
	t.Helper()
	ctx := context.Background()
	var now atomic.Int64
	clock := engine.WithClock(func() time.Time { return time.Unix(0, now.Load()).UTC() })
	deadline := engine.WithDecisionTimeout(time.Minute) // a loaded machine is not a failure
	ev, why := policy.Evaluator(engine.EvaluatorPlan)
	require.Equal(t, engine.EvaluatorPlan, ev, "the built-in policy must run as a plan: %s", why)
	topdown, err := engine.New(store, policy, clock, deadline, engine.WithEvaluator(engine.EvaluatorTopdown))
	require.NoError(t, err)
	plan, err := engine.New(store, policy, clock, deadline, engine.WithEvaluator(engine.EvaluatorPlan))
	require.NoError(t, err)

	r := rand.New(rand.NewPCG(seed, 0x706c616e))
	outcomes := map[string]int{}
	for _, q := range questions {
		// Clocks within 60 days of the data's: memberships and grants
		// expire on both sides of it.
		now.Store(benchdata.Now.UnixNano())
		if seed != 0 {
			now.Store(equivalenceClock(r).UnixNano())
			q.Caller = equivalenceCallers[r.IntN(len(equivalenceCallers))]
		}
		want, got := topdown.Decide(ctx, q), plan.Decide(ctx, q)
		require.Empty(t, want.Error, "topdown: %+v: %v", q, want.Reasons)
		require.Equal(t, want.Allow, got.Allow, "allow of %+v: topdown %v, plan %v", q, want.Reasons, got.Reasons)
		require.Equal(t, want.Reasons, got.Reasons, "reasons of %+v", q)
		require.Equal(t, want.Grant, got.Grant, "grant of %+v", q)
		require.Equal(t, want.Error, got.Error, "error of %+v", q)
		switch {
		case got.Allow:
			outcomes["allow "+got.Grant.Kind]++
		default:
			outcomes["deny"]++
		}
	}
	t.Logf("%d decisions identical, by outcome: %v", len(questions), outcomes)
	require.Positive(t, outcomes["allow membership"])
	require.Positive(t, outcomes["deny"])

	// The same plan from several goroutines at once (run with -race): each
	// answer is still topdown's.
	now.Store(benchdata.Now.UnixNano())
	sample := questions[:min(len(questions), 400)]
	want := make([]engine.Decision, len(sample))
	for i, q := range sample {
		want[i] = topdown.Decide(ctx, q)
	}
	var wg sync.WaitGroup
	mismatches := make(chan string, 4*len(sample))
	for range 4 {
		wg.Go(func() {
			for i, q := range sample {
				got := plan.Decide(ctx, q)
				if got.Allow != want[i].Allow || !slices.Equal(got.Reasons, want[i].Reasons) || !reflect.DeepEqual(got.Grant, want[i].Grant) || got.Error != want[i].Error {
					mismatches <- fmt.Sprintf("%+v: topdown %v %v, plan %v %v", q, want[i].Allow, want[i].Reasons, got.Allow, got.Reasons)
				}
			}
		})
	}
	wg.Wait()
	close(mismatches)
	for m := range mismatches {
		require.Fail(t, "concurrent plan decision differs from topdown", m)
	}
}
