package policies_test

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/policies"
)

// minCoverage is the share of the policy files' lines (tests excluded) that
// the Rego tests must cover, in percent.
const minCoverage = 90.0

// load reads the embedded policies and data with OPA's loader, as the engine
// does; filter, when not nil, leaves files out.
func load(tb testing.TB, filter loader.Filter) *loader.Result {
	tb.Helper()
	result, err := loader.NewFileLoader().
		WithFS(policies.FS()).
		WithRegoVersion(ast.RegoV1).
		Filtered([]string{"."}, filter)
	require.NoError(tb, err, "loading the embedded policies")
	return result
}

// skipTests is a loader filter that leaves out the Rego unit tests, as the
// engine's loader does.
func skipTests(_ string, info fs.FileInfo, _ int) bool {
	return !info.IsDir() && strings.HasSuffix(info.Name(), "_test.rego")
}

// TestRegoUnitTests runs every test_* rule of the embedded *_test.rego files,
// one Go subtest each, and checks the coverage of the policy files.
func TestRegoUnitTests(t *testing.T) {
	loaded := load(t, nil)
	store, err := loaded.Store()
	require.NoError(t, err)
	modules := loaded.ParsedModules()

	coverage := cover.New()
	runner := tester.NewRunner().SetCoverageQueryTracer(coverage).SetCoverageRuns(nil)
	results := runRegoTests(t, runner, store, modules)
	require.NotEmpty(t, results, "no Rego test found")

	var failed []string
	for _, result := range results {
		name := result.Package + "." + result.Name
		t.Run(name, func(t *testing.T) {
			if !result.Pass() {
				failed = append(failed, name)
				t.Error(describeFailure(result))
			}
		})
	}
	if len(failed) > 0 {
		t.Log(explainFailures(t, store, modules, failed))
	}

	checkCoverage(t, coverage.Report(modules))
}

// runRegoTests runs the tests the runner selects over modules and data in
// store, and returns their results in file and line order.
func runRegoTests(tb testing.TB, runner *tester.Runner, store storage.Store, modules map[string]*ast.Module) []*tester.Result {
	tb.Helper()
	ctx := context.Background()
	txn, err := store.NewTransaction(ctx)
	require.NoError(tb, err)
	defer store.Abort(ctx, txn)

	ch, err := runner.
		SetStore(store).
		SetModules(modules).
		CapturePrintOutput(true).
		SetTimeout(time.Minute). // per test: generous, a busy machine under -race is slow
		RunTests(ctx, txn)
	require.NoError(tb, err, "compiling the policies and their tests")

	var results []*tester.Result
	for result := range ch {
		results = append(results, result)
	}
	slices.SortFunc(results, func(a, b *tester.Result) int {
		return cmp.Or(cmp.Compare(a.Location.File, b.Location.File), cmp.Compare(a.Location.Row, b.Location.Row))
	})
	return results
}

// describeFailure says where a Rego test is and why it did not pass.
func describeFailure(result *tester.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d: %s.%s ", result.Location.File, result.Location.Row, result.Package, result.Name)
	switch {
	case result.Error != nil:
		fmt.Fprintf(&b, "ERROR: %v", result.Error)
	case result.Skip:
		b.WriteString("SKIPPED: tests must not be skipped")
	default:
		b.WriteString("FAILED (the expression that failed is logged below)")
	}
	if len(result.Output) > 0 {
		fmt.Fprintf(&b, "\nprint output:\n%s", result.Output)
	}
	return b.String()
}

// explainFailures runs the failed tests again with tracing and renders, as
// `opa test --var-values` does, the expression each one failed at with the
// values of its variables.
func explainFailures(tb testing.TB, store storage.Store, modules map[string]*ast.Module, names []string) string {
	tb.Helper()
	quoted := make([]string, len(names))
	for i, name := range names {
		quoted[i] = regexp.QuoteMeta(name)
	}
	runner := tester.NewRunner().EnableTracing(true).Filter("^(" + strings.Join(quoted, "|") + ")$")
	results := runRegoTests(tb, runner, store, modules)

	ch := make(chan *tester.Result, len(results))
	for _, result := range results {
		ch <- result
	}
	close(ch)
	var out strings.Builder
	reporter := tester.PrettyReporter{Output: &out, FailureLine: true, LocalVars: true}
	if err := reporter.Report(ch); err != nil {
		return fmt.Sprintf("cannot explain the failures: %v", err)
	}
	return "\n" + out.String()
}

// checkCoverage logs the coverage of every file and requires minCoverage
// over the policy files, tests excluded.
func checkCoverage(t *testing.T, report cover.Report) {
	t.Helper()
	files := slices.Sorted(func(yield func(string) bool) {
		for file := range report.Files {
			if !yield(file) {
				return
			}
		}
	})
	var covered, notCovered int
	for _, file := range files {
		fr := report.Files[file]
		t.Logf("coverage %-28s %6.2f%% (%d lines covered, %d not)", file, fr.Coverage, fr.CoveredLines, fr.NotCoveredLines)
		if strings.HasSuffix(file, "_test.rego") {
			continue
		}
		covered += fr.CoveredLines
		notCovered += fr.NotCoveredLines
		for _, rows := range notCoveredRows(fr.NotCovered) {
			t.Logf("  not covered: %s:%s", file, rows)
		}
	}
	require.Positive(t, covered+notCovered, "no policy line was measured")
	overall := 100 * float64(covered) / float64(covered+notCovered)
	t.Logf("coverage of the policy files: %.2f%%", overall)
	assert.GreaterOrEqual(t, overall, minCoverage, "the Rego tests must cover at least %.0f%% of the policy files", minCoverage)
}

// notCoveredRows lists the rows of ranges, once each: "12" or "12-14".
func notCoveredRows(ranges []cover.Range) []string {
	var rows []string
	for _, rng := range ranges {
		text := strconv.Itoa(rng.Start.Row)
		if rng.End.Row != rng.Start.Row {
			text += "-" + strconv.Itoa(rng.End.Row)
		}
		if !slices.Contains(rows, text) {
			rows = append(rows, text)
		}
	}
	return rows
}

// TestRegoFormatted requires every .rego file to be exactly what `opa fmt`
// makes of it.
func TestRegoFormatted(t *testing.T) {
	names, err := fs.Glob(policies.FS(), "*.rego")
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			src, err := fs.ReadFile(policies.FS(), name)
			require.NoError(t, err)
			formatted, err := format.Source(name, src)
			require.NoError(t, err, "%s does not parse", name)
			assert.Equal(t, string(formatted), string(src), "%s is not opa fmt clean: run `opa fmt -w policies/`", name)
		})
	}
}

// TestRegoStrict compiles the policies and their tests in strict mode, as
// `opa check --strict` does.
func TestRegoStrict(t *testing.T) {
	modules := load(t, nil).ParsedModules()
	compiler := ast.NewCompiler().WithStrict(true)
	compiler.Compile(modules)
	for _, compileErr := range compiler.Errors {
		t.Errorf("%s", compileErr)
	}
}

// TestEveryPolicyHasTests requires a x_test.rego beside every x.rego.
func TestEveryPolicyHasTests(t *testing.T) {
	names, err := fs.Glob(policies.FS(), "*.rego")
	require.NoError(t, err)
	for _, name := range names {
		if strings.HasSuffix(name, "_test.rego") {
			continue
		}
		testName := strings.TrimSuffix(name, path.Ext(name)) + "_test.rego"
		if !slices.Contains(names, testName) {
			t.Errorf("%s has no tests beside it: add %s", name, testName)
		}
	}
}

// TestDecisionAsTheEngineEvaluatesIt loads the policies without their tests
// and evaluates data.gatehouse.decision.result, as the engine does (R7).
func TestDecisionAsTheEngineEvaluatesIt(t *testing.T) {
	loaded := load(t, skipTests)
	for file := range loaded.ParsedModules() {
		require.False(t, strings.HasSuffix(file, "_test.rego"), "the filter kept %s", file)
	}
	store, err := loaded.Store()
	require.NoError(t, err)
	query := prepare(t, loaded, store)

	now := time.Date(2025, 11, 21, 5, 0, 0, 0, time.UTC)
	tomSawyer := map[string]any{"id": "tom-sawyer", "name": "Tom Sawyer", "virtual_accounts": []any{"va1"}, "partner": "classics"}
	grant := map[string]any{"request": "01JREQ", "granted_by": "tom", "expires_at_ns": now.Add(time.Hour).UnixNano()}

	tests := []struct {
		name    string
		input   map[string]any
		allow   bool
		reasons []any
		grant   map[string]any
	}{
		{
			name: "allow_view_through_account_user",
			input: map[string]any{
				"subject": "caroline", "action": "view", "now_ns": now.UnixNano(),
				"resource":   map[string]any{"account": "tom-sawyer", "virtual_account": "va1"},
				"user":       map[string]any{"id": "caroline"},
				"account":    tomSawyer,
				"membership": map[string]any{"roles": []any{"account_user"}, "added_by": "ops", "request": "01JM"},
			},
			allow:   true,
			reasons: []any{"caroline holds account_user on tom-sawyer, which acts on each of its virtual accounts and includes va_viewer on va1 (needed for view)"},
			grant:   map[string]any{"kind": "membership", "account": "tom-sawyer", "request": "01JM", "approved_by": "ops"},
		},
		{
			name: "allow_impersonation_by_tenant_grant",
			input: map[string]any{
				"subject": "caroline", "action": "impersonate.support", "now_ns": now.UnixNano(),
				"resource": map[string]any{"account": "tom-sawyer"},
				"user":     map[string]any{"id": "caroline", "organization": "classics"},
				"account":  tomSawyer,
				"tenant":   map[string]any{"exclusive": true, "grants": []any{grant}},
			},
			allow:   true,
			reasons: []any{"caroline is named in tenant request 01JREQ for tom-sawyer, granted by tom until 2025-11-21T06:00:00Z"},
			grant:   map[string]any{"kind": "tenant_grant", "account": "tom-sawyer", "request": "01JREQ", "approved_by": "tom"},
		},
		{
			name: "deny_unknown_subject",
			input: map[string]any{
				"subject": "nobody", "action": "view", "now_ns": now.UnixNano(),
				"resource": map[string]any{"account": "tom-sawyer"},
				"account":  tomSawyer,
			},
			reasons: []any{`unknown subject "nobody"`},
		},
		{
			name:    "deny_empty_input",
			input:   map[string]any{},
			reasons: []any{`unknown account ""`, `unknown action ""`, `unknown subject ""`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := query.Eval(context.Background(), rego.EvalInput(tt.input))
			require.NoError(t, err)
			require.Len(t, rs, 1)
			require.Len(t, rs[0].Expressions, 1)
			result, ok := rs[0].Expressions[0].Value.(map[string]any)
			require.True(t, ok, "result is not an object: %#v", rs[0].Expressions[0].Value)
			assert.Equal(t, tt.allow, result["allow"])
			assert.Equal(t, tt.reasons, result["reasons"])
			if tt.grant == nil {
				assert.NotContains(t, result, "grant")
				return
			}
			assert.Equal(t, tt.grant, result["grant"])
		})
	}
}

// prepare compiles the query data.gatehouse.decision.result once.
func prepare(tb testing.TB, loaded *loader.Result, store storage.Store) rego.PreparedEvalQuery {
	tb.Helper()
	options := []func(*rego.Rego){
		rego.Query("data.gatehouse.decision.result"),
		rego.Store(store),
	}
	for _, module := range loaded.ParsedModules() {
		options = append(options, rego.ParsedModule(module))
	}
	query, err := rego.New(options...).PrepareForEval(context.Background())
	require.NoError(tb, err)
	return query
}
