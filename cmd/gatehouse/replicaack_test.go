package main

import (
	"encoding/json"
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

// Issue 11, item 5 (R40, R45), as an operator meets it: `serve
// --redis-min-replicas-ack 1` on a Redis primary that no replica follows.
// serve warns at start that writes will not be acknowledged; a write
// answers 503 outcome_unknown saying how many replicas acknowledged it,
// which flag asks for them and what to do, and its log line says so too.
// Once a replica follows, the retry with the same Idempotency-Key is
// answered the first answer, replayed. (With the default 1s write, the
// resend runs out of time waiting; TestReplicaShortfallSurvivesAResendOutOfTime
// in engine checks the shortfall is still told then.)
func TestServeWithoutTheReplicasItWaitsFor(t *testing.T) {
	bin := buildGatehouse(t)
	primary := redistest.Start(t, redistest.WithArgs("--repl-diskless-sync-delay", "0"))
	store := []string{"--store", "redis", "--redis-url", primary.URL()}
	secret := filepath.Join(t.TempDir(), "jwt-secret")
	require.NoError(t, os.WriteFile(secret, []byte("replica-ack-test-secret-0123456789"), 0o600))
	runBinary(t, bin, append([]string{"seed", "../../testdata/demo.json"}, store...)...)
	srv := startServer(t, "gatehouse", bin, append([]string{"--jwt-hs256-secret-file", secret, "--system-admins", "ops",
		"--redis-min-replicas-ack", "1", "--redis-min-replicas-ack-timeout", "200ms"}, store...)...)
	assert.Contains(t, srv.logs(), "--redis-min-replicas-ack 1, but a Redis primary gatehouse writes to has 0 connected replicas",
		"serve warns at start")
	token := strings.TrimSpace(runBinary(t, bin, "token", "--sub", "alice", "--jwt-hs256-secret-file", secret))

	put := func() (int, http.Header, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPut, srv.url+"/v1/accounts/acme/members/carol",
			strings.NewReader(`{"roles": ["account_viewer"], "justification": "replica ack test"}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", "add-carol")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		text, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var body map[string]any
		require.NoError(t, json.Unmarshal(text, &body), "%s", text)
		return resp.StatusCode, resp.Header, body
	}
	status, _, body := put()
	require.Equal(t, http.StatusServiceUnavailable, status, "%v", body)
	e, _ := body["error"].(map[string]any)
	assert.Equal(t, "outcome_unknown", e["code"])
	message, _ := e["message"].(string)
	for _, want := range []string{"applied by the Redis primary", "0 of the 1 replicas", "--redis-min-replicas-ack",
		"within 200ms", "Idempotency-Key", "connected_slaves"} {
		assert.Contains(t, message, want)
	}
	assert.Eventually(t, func() bool {
		return strings.Contains(srv.logs(), "acknowledged by 0 of the 1 replicas asked for within 200ms")
	}, replicaDeadline, 10*time.Millisecond, "the log line says why:\n%s", srv.logs())

	redistest.Start(t, redistest.ReplicaOf(primary))
	start := time.Now()
	require.Eventually(t, func() bool {
		status, header, body := put()
		return status == http.StatusCreated && header.Get("Idempotent-Replayed") == "true" && body["user"] == "carol"
	}, replicaDeadline, 50*time.Millisecond, "once a replica follows, the retry replays the first answer")
	t.Logf("the retry was answered %.0f ms after the replica started", float64(time.Since(start).Milliseconds()))
}
