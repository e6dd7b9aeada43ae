package sentineltest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
)

// Issue 11, item 5, through the HTTP API: `gatehouse serve
// --redis-min-replicas-ack 1` on a redis+sentinel:// URL answers a write
// the replica did not acknowledge with 503 outcome_unknown, a retry with
// the same Idempotency-Key too while the replica lags, and once it caught
// up the retry gets the first answer (201 Created), replayed; decisions
// are answered throughout.
func TestServeAnswersOutcomeUnknownUntilTheReplicaAcknowledges(t *testing.T) {
	d := redistest.StartSentinel(t)
	seed(t, openStore(t, d), []string{"acme"}, 1)
	bin := filepath.Join(t.TempDir(), "gatehouse")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/gatehouse/gatehouse/cmd/gatehouse").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("sentinel-test-secret-0123456789abcdef\n"), 0o600))
	token, err := exec.Command(bin, "token", "--sub", operator, "--jwt-hs256-secret-file", secret).Output()
	require.NoError(t, err)

	url := serve(t, bin, "--store", "redis", "--redis-url", d.URL(), "--jwt-hs256-secret-file", secret, "--system-admins", operator,
		"--store-write-timeout", "20s", "--store-read-timeout", "20s", "--decision-timeout", "20s",
		"--redis-min-replicas-ack", "1", "--redis-min-replicas-ack-timeout", "200ms")
	put := func() (int, http.Header, map[string]any) {
		req, err := http.NewRequest(http.MethodPut, url+"/v1/accounts/acme/members/u0", strings.NewReader(`{"roles":["account_user"]}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		req.Header.Set("Idempotency-Key", "add-u0")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		return resp.StatusCode, resp.Header, body
	}
	code := func(body map[string]any) any {
		e, _ := body["error"].(map[string]any)
		return e["code"]
	}

	replica := d.Replica()
	replica.Pause()
	status, _, body := put()
	assert.Equal(t, http.StatusServiceUnavailable, status, "%v", body)
	assert.Equal(t, "outcome_unknown", code(body))
	status, _, body = put()
	assert.Equal(t, http.StatusServiceUnavailable, status, "a retry while the replica lags: %v", body)
	assert.Equal(t, "outcome_unknown", code(body))
	resp, err := http.Post(url+"/v1/decisions", "application/json",
		strings.NewReader(`{"subject":"u0","action":"view","resource":{"account":"acme"}}`))
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "decisions do not wait for replicas")

	replica.Resume()
	status, header, body := put()
	assert.Equal(t, http.StatusCreated, status, "the first answer, replayed: %v", body)
	assert.Equal(t, "true", header.Get("Idempotent-Replayed"))
	assert.Equal(t, "u0", body["user"])
}

var servingAddr = regexp.MustCompile(`msg="gatehouse serving" addr=(\S+)`)

// serve runs `gatehouse serve` on a free port until the test ends and
// returns its URL once it listens.
func serve(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			if m := servingAddr.FindStringSubmatch(lines.Text()); m != nil {
				addr <- m[1]
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		require.True(t, ok, "gatehouse serve exited before serving")
		return "http://" + a
	case <-time.After(time.Minute):
		require.FailNow(t, "gatehouse serve did not start serving within a minute")
	}
	return ""
}
