package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// A command that reads a store never creates one: decide and policy
// replay refuse a --data-dir without a store, name the flag, suggest
// asking a running gatehouse, and leave nothing behind (issue 9).
func TestReadingCommandsRefuseAMissingStore(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "gatehouse-data")
	logFile := filepath.Join(t.TempDir(), "decisions.log")
	require.NoError(t, os.WriteFile(logFile, nil, 0o600))
	for name, args := range map[string][]string{
		"decide":         {"decide", "--subject", "alice", "--action", "view", "--account", "acme"},
		"decide explain": {"decide", "--explain", "--subject", "alice", "--action", "view", "--account", "acme"},
		"policy replay":  {"policy", "replay", "--log", logFile},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := runGatehouse(t, append(args, "--data-dir", missing)...)
			require.Error(t, err, out)
			assert.Equal(t, exitError, exitStatusOf(t, err))
			assert.Contains(t, err.Error(), "--data-dir "+missing)
			if strings.HasPrefix(name, "decide") {
				assert.Contains(t, err.Error(), "--remote")
			}
			assert.NoDirExists(t, missing, "nothing was created")
			t.Logf("%s: %v", name, err)
		})
	}
	t.Run("seed creates it and says so", func(t *testing.T) {
		out, err := runGatehouse(t, "seed", "../../testdata/demo.json", "--data-dir", missing)
		require.NoError(t, err, out)
		assert.Contains(t, out, "into a new embedded store in "+missing)
		assert.FileExists(t, filepath.Join(missing, embedded.FileName))
	})
}

// Offline decide, decide --explain and policy replay decide with the
// revision active in the store, say which, and --policy-dir still wins
// (issue 9, R7). decide's exit status tells allow (0) from deny (2).
func TestOfflineCommandsUseTheActiveRevision(t *testing.T) {
	dir := seededDir(t)
	jane := []string{"--data-dir", dir, "--subject", "jane", "--action", "view", "--account", "classics"}

	before := decideOut(t, jane...)
	require.False(t, before.Allow, "R1: impersonator is a flat role: %v", before.Reasons)
	assert.Equal(t, "built-in", before.PolicySource, "no revision pushed yet")
	builtin := before.PolicyRevision

	policyDir, files := writeImpersonatorsView(t)
	pushed := pushToStore(t, dir, files)
	require.NotEqual(t, builtin, pushed)

	after := decideOut(t, jane...)
	assert.True(t, after.Allow, "the pushed revision lets impersonators view: %v", after.Reasons)
	assert.Equal(t, pushed, after.PolicyRevision)
	assert.Equal(t, "store revision "+pushed+" by ops", after.PolicySource)

	out, err := runGatehouse(t, append([]string{"decide", "--explain"}, jane...)...)
	require.NoError(t, err, out)
	assert.Contains(t, out, `"policy_revision": "`+pushed+`"`)
	assert.Contains(t, out, "rules that fired")

	withDir := decideOut(t, append(jane, "--policy-dir", "../../policies")...)
	assert.False(t, withDir.Allow, "--policy-dir wins over the store's revision")
	assert.Equal(t, builtin, withDir.PolicyRevision)
	assert.Equal(t, "../../policies", withDir.PolicySource)

	// The log holds jane's deny of the built-in revision: the store's
	// revision flips it; the built-in policies given as the candidate do not.
	logFile := filepath.Join(t.TempDir(), "decisions.log")
	require.NoError(t, os.WriteFile(logFile, []byte(`{"decision_id":"d1","time":"2026-01-01T00:00:00Z","subject":"jane","action":"view",`+
		`"resource":{"account":"classics"},"allow":false,"reasons":["denied"],"policy_revision":"`+builtin+`","eval_ms":1}`+"\n"), 0o600))
	out, err = runGatehouse(t, "policy", "replay", "--log", logFile, "--data-dir", dir)
	require.NoError(t, err, out)
	assert.Contains(t, out, "flip d1: jane view on classics: deny -> allow")
	assert.Contains(t, out, "with store revision "+pushed+" by ops (revision "+pushed+")")
	out, err = runGatehouse(t, "policy", "replay", "--log", logFile, "--data-dir", dir, "--policy-dir", policyDir)
	require.NoError(t, err, out)
	assert.Contains(t, out, "1 would flip")
}

// pushToStore pushes files as ops into the embedded store in dir, as
// gatehouse policy push does through a server, and returns the revision.
func pushToStore(t *testing.T, dir string, files map[string][]byte) string {
	t.Helper()
	store, err := embedded.Open(dir)
	require.NoError(t, err)
	defer store.Close()
	policy, err := loadPolicy(t.Context(), DefaultConfig())
	require.NoError(t, err)
	eng, err := engine.New(store, policy, engine.WithSystemAdmins("ops"), engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(t, err)
	p, err := eng.PushPolicy(t.Context(), "ops", files)
	require.NoError(t, err)
	return p.Revision
}

// decide's exit status: 0 allow, 2 deny, 3 a deny because deciding
// failed, 1 no decision (issue 9).
func TestDecideExitStatus(t *testing.T) {
	dir := seededDir(t)
	ask := func(args ...string) (decisionAnswer, int) {
		t.Helper()
		ans := decideOut(t, append([]string{"--data-dir", dir}, args...)...)
		return ans, ans.exitStatus()
	}
	ans, code := ask("--subject", "alice", "--action", "manage", "--account", "acme")
	assert.True(t, ans.Allow)
	assert.Equal(t, exitOK, code)
	ans, code = ask("--subject", "bob", "--action", "manage", "--account", "acme")
	assert.False(t, ans.Allow)
	assert.Equal(t, exitDeny, code)

	// A policy whose result is undefined fails closed: policy_error, 3.
	broken := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(broken, "decision.rego"), []byte(
		"package gatehouse.decision\n\nimport rego.v1\n\nresult := x if {\n\tx := {\"allow\": true}\n\tinput.nothing\n}\n"), 0o600))
	ans, code = ask("--subject", "alice", "--action", "manage", "--account", "acme", "--policy-dir", broken)
	assert.False(t, ans.Allow)
	assert.Equal(t, "policy_error", ans.Error)
	assert.Equal(t, exitFailClosed, code)

	_, err := runGatehouse(t, "decide", "--data-dir", dir, "--subject", "alice", "--action", "manage")
	assert.Equal(t, exitError, exitStatusOf(t, err), "bad input decides nothing")
	_, err = runGatehouse(t, "decide", "--remote", "--server", "127.0.0.1:1", "--subject", "alice", "--action", "manage", "--account", "acme")
	assert.Equal(t, exitError, exitStatusOf(t, err), "an unreachable server decides nothing")
	assert.ErrorContains(t, err, "--server")
}

// The exit status main gives is the one run returns: checked through the
// binary, since os.Exit cannot be observed in process.
func TestDecideExitStatusOfTheBinary(t *testing.T) {
	bin := buildGatehouse(t)
	dir := seededDir(t)
	for _, tc := range []struct {
		subject string
		want    int
	}{{"alice", exitOK}, {"bob", exitDeny}} {
		start := time.Now()
		cmd := exec.Command(bin, "decide", "--data-dir", dir, "--decision-timeout", "1m", "--subject", tc.subject, "--action", "manage", "--account", "acme")
		out, _ := cmd.CombinedOutput()
		assert.Equal(t, tc.want, cmd.ProcessState.ExitCode(), "%s: %s", tc.subject, out)
		t.Logf("decide for %s exited %d after %s", tc.subject, cmd.ProcessState.ExitCode(), time.Since(start))
	}
	cmd := exec.Command(bin, "decide", "--data-dir", filepath.Join(t.TempDir(), "none"), "--subject", "alice", "--action", "manage", "--account", "acme")
	out, _ := cmd.CombinedOutput()
	assert.Equal(t, exitError, cmd.ProcessState.ExitCode(), "%s", out)
	assert.Contains(t, string(out), "gatehouse: --data-dir")
}

// A Redis that does not answer is said so, with the network's reason and
// the flags to check, not with the adapter's wording (issue 9, R45).
func TestOfflineDecideSaysTheStoreIsUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL()
	srv.Stop()
	_, err := runGatehouse(t, "decide", "--store", "redis", "--redis-url", url, "--subject", "alice", "--action", "view", "--account", "acme")
	require.Error(t, err)
	assert.Equal(t, exitError, exitStatusOf(t, err))
	msg := message(err)
	assert.True(t, strings.HasPrefix(msg, "the store is unavailable: check --store and --redis-url"), msg)
	assert.Contains(t, msg, "connection refused")
	assert.NotContains(t, msg, "redis:", "no adapter wording")
	t.Logf("gatehouse: %s", msg)
}
