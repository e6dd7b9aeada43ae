package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// promtoolWait bounds every wait of the metrics lint (a loaded machine is
// slow); what was measured is logged, never asserted.
const promtoolWait = 60 * time.Second

// Issue 10 §4: /metrics of a real `gatehouse serve`, after decisions,
// writes, a policy reload and a webhook delivery have made every metric
// family appear, passes `promtool check metrics` (Prometheus's own lint:
// counters end in _total, units in the name, help on every family...).
// promtool comes from Debian's prometheus package; a machine without it
// fails this test, saying how to install it.
func TestMetricsPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not in PATH (%v): install it with `apt-get install -y prometheus` "+
			"(Debian's package), or run `make test`, which installs it (scripts/ensure-promtool.sh)", err)
	}
	bin := buildGatehouse(t)
	dir := seededDir(t)
	policyDir := t.TempDir()
	require.NoError(t, os.CopyFS(policyDir, os.DirFS("../../policies")))
	jwtSecret := writeFile(t, "jwt", "promtool-test-jwt-secret-0123456789abcdef")
	hookSecret := writeFile(t, "hook", "promtool-test-hook-secret-0123456789abcdef")
	var delivered atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		delivered.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	srv := startServer(t, "metrics", bin, "--data-dir", dir, "--policy-dir", policyDir,
		"--jwt-hs256-secret-file", jwtSecret, "--system-admins", "ops",
		"--decision-log", filepath.Join(t.TempDir(), "decisions.log"),
		"--webhook-url", receiver.URL+"/hook", "--webhook-secret-file", hookSecret)
	out, err := runGatehouse(t, "token", "--sub", "ops", "--jwt-hs256-secret-file", jwtSecret)
	require.NoError(t, err, out)
	token := strings.TrimSpace(out)

	// Decisions (allow, deny), reads, a refused write and a write.
	srv.decide(t, "alice", "manage", "acme")
	srv.decide(t, "nobody", "view", "acme")
	status, body := call(t, http.MethodGet, srv.url+"/v1/accounts/acme/members", token, "")
	require.Equal(t, http.StatusOK, status, body)
	status, body = call(t, http.MethodPut, srv.url+"/v1/accounts/acme/members/carol", token, `{"roles": ["no_such_role"]}`)
	require.Equal(t, http.StatusUnprocessableEntity, status, body)
	status, body = call(t, http.MethodPut, srv.url+"/v1/accounts/acme/members/carol", token,
		`{"roles": ["account_viewer"], "justification": "metrics lint"}`)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, body)

	// A policy reload: a changed file in --policy-dir.
	files, err := filepath.Glob(filepath.Join(policyDir, "*.rego"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	f, err := os.OpenFile(files[0], os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("\n# changed by TestMetricsPassPromtool\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	start := time.Now()
	var metrics string
	require.Eventually(t, func() bool {
		metrics = get(t, srv.url+"/metrics")
		return delivered.Load() >= 1 &&
			metricValue(t, metrics, `gatehouse_webhook_deliveries_total{outcome="ok"}`) >= 1 &&
			metricValue(t, metrics, `gatehouse_policy_reloads_total{outcome="success"}`) >= 1
	}, promtoolWait, 20*time.Millisecond, "no webhook delivery or no policy reload:\n%s", srv.logs())
	t.Logf("a webhook delivery and a policy reload counted after %s", time.Since(start))

	families := metricFamilies(metrics)
	for _, want := range []string{
		"gatehouse_decisions_total", "gatehouse_decision_duration_seconds", "gatehouse_http_requests_total",
		"gatehouse_http_open_connections", "gatehouse_http_max_connections", "gatehouse_policy_reloads_total",
		"gatehouse_decision_log_dropped_total", "gatehouse_webhook_deliveries_total",
		"gatehouse_store_calls_total", "gatehouse_store_call_duration_seconds",
	} {
		assert.Contains(t, families, want, "every metric family appears")
	}
	t.Logf("%d metric families, %d lines scraped", len(families), strings.Count(metrics, "\n"))

	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(metrics)
	var stdout, stderr bytes.Buffer
	check.Stdout, check.Stderr = &stdout, &stderr
	err = check.Run()
	assert.NoError(t, err, "promtool check metrics:\n%s%s", stdout.String(), stderr.String())
	assert.Empty(t, strings.TrimSpace(stdout.String()+stderr.String()), "promtool check metrics found problems")
}

// metricFamilies lists the families of a Prometheus text exposition (its
// # TYPE lines), sorted.
func metricFamilies(text string) []string {
	var names []string
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			names = append(names, strings.Fields(rest)[0])
		}
	}
	sort.Strings(names)
	return names
}
