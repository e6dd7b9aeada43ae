package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// Outcomes of one Rego test.
const (
	TestPass  = "pass"
	TestFail  = "fail"
	TestError = "error"
	TestSkip  = "skip"
)

// testTimeout bounds one Rego test, so that a pushed test that never ends
// cannot hold a push or a reload. It is far above what a test takes (well
// under a second), so that a busy machine never fails a sound policy.
const testTimeout = time.Minute

// TestReport is the outcome of the Rego unit tests of a policy set.
type TestReport struct {
	// Results holds one line per test, by file then line.
	Results []TestResult
	// Coverage holds the coverage of each policy file (test files excluded),
	// by file name.
	Coverage []FileCoverage
}

// TestResult is the outcome of one Rego test rule.
type TestResult struct {
	// Package is the test's package, e.g. data.gatehouse.roles_test.
	Package string
	// Name is the test rule, e.g. test_allow_view.
	Name string
	File string
	Line int
	// Outcome is TestPass, TestFail, TestError or TestSkip.
	Outcome string
	// Message says why a test did not pass, with any print() output.
	Message  string
	Duration time.Duration
}

// Where returns "file:line" of the test.
func (r TestResult) Where() string { return fmt.Sprintf("%s:%d", r.File, r.Line) }

// String reads "data.pkg.test_x (file:line): fail: message".
func (r TestResult) String() string {
	s := fmt.Sprintf("%s.%s (%s): %s", r.Package, r.Name, r.Where(), r.Outcome)
	if r.Message != "" {
		s += ": " + r.Message
	}
	return s
}

// FileCoverage is the share of a policy file's lines the tests evaluated.
type FileCoverage struct {
	File            string
	Percent         float64
	CoveredLines    int
	NotCoveredLines int
}

// Count returns how many tests had the outcome.
func (r TestReport) Count(outcome string) int {
	n := 0
	for _, t := range r.Results {
		if t.Outcome == outcome {
			n++
		}
	}
	return n
}

// Failures returns the tests that failed or ended in an error.
func (r TestReport) Failures() []TestResult {
	var out []TestResult
	for _, t := range r.Results {
		if t.Outcome == TestFail || t.Outcome == TestError {
			out = append(out, t)
		}
	}
	return out
}

// Err is nil when the set has tests and every one of them passed;
// otherwise it names each failing test with its file and line.
func (r TestReport) Err() error {
	if len(r.Results) == 0 {
		return errors.New("policy tests: the policy set has no Rego tests (rules named test_* in *_test.rego files)")
	}
	failures := r.Failures()
	if len(failures) == 0 {
		return nil
	}
	lines := make([]string, len(failures))
	for i, f := range failures {
		lines[i] = f.String()
	}
	return fmt.Errorf("policy tests: %d of %d failed:\n  %s", len(failures), len(r.Results), strings.Join(lines, "\n  "))
}

// RunPolicyTests runs every Rego test of the policy files (tests named
// test_* in any module) over the set's data documents, and measures the
// coverage of each policy file. The error is for a set that cannot be
// parsed or compiled; failing tests are in the report (see TestReport.Err).
func RunPolicyTests(ctx context.Context, files map[string][]byte) (TestReport, error) {
	modules, data, err := parsePolicyFiles(files)
	if err != nil {
		return TestReport{}, err
	}
	coverage := cover.New()
	compileMu.Lock()
	defer compileMu.Unlock()
	runner := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithStrict(true).WithEnablePrintStatements(true)).
		SetStore(inmem.NewFromObject(data)).
		SetModules(modules).
		SetTimeout(testTimeout).
		CapturePrintOutput(true).
		SetCoverageQueryTracer(coverage).
		SetCoverageRuns([]cover.Kind{})
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return TestReport{}, fmt.Errorf("policy tests: %w", err)
	}
	var report TestReport
	for res := range ch {
		report.Results = append(report.Results, testResult(res))
	}
	sort.Slice(report.Results, func(i, j int) bool {
		a, b := report.Results[i], report.Results[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	if err := ctx.Err(); err != nil {
		return report, fmt.Errorf("policy tests: %w", err)
	}
	report.Coverage = fileCoverage(coverage, modules)
	return report, nil
}

// testResult turns an OPA test result into a TestResult.
func testResult(res *tester.Result) TestResult {
	t := TestResult{Package: res.Package, Name: res.Name, Duration: res.Duration}
	if res.Location != nil {
		t.File, t.Line = res.Location.File, res.Location.Row
	}
	var msg []string
	switch {
	case res.Skip:
		t.Outcome = TestSkip
	case res.Error != nil:
		t.Outcome = TestError
		msg = append(msg, res.Error.Error())
	case res.Fail:
		t.Outcome = TestFail
		msg = append(msg, "the test is false or undefined")
		if res.FailedAt != nil && res.FailedAt.Location != nil {
			msg = append(msg, fmt.Sprintf("(failed at line %d: %s)", res.FailedAt.Location.Row, res.FailedAt.Location.Text))
		}
	default:
		t.Outcome = TestPass
	}
	if out := strings.TrimSpace(string(res.Output)); out != "" && t.Outcome != TestPass {
		msg = append(msg, "output: "+out)
	}
	t.Message = strings.Join(msg, " ")
	return t
}

// fileCoverage reports the coverage of every policy file that is not a test.
func fileCoverage(c *cover.Cover, modules map[string]*ast.Module) []FileCoverage {
	report := c.Report(modules)
	var out []FileCoverage
	for name := range modules {
		if IsTestFile(name) {
			continue
		}
		fc := FileCoverage{File: name}
		if fr := report.Files[name]; fr != nil {
			fc.Percent, fc.CoveredLines, fc.NotCoveredLines = fr.Coverage, fr.CoveredLines, fr.NotCoveredLines
		}
		out = append(out, fc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}
