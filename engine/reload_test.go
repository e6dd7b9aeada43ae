package engine_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/engine"
)

// newPolicyEngine returns an engine over a fresh embedded store, serving files.
func newPolicyEngine(tb testing.TB, files map[string][]byte, opts ...engine.Option) *engine.Engine {
	tb.Helper()
	store, err := embedded.Open(tb.TempDir())
	require.NoError(tb, err)
	tb.Cleanup(func() { store.Close() })
	p, err := engine.CompilePolicy(context.Background(), files, "test")
	require.NoError(tb, err)
	eng, err := engine.New(store, p, append([]engine.Option{engine.WithDecisionTimeout(testDecisionTimeout)}, opts...)...)
	require.NoError(tb, err)
	return eng
}

// reloadOutcomes records what a reload observer is told.
type reloadOutcomes struct {
	mu   sync.Mutex
	seen []string
}

func (o *reloadOutcomes) observe(outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, outcome)
}

func (o *reloadOutcomes) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen...)
}

// bobIsAdmin is a valid change of miniPolicy with its tests updated.
func bobIsAdmin() map[string][]byte {
	files := withFile(miniPolicy(), "data.json", []byte(`{"gatehouse": {"config": {"admin": "bob"}}}`))
	return withFile(files, "decision_test.rego", []byte(`package gatehouse.decision_test

import rego.v1

import data.gatehouse.decision

test_allow_admin if decision.result.allow with input as {"subject": "bob"}

test_deny_other if not decision.result.allow with input as {"subject": "root"}
`))
}

func TestReloadRefusesBrokenChanges(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string][]byte
		wantErr []string // substrings of the error and of PolicyStatus().LastError
	}{
		{
			name:    "a syntax error names its file and line",
			files:   withFile(miniPolicy(), "decision.rego", []byte("package gatehouse.decision\n\nimport rego.v1\n\nresult := {\"allow\" true}\n\nother := 1\n")),
			wantErr: []string{"decision.rego:5"},
		},
		{
			name:    "a strict-mode error is refused",
			files:   withFile(miniPolicy(), "unused.rego", []byte("package gatehouse.unused\n\nimport rego.v1\n\np if {\n\tx := 1\n\ttrue\n}\n")),
			wantErr: []string{"unused.rego:6"},
		},
		{
			name:    "a failing Rego test names the test, its file and line",
			files:   withFile(miniPolicy(), "data.json", []byte(`{"gatehouse": {"config": {"admin": "bob"}}}`)),
			wantErr: []string{"test_allow_admin (decision_test.rego:7): fail", "2 failed"},
		},
		{
			name:    "a set without tests is refused",
			files:   withFile(miniPolicy(), "decision_test.rego", nil),
			wantErr: []string{"no Rego tests"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen reloadOutcomes
			eng := newPolicyEngine(t, miniPolicy(), engine.WithReloadObserver(seen.observe))
			before := eng.Policy()

			p, err := eng.Reload(context.Background(), tt.files, "/etc/gatehouse/policies")
			require.Error(t, err)
			assert.Nil(t, p)
			assert.Same(t, before, eng.Policy(), "the previous revision keeps serving")

			st := eng.PolicyStatus()
			assert.Equal(t, before.Revision, st.Revision)
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
				assert.Contains(t, st.LastError, want)
			}
			assert.False(t, st.LastErrorAt.IsZero())
			assert.Equal(t, "/etc/gatehouse/policies", st.LastErrorSource)
			assert.Equal(t, uint64(1), st.Failures)
			assert.Zero(t, st.Reloads)
			assert.Equal(t, []string{engine.ReloadFailure}, seen.list())
		})
	}
}

func TestReloadActivatesAValidChange(t *testing.T) {
	var seen reloadOutcomes
	eng := newPolicyEngine(t, miniPolicy(), engine.WithReloadObserver(seen.observe))
	ctx := context.Background()
	root := engine.DecisionRequest{Subject: "root", Action: "view", Resource: engine.Resource{Account: "acme"}}
	bob := engine.DecisionRequest{Subject: "bob", Action: "view", Resource: engine.Resource{Account: "acme"}}
	require.True(t, eng.Decide(ctx, root).Allow)

	// A broken change first: its error shows until a good change replaces it.
	_, err := eng.Reload(ctx, withFile(miniPolicy(), "decision.rego", []byte("package")), "dir")
	require.Error(t, err)
	require.NotEmpty(t, eng.PolicyStatus().LastError)

	p, err := eng.Reload(ctx, bobIsAdmin(), "dir")
	require.NoError(t, err)
	assert.Same(t, p, eng.Policy())
	assert.Equal(t, engine.Revision(bobIsAdmin()), p.Revision)
	assert.True(t, eng.Decide(ctx, bob).Allow)
	assert.False(t, eng.Decide(ctx, root).Allow)

	st := eng.PolicyStatus()
	assert.Equal(t, p.Revision, st.Revision)
	assert.Equal(t, "dir", st.Source)
	assert.Equal(t, p.LoadedAt, st.LoadedAt)
	assert.Empty(t, st.LastError, "a successful reload clears the last error")
	assert.True(t, st.LastErrorAt.IsZero())
	assert.Equal(t, uint64(1), st.Reloads)
	assert.Equal(t, uint64(1), st.Failures)

	same, err := eng.Reload(ctx, bobIsAdmin(), "elsewhere")
	require.NoError(t, err)
	assert.Same(t, p, same, "the same files are a no-op")
	assert.Equal(t, "dir", eng.PolicyStatus().Source)
	assert.Equal(t, uint64(1), eng.PolicyStatus().Reloads)
	assert.Equal(t, []string{engine.ReloadFailure, engine.ReloadSuccess, engine.ReloadUnchanged}, seen.list())
}

// TestReloadIsAtomicUnderLoad: every decision made while reloads run is
// answered wholly by one revision or the other (R7: policy_revision says which).
func TestReloadIsAtomicUnderLoad(t *testing.T) {
	eng := newPolicyEngine(t, miniPolicy())
	ctx := context.Background()
	oldRev, newRev := eng.Policy().Revision, engine.Revision(bobIsAdmin())
	req := engine.DecisionRequest{Subject: "bob", Action: "view", Resource: engine.Resource{Account: "acme"}}

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				d := eng.Decide(ctx, req)
				switch d.PolicyRevision {
				case oldRev:
					assert.False(t, d.Allow)
				case newRev:
					assert.True(t, d.Allow)
				default:
					t.Errorf("decision by unknown revision %q", d.PolicyRevision)
				}
			}
		})
	}
	for i := range 6 {
		files := miniPolicy()
		if i%2 == 0 {
			files = bobIsAdmin()
		}
		_, err := eng.Reload(ctx, files, "dir")
		require.NoError(t, err)
	}
	wg.Wait()
	assert.Equal(t, oldRev, eng.Policy().Revision)
	assert.Equal(t, uint64(6), eng.PolicyStatus().Reloads)
}

func TestReportReloadFailure(t *testing.T) {
	var seen reloadOutcomes
	eng := newPolicyEngine(t, miniPolicy(), engine.WithReloadObserver(seen.observe))
	before := eng.Policy()
	eng.ReportReloadFailure("dir", assert.AnError)
	st := eng.PolicyStatus()
	assert.Equal(t, assert.AnError.Error(), st.LastError)
	assert.Equal(t, uint64(1), st.Failures)
	assert.Same(t, before, eng.Policy())
	assert.Equal(t, []string{engine.ReloadFailure}, seen.list())
}
