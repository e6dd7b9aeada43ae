package policywatch_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/adapters/policywatch"
	"github.com/gatehouse/gatehouse/engine"
)

// testDecisionTimeout is the decision deadline of the engines under test:
// long enough that a cold evaluation under -race on a busy machine is never
// cut short. Tests of the deadline itself set their own.
const testDecisionTimeout = time.Minute

// waitFor bounds every poll of the tests.
const waitFor = 30 * time.Second

const decisionRego = `package gatehouse.decision

import rego.v1

default result := {"allow": false, "reasons": ["only the admin may"]}

result := {"allow": true, "reasons": ["the admin may"]} if input.subject == data.gatehouse.config.admin
`

// decisionTest tests that admin, and only admin, is allowed.
func decisionTest(admin string) string {
	return `package gatehouse.decision_test

import rego.v1

import data.gatehouse.decision

test_allow_admin if decision.result.allow with input as {"subject": "` + admin + `"}

test_deny_other if not decision.result.allow with input as {"subject": "nobody"}
`
}

func configJSON(admin string) string {
	return `{"gatehouse": {"config": {"admin": "` + admin + `"}}}`
}

// policyDir writes a valid policy set where admin is allowed.
func policyDir(tb testing.TB, admin string) string {
	tb.Helper()
	dir := tb.TempDir()
	write(tb, dir, "decision.rego", decisionRego)
	write(tb, dir, "decision_test.rego", decisionTest(admin))
	write(tb, dir, "data.json", configJSON(admin))
	return dir
}

// write replaces a file the way editors do: write a temporary file, then
// rename it over the old one.
func write(tb testing.TB, dir, name, content string) {
	tb.Helper()
	path := filepath.Join(dir, name)
	require.NoError(tb, os.MkdirAll(filepath.Dir(path), 0o755))
	tmp := path + ".tmp"
	require.NoError(tb, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(tb, os.Rename(tmp, path))
}

// watched returns an engine serving dir's policy and a watcher reloading it.
func watched(t *testing.T, dir string) *engine.Engine {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store, err := embedded.Open(t.TempDir())
	require.NoError(t, err)
	files, err := engine.ReadPolicyFiles(os.DirFS(dir))
	require.NoError(t, err)
	p, err := engine.CompilePolicy(ctx, files, dir)
	require.NoError(t, err)
	eng, err := engine.New(store, p, engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(t, err)

	reload := func(ctx context.Context, files map[string][]byte, source string) error {
		_, err := eng.Reload(ctx, files, source)
		return err
	}
	w, err := policywatch.Watch(ctx, dir, reload,
		policywatch.WithDebounce(20*time.Millisecond),
		policywatch.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		policywatch.WithReadErrors(eng.ReportReloadFailure),
	)
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		<-w.Done()
		store.Close()
	})
	return eng
}

func TestWatchActivatesAValidChange(t *testing.T) {
	dir := policyDir(t, "root")
	eng := watched(t, dir)
	before := eng.Policy().Revision

	write(t, dir, "data.json", configJSON("bob"))
	write(t, dir, "decision_test.rego", decisionTest("bob"))
	files, err := engine.ReadPolicyFiles(os.DirFS(dir))
	require.NoError(t, err)
	want := engine.Revision(files)
	require.NotEqual(t, before, want)

	require.Eventually(t, func() bool { return eng.Policy().Revision == want }, waitFor, 5*time.Millisecond)
	d := eng.Decide(context.Background(), engine.DecisionRequest{Subject: "bob", Action: "view", Resource: engine.Resource{Account: "acme"}})
	assert.True(t, d.Allow)
	st := eng.PolicyStatus()
	assert.Equal(t, dir, st.Source)
	assert.Empty(t, st.LastError)
	assert.Equal(t, uint64(1), st.Reloads)
}

func TestWatchFollowsNewSubdirectories(t *testing.T) {
	dir := policyDir(t, "root")
	eng := watched(t, dir)
	before := eng.Policy().Revision

	require.NoError(t, os.Mkdir(filepath.Join(dir, "extra"), 0o755))
	write(t, dir, "extra/data.json", `{"limit": 4}`)

	require.Eventually(t, func() bool {
		p := eng.Policy()
		_, ok := p.Files["extra/data.json"]
		return p.Revision != before && ok
	}, waitFor, 5*time.Millisecond)
}

func TestWatchKeepsServingOnABrokenChange(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		wantErr []string
	}{
		{
			name:    "a syntax error",
			file:    "decision.rego",
			content: "package gatehouse.decision\n\nimport rego.v1\n\nresult := {\"allow\" true}\n\nother := 1\n",
			wantErr: []string{"decision.rego:5"},
		},
		{
			name:    "a failing Rego test",
			file:    "data.json",
			content: configJSON("bob"),
			wantErr: []string{"test_allow_admin (decision_test.rego:7): fail"},
		},
		{
			name:    "a syntax error in a new subdirectory",
			file:    "more/broken.rego",
			content: "package gatehouse.more\n\nimport rego.v1\n\np if {\n",
			wantErr: []string{"more/broken.rego:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := policyDir(t, "root")
			eng := watched(t, dir)
			before := eng.Policy()

			write(t, dir, tt.file, tt.content)

			require.Eventually(t, func() bool { return eng.PolicyStatus().LastError != "" }, waitFor, 5*time.Millisecond)
			st := eng.PolicyStatus()
			for _, want := range tt.wantErr {
				assert.Contains(t, st.LastError, want)
			}
			assert.Equal(t, dir, st.LastErrorSource)
			assert.Same(t, before, eng.Policy(), "the previous revision keeps serving")
			d := eng.Decide(context.Background(), engine.DecisionRequest{Subject: "root", Action: "view", Resource: engine.Resource{Account: "acme"}})
			assert.True(t, d.Allow)
			assert.Equal(t, before.Revision, d.PolicyRevision)
		})
	}
}

func TestWatchReportsAnEmptiedDirectory(t *testing.T) {
	dir := policyDir(t, "root")
	eng := watched(t, dir)
	before := eng.Policy()
	for _, name := range []string{"decision.rego", "decision_test.rego", "data.json"} {
		require.NoError(t, os.Remove(filepath.Join(dir, name)))
	}
	// A reload may catch the directory half emptied; the last one sees it empty.
	require.Eventually(t, func() bool {
		return strings.Contains(eng.PolicyStatus().LastError, "no .rego or .json files")
	}, waitFor, 5*time.Millisecond)
	assert.Same(t, before, eng.Policy())
}

func TestWatchRefusesAMissingDirectory(t *testing.T) {
	reload := func(context.Context, map[string][]byte, string) error { return nil }
	_, err := policywatch.Watch(context.Background(), filepath.Join(t.TempDir(), "missing"), reload)
	require.Error(t, err)
	_, err = policywatch.Watch(context.Background(), t.TempDir(), nil)
	require.Error(t, err)
}
