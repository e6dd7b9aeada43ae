package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/decisionlog"
	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/engine"
)

const cmdDecisionRego = `package gatehouse.decision

import rego.v1

default result := {"allow": false, "reasons": ["only the admin may"]}

result := {"allow": true, "reasons": ["the admin may"]} if input.subject == data.gatehouse.config.admin
`

const cmdDecisionTest = `package gatehouse.decision_test

import rego.v1

import data.gatehouse.decision

test_allow_admin if decision.result.allow with input as {"subject": "root"}

test_deny_other if not decision.result.allow with input as {"subject": "bob"}
`

// writePolicyDir writes a policy directory where admin is allowed, plus extra
// files, and returns it.
func writePolicyDir(tb testing.TB, admin string, extra map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	files := map[string]string{
		"decision.rego":      cmdDecisionRego,
		"decision_test.rego": cmdDecisionTest,
		"data.json":          `{"gatehouse": {"config": {"admin": "` + admin + `"}}}`,
	}
	for name, content := range extra {
		files[name] = content
	}
	for name, content := range files {
		require.NoError(tb, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	return dir
}

// runGatehouse runs gatehouse with args and returns its output and error.
func runGatehouse(tb testing.TB, args ...string) (string, error) {
	tb.Helper()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestPolicyCommands(t *testing.T) {
	unformatted := "package gatehouse.x\nimport rego.v1\np    if   {  true }\n"
	tests := []struct {
		name    string
		args    func(dir string) []string
		admin   string
		extra   map[string]string
		output  []string
		wantErr string
	}{
		{
			name:   "test passes and prints coverage",
			args:   func(dir string) []string { return []string{"policy", "test", dir} },
			admin:  "root",
			output: []string{"2 passed, 0 failed", "100.0%  decision.rego"},
		},
		{
			name:    "test names each failure with file and line and fails",
			args:    func(dir string) []string { return []string{"policy", "test", dir} },
			admin:   "bob",
			output:  []string{"decision_test.rego:7  data.gatehouse.decision_test.test_allow_admin: fail", "0 passed, 2 failed"},
			wantErr: "policy tests failed: 2 of 2",
		},
		{
			name:   "test reads --policy-dir without an argument",
			args:   func(dir string) []string { return []string{"policy", "test", "--policy-dir", dir} },
			admin:  "root",
			output: []string{"2 passed, 0 failed"},
		},
		{
			name:   "check compiles strictly",
			args:   func(dir string) []string { return []string{"policy", "check", dir} },
			admin:  "root",
			output: []string{"3 files compile in strict mode"},
		},
		{
			name:    "check names the broken file and line",
			args:    func(dir string) []string { return []string{"policy", "check", dir} },
			admin:   "root",
			extra:   map[string]string{"broken.rego": "package gatehouse.broken\n\nimport rego.v1\n\np := {\"a\" 1}\n\nq := 1\n"},
			wantErr: "broken.rego:5",
		},
		{
			name:    "fmt --check lists unformatted files and fails",
			args:    func(dir string) []string { return []string{"policy", "fmt", "--check", dir} },
			admin:   "root",
			extra:   map[string]string{"x.rego": unformatted},
			output:  []string{"x.rego"},
			wantErr: "1 Rego files",
		},
		{
			name:    "fmt on the built-in policies must be --check",
			args:    func(string) []string { return []string{"policy", "fmt"} },
			admin:   "root",
			wantErr: "can only be checked",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writePolicyDir(t, tt.admin, tt.extra)
			out, err := runGatehouse(t, tt.args(dir)...)
			if tt.wantErr == "" {
				require.NoError(t, err, out)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
			}
			for _, want := range tt.output {
				assert.Contains(t, out, want)
			}
		})
	}
}

func TestPolicyFmtRewrites(t *testing.T) {
	dir := writePolicyDir(t, "root", map[string]string{"x.rego": "package gatehouse.x\nimport rego.v1\np    if   {  true }\n"})
	out, err := runGatehouse(t, "policy", "fmt", dir)
	require.NoError(t, err)
	assert.Contains(t, out, "formatted")
	_, err = runGatehouse(t, "policy", "fmt", "--check", dir)
	require.NoError(t, err, "formatted files pass the check")
	b, err := os.ReadFile(filepath.Join(dir, "x.rego"))
	require.NoError(t, err)
	assert.Equal(t, "package gatehouse.x\n\nimport rego.v1\n\np := true\n", string(b))
}

// TestPolicyReplay logs real decisions, then replays them with a candidate
// where bob, not root, is the admin: exactly root's allow and bob's deny flip.
func TestPolicyReplay(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	logPath := filepath.Join(t.TempDir(), "decisions.log")

	store, err := embedded.Open(dataDir)
	require.NoError(t, err)
	files, err := engine.ReadPolicyFiles(os.DirFS(writePolicyDir(t, "root", nil)))
	require.NoError(t, err)
	active, err := engine.CompilePolicy(ctx, files, "active")
	require.NoError(t, err)
	logger, err := decisionlog.Open([]string{logPath}, decisionlog.WithMask("context.secret"))
	require.NoError(t, err)
	eng, err := engine.New(store, active, engine.WithObserver(logger), engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(t, err)
	for _, subject := range []string{"root", "bob", "eve"} {
		eng.Decide(ctx, engine.DecisionRequest{Subject: subject, Action: "view", Resource: engine.Resource{Account: "acme"}})
	}
	eng.Decide(ctx, engine.DecisionRequest{Subject: "root", Action: "view", Resource: engine.Resource{Account: "acme"}, Context: map[string]any{"secret": "s"}})
	require.NoError(t, logger.Close())
	require.NoError(t, store.Close())

	candidate := writePolicyDir(t, "bob", nil)
	out, err := runGatehouse(t, "policy", "replay", "--log", logPath, "--policy-dir", candidate, "--store", "embedded", "--data-dir", dataDir)
	require.NoError(t, err, "flips are a report, not a failure")
	assert.Contains(t, out, "root view on acme: allow -> deny")
	assert.Contains(t, out, "before: the admin may")
	assert.Contains(t, out, "bob view on acme: deny -> allow")
	assert.NotContains(t, out, "eve view")
	assert.Contains(t, out, "replayed 3 of 4 logged decisions")
	assert.Contains(t, out, "2 would flip (1 allow -> deny, 1 deny -> allow); 1 skipped (masked or malformed)")

	_, err = runGatehouse(t, "policy", "replay", "--policy-dir", candidate)
	require.ErrorContains(t, err, "--log is required")
}
