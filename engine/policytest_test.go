package engine_test

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// Line numbers of the fixture that the tests name.
const (
	miniResultLine    = 7 // decision.rego: the allowing result rule
	miniAllowTestLine = 7 // decision_test.rego: test_allow_admin
)

// miniPolicy is a small, complete policy set: only the configured admin is
// allowed, with two passing tests.
func miniPolicy() map[string][]byte {
	return map[string][]byte{
		"decision.rego": []byte(`package gatehouse.decision

import rego.v1

default result := {"allow": false, "reasons": ["only the admin may"]}

result := {"allow": true, "reasons": ["the admin may"]} if input.subject == data.gatehouse.config.admin
`),
		"decision_test.rego": []byte(`package gatehouse.decision_test

import rego.v1

import data.gatehouse.decision

test_allow_admin if decision.result.allow with input as {"subject": "root"}

test_deny_other if not decision.result.allow with input as {"subject": "bob"}
`),
		"data.json": []byte(`{"gatehouse": {"config": {"admin": "root"}}}`),
	}
}

// withFile returns a copy of files with name set to content (or removed
// when content is nil).
func withFile(files map[string][]byte, name string, content []byte) map[string][]byte {
	out := maps.Clone(files)
	if content == nil {
		delete(out, name)
	} else {
		out[name] = content
	}
	return out
}

func TestRunPolicyTests(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string][]byte
		passed     int
		failed     []string // "name file:line" of each failing test
		errContain string   // of TestReport.Err, empty when it is nil
	}{
		{
			name:   "every test passes",
			files:  miniPolicy(),
			passed: 2,
		},
		{
			name:       "a data change fails both tests and names them with file and line",
			files:      withFile(miniPolicy(), "data.json", []byte(`{"gatehouse": {"config": {"admin": "bob"}}}`)),
			failed:     []string{"test_allow_admin decision_test.rego:7", "test_deny_other decision_test.rego:9"},
			errContain: "data.gatehouse.decision_test.test_allow_admin (decision_test.rego:7): fail",
		},
		{
			name:       "a set without tests is refused",
			files:      withFile(miniPolicy(), "decision_test.rego", nil),
			errContain: "no Rego tests",
		},
		{
			name: "a test that raises an error counts as failed",
			files: withFile(miniPolicy(), "extra_test.rego", []byte(`package gatehouse.extra_test

import rego.v1

conflict := 1 if input.a

conflict := 2 if input.a

test_conflict if conflict == 1 with input as {"a": true}
`)),
			passed:     2,
			failed:     []string{"test_conflict extra_test.rego:9"},
			errContain: "test_conflict (extra_test.rego:9): error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, err := engine.RunPolicyTests(context.Background(), tt.files)
			require.NoError(t, err)
			assert.Equal(t, tt.passed, report.Count(engine.TestPass))
			var failed []string
			for _, f := range report.Failures() {
				failed = append(failed, f.Name+" "+f.Where())
			}
			assert.Equal(t, tt.failed, failed)
			if tt.errContain == "" {
				assert.NoError(t, report.Err())
			} else {
				require.Error(t, report.Err())
				assert.Contains(t, report.Err().Error(), tt.errContain)
			}
		})
	}
}

func TestRunPolicyTestsCoverage(t *testing.T) {
	report, err := engine.RunPolicyTests(context.Background(), miniPolicy())
	require.NoError(t, err)
	require.Len(t, report.Coverage, 1, "test files are not covered, policy files are")
	cov := report.Coverage[0]
	assert.Equal(t, "decision.rego", cov.File)
	assert.InDelta(t, 100.0, cov.Percent, 0.001, "both tests together evaluate every line")
	assert.Positive(t, cov.CoveredLines)
	assert.Zero(t, cov.NotCoveredLines)

	onlyAllow := withFile(miniPolicy(), "decision_test.rego", []byte(`package gatehouse.decision_test

import rego.v1

import data.gatehouse.decision

test_allow_admin if decision.result.allow with input as {"subject": "root"}
`))
	report, err = engine.RunPolicyTests(context.Background(), onlyAllow)
	require.NoError(t, err)
	require.Len(t, report.Coverage, 1)
	assert.Less(t, report.Coverage[0].Percent, 100.0, "the default rule is never evaluated")
}

func TestRunPolicyTestsRefusesBrokenRego(t *testing.T) {
	files := withFile(miniPolicy(), "decision.rego", []byte("package gatehouse.decision\n\nimport rego.v1\n\nresult := {\"allow\" true}\n\nother := 1\n"))
	_, err := engine.RunPolicyTests(context.Background(), files)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "decision.rego:5")
}

func ExampleRunPolicyTests() {
	report, err := engine.RunPolicyTests(context.Background(), miniPolicy())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d passed, %d failed\n", report.Count(engine.TestPass), len(report.Failures()))
	for _, c := range report.Coverage {
		fmt.Printf("%s: %.0f%% covered\n", c.File, c.Percent)
	}
	// Output:
	// 2 passed, 0 failed
	// decision.rego: 100% covered
}
