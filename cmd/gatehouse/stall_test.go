package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
)

// stallWait bounds every wait of the stalled-Redis test: generous, for
// loaded machines; the latencies are logged, not asserted.
const stallWait = 60 * time.Second

// R45, issue 7 point 3: `gatehouse serve` on a Redis frozen by SIGSTOP
// answers a member write, an admin read and /ready with 503 "unavailable",
// and decisions with a deny, each once its timeout ends (--store-write-
// timeout, --store-read-timeout, the decision deadline), and serves again
// after SIGCONT without a restart. Nothing of the refused write is kept.
func TestServeOnStalledRedis(t *testing.T) {
	bin := buildGatehouse(t)
	redis := redistest.Start(t)
	store := []string{"--store", "redis", "--redis-url", redis.URL()}
	secret := filepath.Join(t.TempDir(), "jwt-secret")
	require.NoError(t, os.WriteFile(secret, []byte("stall-test-secret-0123456789abcdef"), 0o600))
	runBinary(t, bin, append([]string{"seed", "../../testdata/demo.json"}, store...)...)
	srv := startServer(t, "gatehouse", bin, append([]string{"--jwt-hs256-secret-file", secret, "--system-admins", "ops",
		// The production defaults, which startServer makes generous.
		"--store-write-timeout", "1s", "--store-read-timeout", "1s", "--decision-timeout", "250ms"}, store...)...)
	token := strings.TrimSpace(runBinary(t, bin, "token", "--sub", "ops", "--jwt-hs256-secret-file", secret))
	client := &http.Client{Timeout: stallWait}

	call := func(method, path, body string) (int, string, time.Duration) {
		t.Helper()
		req, err := http.NewRequest(method, srv.url+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		require.NoError(t, err, "%s %s", method, path)
		defer resp.Body.Close()
		text, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(text), time.Since(start)
	}
	addMember := `{"roles": ["account_user"], "justification": "stall test"}`
	decision := `{"subject": "alice", "action": "use", "resource": {"account": "acme"}}`
	status, body, _ := call(http.MethodGet, "/ready", "")
	require.Equal(t, http.StatusOK, status, body)

	redis.Pause()
	figures := []string{}
	for _, c := range []struct{ name, method, path, body string }{
		{"member write", http.MethodPut, "/v1/accounts/acme/members/omar", addMember},
		{"member read", http.MethodGet, "/v1/accounts/acme/members", ""},
		{"audit read", http.MethodGet, "/v1/audit?account=acme", ""},
		{"/ready", http.MethodGet, "/ready", ""},
	} {
		status, body, took := call(c.method, c.path, c.body)
		assert.Equal(t, http.StatusServiceUnavailable, status, "%s: %s", c.name, body)
		assert.Contains(t, body, `"unavailable"`, c.name)
		figures = append(figures, fmt.Sprintf("%s 503 after %.0f ms", c.name, float64(took.Milliseconds())))
	}
	status, body, took := call(http.MethodPost, "/v1/decisions", decision)
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"allow":false`)
	figures = append(figures, fmt.Sprintf("decision deny after %.0f ms (%s)", float64(took.Milliseconds()), body))
	t.Logf("Redis stopped by SIGSTOP, default timeouts:\n  %s", strings.Join(figures, "\n  "))

	redis.Resume()
	start := time.Now()
	require.Eventually(t, func() bool {
		status, _, _ := call(http.MethodGet, "/ready", "")
		return status == http.StatusOK
	}, stallWait, 10*time.Millisecond, "ready again after SIGCONT")
	t.Logf("ready again %.0f ms after SIGCONT", float64(time.Since(start).Milliseconds()))

	status, body, _ = call(http.MethodGet, "/v1/accounts/acme/members/omar", "")
	assert.Equal(t, http.StatusNotFound, status, "the refused write left nothing: %s", body)
	status, body, _ = call(http.MethodPut, "/v1/accounts/acme/members/omar", addMember)
	assert.Less(t, status, 300, "writes work again: %s", body)
}

// The store timeouts must be positive; each is also read from
// GATEHOUSE_STORE_WRITE_TIMEOUT and GATEHOUSE_STORE_READ_TIMEOUT.
func TestStoreTimeoutFlags(t *testing.T) {
	cfg := DefaultConfig()
	assert.Equal(t, time.Second, cfg.StoreWriteTimeout)
	assert.Equal(t, time.Second, cfg.StoreReadTimeout)
	cfg.StoreWriteTimeout, cfg.StoreReadTimeout = 0, -time.Second
	err := cfg.Validate()
	require.ErrorContains(t, err, "--store-write-timeout must be positive")
	require.ErrorContains(t, err, "--store-read-timeout must be positive")

	t.Setenv("GATEHOUSE_STORE_WRITE_TIMEOUT", "250ms")
	t.Setenv("GATEHOUSE_STORE_READ_TIMEOUT", "2s")
	serve, _, err := newRootCommand().Find([]string{"serve"})
	require.NoError(t, err)
	flags := serve.Flags()
	require.NoError(t, applyEnv(flags))
	for flag, want := range map[string]string{"store-write-timeout": "250ms", "store-read-timeout": "2s"} {
		f := flags.Lookup(flag)
		require.NotNil(t, f, flag)
		assert.Equal(t, want, f.Value.String(), flag)
		assert.NotEmpty(t, f.Usage, flag)
	}
}
