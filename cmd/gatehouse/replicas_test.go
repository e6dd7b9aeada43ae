package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// Issue 4, point 2: one policy for every replica. Two gatehouse processes
// share one Redis; a revision pushed to replica A with `gatehouse policy
// push` becomes active on replica B, and a rollback sent to B returns A to
// the old revision.

// replicaDeadline is how long the test waits for a replica to activate a
// revision or to shut down. It is generous for loaded test machines; the
// measured activation latency is logged as a figure, never asserted.
const replicaDeadline = 60 * time.Second

// buildGatehouse builds the gatehouse binary into a temporary directory.
func buildGatehouse(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gatehouse")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// runBinary runs the gatehouse binary to completion and returns its stdout.
func runBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "gatehouse %s: %s", strings.Join(args, " "), stderr.String())
	return stdout.String()
}

// serverProcess is one `gatehouse serve` process.
type serverProcess struct {
	name string
	cmd  *exec.Cmd
	url  string
	done chan error

	mu  sync.Mutex
	log bytes.Buffer
}

var servingAddr = regexp.MustCompile(`msg="gatehouse serving" addr=(\S+)`)

// startServer runs `gatehouse serve` on a free port and returns once it
// listens. At the end of the test it is sent SIGTERM and must exit 0
// (graceful shutdown).
func startServer(t *testing.T, name, bin string, args ...string) *serverProcess {
	t.Helper()
	// Generous deadlines: a cold evaluation or a store call under -race on a
	// busy machine must not turn into a timeout. Tests of the deadlines give
	// their own, which come later and win.
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0",
		"--decision-timeout", "20s", "--store-write-timeout", "20s", "--store-read-timeout", "20s"}, args...)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	s := &serverProcess{name: name, cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			s.mu.Lock()
			s.log.WriteString(lines.Text() + "\n")
			s.mu.Unlock()
			if m := servingAddr.FindStringSubmatch(lines.Text()); m != nil {
				addr <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-s.done:
		s.done <- err
		require.FailNow(t, name+" exited before serving", "%v\n%s", err, s.logs())
	case <-time.After(replicaDeadline):
		require.FailNow(t, name+" did not start serving", s.logs())
	}
	return s
}

func (s *serverProcess) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// stop sends SIGTERM and checks the process shuts down cleanly, killing it
// when it does not.
func (s *serverProcess) stop(t *testing.T) {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("%s: SIGTERM: %v", s.name, err)
	}
	select {
	case err := <-s.done:
		assert.NoError(t, err, "%s must exit 0 on SIGTERM:\n%s", s.name, s.logs())
	case <-time.After(replicaDeadline):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("%s did not shut down within %s:\n%s", s.name, replicaDeadline, s.logs())
	}
}

// decisionView is the answer of POST /v1/decisions.
type decisionView struct {
	Allow          bool     `json:"allow"`
	Reasons        []string `json:"reasons"`
	PolicyRevision string   `json:"policy_revision"`
}

// decide asks the replica whether subject may take action on account.
func (s *serverProcess) decide(t *testing.T, subject, action, account string) decisionView {
	t.Helper()
	body := fmt.Sprintf(`{"subject": %q, "action": %q, "resource": {"account": %q}}`, subject, action, account)
	resp, err := http.Post(s.url+"/v1/decisions", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var d decisionView
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&d))
	return d
}

// waitForRevision polls the replica's decisions until one is made by
// revision, and returns how long that took and the decision.
func (s *serverProcess) waitForRevision(t *testing.T, revision, subject, action, account string) (time.Duration, decisionView) {
	t.Helper()
	start := time.Now()
	for {
		d := s.decide(t, subject, action, account)
		if d.PolicyRevision == revision {
			return time.Since(start), d
		}
		if time.Since(start) > replicaDeadline {
			require.FailNow(t, fmt.Sprintf("%s still decides with revision %s, not %s, after %s", s.name, d.PolicyRevision, revision, replicaDeadline), s.logs())
		}
		time.Sleep(5 * time.Millisecond) // the poll interval of this loop, not a wait for an event
	}
}

// writeImpersonatorsView writes the built-in policy changed as a security
// team would (impersonators may now view their reseller's account, and the
// test saying the role is flat is updated) and returns the directory.
func writeImpersonatorsView(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(t, err)
	var data map[string]any
	require.NoError(t, json.Unmarshal(files["data.json"], &data))
	config := data["gatehouse"].(map[string]any)["config"].(map[string]any)
	config["account_roles"].(map[string]any)["impersonator"] = []string{"account_viewer"}
	files["data.json"], err = json.MarshalIndent(data, "", "  ")
	require.NoError(t, err)
	old := `not allowed("view", "", member(["impersonator", "tm_admin"]))`
	test := string(files["roles_test.rego"])
	require.Equal(t, 1, strings.Count(test, old))
	files["roles_test.rego"] = []byte(strings.Replace(test, old, `allowed("view", "", member(["impersonator", "tm_admin"]))`, 1))

	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), content, 0o644))
	}
	return dir, files
}

func TestPushedPolicyReachesEveryReplica(t *testing.T) {
	bin := buildGatehouse(t)
	redis := redistest.Start(t)
	store := []string{"--store", "redis", "--redis-url", redis.URL()}
	secret := filepath.Join(t.TempDir(), "jwt-secret")
	require.NoError(t, os.WriteFile(secret, []byte("replicas-test-secret-0123456789abcdef"), 0o600))

	runBinary(t, bin, append([]string{"seed", "../../testdata/demo.json"}, store...)...)
	serveArgs := append([]string{"--jwt-hs256-secret-file", secret, "--system-admins", "ops"}, store...)
	a := startServer(t, "replica A", bin, serveArgs...)
	b := startServer(t, "replica B", bin, serveArgs...)
	token := strings.TrimSpace(runBinary(t, bin, "token", "--sub", "ops", "--jwt-hs256-secret-file", secret))

	// R1: jane holds impersonator at classics, a flat role: no view.
	before := b.decide(t, "jane", "view", "classics")
	require.False(t, before.Allow, "%v", before.Reasons)
	builtin := before.PolicyRevision
	require.Equal(t, builtin, a.decide(t, "jane", "view", "classics").PolicyRevision, "both replicas start on the built-in policy")

	dir, files := writeImpersonatorsView(t)
	pushed := engine.Revision(files)
	pushStart := time.Now()
	out := runBinary(t, bin, "policy", "push", dir, "--server", a.url, "--token", token)
	pushTook := time.Since(pushStart)
	assert.Contains(t, out, "pushed policy revision "+pushed)
	assert.Contains(t, out, "author ops")
	assert.Equal(t, pushed, a.decide(t, "jane", "view", "classics").PolicyRevision, "A serves the revision once the push returns")

	took, after := b.waitForRevision(t, pushed, "jane", "view", "classics")
	t.Logf("replica B decided with the pushed revision %s after the push command returned (the push itself, validation included, took %s)", took, pushTook)
	assert.True(t, after.Allow, "R7: the pushed revision decides: %v", after.Reasons)

	var listed []client.PolicyRevision
	require.NoError(t, json.Unmarshal([]byte(runBinary(t, bin, "policy", "list", "--json", "--server", b.url, "--token", token)), &listed))
	require.Len(t, listed, 2, "the pushed revision and the baseline it replaced")
	assert.Equal(t, pushed, listed[0].Revision)
	assert.True(t, listed[0].Active)
	assert.Equal(t, "ops", listed[0].Author)
	assert.Equal(t, builtin, listed[1].Revision)
	assert.False(t, listed[1].Active)
	table := runBinary(t, bin, "policy", "list", "--server", a.url, "--token", token)
	assert.Regexp(t, `(?m)^REVISION\s+AUTHOR\s+CREATED\s+ACTIVE\s+SOURCE$`, table)
	assert.Regexp(t, `(?m)^`+pushed+`\s+ops\s+\S+\s+\*\s+push$`, table)

	out = runBinary(t, bin, "policy", "rollback", builtin, "--server", b.url, "--token", token)
	assert.Contains(t, out, "policy revision "+builtin+" ")
	took, back := a.waitForRevision(t, builtin, "jane", "view", "classics")
	t.Logf("replica A decided with the rolled-back revision %s after the rollback command returned", took)
	assert.False(t, back.Allow, "%v", back.Reasons)

	req, err := http.NewRequest(http.MethodGet, a.url+"/v1/status", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var status struct {
		Policy struct {
			Revision     string `json:"revision"`
			Source       string `json:"source"`
			FollowsStore bool   `json:"follows_store"`
		} `json:"policy"`
		Store string `json:"store"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&status))
	assert.Equal(t, builtin, status.Policy.Revision)
	assert.Equal(t, "store revision "+builtin+" by ops", status.Policy.Source)
	assert.True(t, status.Policy.FollowsStore)
	assert.Equal(t, "ok", status.Store)

	// Issue 4, point 6: B counted the activations it followed, the decisions
	// it made and the store calls behind them.
	metrics := get(t, b.url+"/metrics")
	assert.GreaterOrEqual(t, metricValue(t, metrics, `gatehouse_policy_reloads_total{outcome="success"}`), 2.0, "push and rollback")
	assert.GreaterOrEqual(t, metricValue(t, metrics, `gatehouse_decisions_total{result="allow"}`), 1.0)
	assert.GreaterOrEqual(t, metricValue(t, metrics, `gatehouse_decisions_total{result="deny"}`), 1.0)
	assert.Positive(t, metricValue(t, metrics, `gatehouse_store_calls_total{op="snapshot",outcome="ok"}`))
	assert.Equal(t, 0.0, metricValue(t, metrics, `gatehouse_policy_reloads_total{outcome="failure"}`))
}

// get returns the body of a GET that must answer 200.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

// metricValue reads one series from Prometheus text output.
func metricValue(t *testing.T, text, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			require.NoError(t, err, line)
			return v
		}
	}
	t.Fatalf("no series %s in /metrics", series)
	return 0
}
