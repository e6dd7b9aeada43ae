package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
)

// secretWait bounds every wait of these tests (a loaded machine is slow).
const secretWait = 30 * time.Second

// call sends a request to a running server and returns the status and body.
func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// writeFile writes content to a new file in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// R43 (issue 7, point 4): a server started with --jwt-audience and
// --jwt-issuer accepts the tokens `gatehouse token` mints for them (flags
// or the GATEHOUSE_ variables) and refuses others with a 401 saying why.
// Its webhook URL holds a user, a password and a token in the query string:
// none of them reaches stderr or /metrics, while deliveries fail and
// succeed.
func TestServeJWTClaimsAndWebhookSecrets(t *testing.T) {
	bin := buildGatehouse(t)
	dir := seededDir(t)
	jwtSecret := writeFile(t, "jwt", "serve-secrets-test-jwt-secret-0123456789")
	hookSecret := writeFile(t, "hook", "serve-secrets-test-hook-secret-0123456789")

	var attempts, accepted atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) <= 3 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		accepted.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	host := strings.TrimPrefix(receiver.URL, "http://")
	flaky := "http://hookuser:HookPassS3cret@" + host + "/hooks/PathS3cret?token=QueryS3cret"
	down := "http://downuser:DownPassS3cret@" + freeAddr(t) + "/x?token=DownQueryS3cret"

	srv := startServer(t, "claims", bin, "--data-dir", dir, "--jwt-hs256-secret-file", jwtSecret,
		"--jwt-audience", "gatehouse", "--jwt-issuer", "https://idp.example.com", "--jwt-leeway", "30s",
		"--system-admins", "ops", "--webhook-url", flaky, "--webhook-url", down, "--webhook-secret-file", hookSecret)

	mint := func(args ...string) string {
		out, err := runGatehouse(t, append([]string{"token", "--sub", "ops", "--jwt-hs256-secret-file", jwtSecret}, args...)...)
		require.NoError(t, err, out)
		return strings.TrimSpace(out)
	}
	good := mint("--aud", "gatehouse", "--iss", "https://idp.example.com")
	status, body := call(t, http.MethodGet, srv.url+"/v1/events", good, "")
	require.Equal(t, http.StatusOK, status, body)

	t.Setenv("GATEHOUSE_JWT_AUDIENCE", "gatehouse")
	t.Setenv("GATEHOUSE_JWT_ISSUER", "https://idp.example.com")
	status, body = call(t, http.MethodGet, srv.url+"/v1/events", mint(), "")
	assert.Equal(t, http.StatusOK, status, "the token command reads the server's variables: %s", body)
	os.Unsetenv("GATEHOUSE_JWT_AUDIENCE")
	os.Unsetenv("GATEHOUSE_JWT_ISSUER")

	refused := map[string]struct{ token, want string }{
		"no aud":      {mint("--iss", "https://idp.example.com"), `the token has no aud claim: this server requires the audience \"gatehouse\"`},
		"other aud":   {mint("--aud", "billing", "--iss", "https://idp.example.com"), `the token's audience is not \"gatehouse\"`},
		"no iss":      {mint("--aud", "gatehouse"), `the token has no iss claim`},
		"other iss":   {mint("--aud", "gatehouse", "--iss", "https://evil.example.com"), `the token's issuer is not \"https://idp.example.com\"`},
		"not a token": {"Bearer-garbage-NotATokenS3cret", "not a well-formed JWT"},
	}
	for name, tc := range refused {
		status, body := call(t, http.MethodGet, srv.url+"/v1/events", tc.token, "")
		assert.Equal(t, http.StatusUnauthorized, status, name)
		assert.Contains(t, body, tc.want, name)
		assert.NotContains(t, body, tc.token, name)
	}

	// A change announces an event: it goes to both webhooks.
	status, body = call(t, http.MethodPut, srv.url+"/v1/accounts/acme/members/carol", good,
		`{"roles": ["account_viewer"], "justification": "secrets test"}`)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, body)
	start := time.Now()
	require.Eventually(t, func() bool { return accepted.Load() >= 1 && strings.Count(srv.logs(), "connection refused") >= 2 },
		secretWait, 10*time.Millisecond, srv.logs())
	t.Logf("first webhook delivery accepted after %s and %d attempts", time.Since(start), attempts.Load())
	metrics := get(t, srv.url+"/metrics")
	assert.GreaterOrEqual(t, metricValue(t, metrics, `gatehouse_webhook_deliveries_total{outcome="failed"}`), 3.0)
	assert.GreaterOrEqual(t, metricValue(t, metrics, `gatehouse_webhook_deliveries_total{outcome="ok"}`), 1.0)

	logs := srv.logs()
	require.Contains(t, logs, "webhook delivery failed")
	for _, s := range []string{"S3cret", "hookuser", "downuser", "token=", good} {
		assert.NotContains(t, logs, s, "stderr")
		assert.NotContains(t, metrics, s, "/metrics")
	}
}

// Issue 7, point 4: a Redis password in --redis-url never reaches stderr,
// /ready or /metrics: not when Redis is unreachable, not when it refuses
// the password, not when the URL is invalid (serve and the other
// commands).
func TestRedisPasswordNeverPrinted(t *testing.T) {
	bin := buildGatehouse(t)
	const password = "RedisPassS3cret"
	check := func(t *testing.T, name string, texts ...string) {
		t.Helper()
		for _, text := range texts {
			assert.NotContains(t, text, password, name)
			assert.NotContains(t, text, "S3cret", name)
		}
	}

	t.Run("unreachable", func(t *testing.T) {
		srv := startServer(t, "unreachable", bin, "--store", "redis", "--redis-url", "redis://admin:"+password+"@"+freeAddr(t)+"/0")
		var ready string
		require.Eventually(t, func() bool {
			var status int
			status, ready = call(t, http.MethodGet, srv.url+"/ready", "", "")
			return status == http.StatusServiceUnavailable
		}, secretWait, 10*time.Millisecond)
		metrics := get(t, srv.url+"/metrics")
		require.Contains(t, srv.logs(), "connection refused", "the cause is still logged")
		check(t, "unreachable", srv.logs(), ready, metrics)
	})

	t.Run("wrong and right password", func(t *testing.T) {
		redis := redistest.Start(t)
		client := goredis.NewClient(&goredis.Options{Addr: redis.Addr()})
		require.NoError(t, client.ConfigSet(t.Context(), "requirepass", password).Err())
		require.NoError(t, client.Close())

		wrong := startServer(t, "wrong", bin, "--store", "redis", "--redis-url", "redis://default:"+password+"x@"+redis.Addr()+"/0")
		status, ready := call(t, http.MethodGet, wrong.url+"/ready", "", "")
		assert.Equal(t, http.StatusServiceUnavailable, status, ready)
		check(t, "wrong password", wrong.logs(), ready)

		right := startServer(t, "right", bin, "--store", "redis", "--redis-url", "redis://default:"+password+"@"+redis.Addr()+"/0")
		status, ready = call(t, http.MethodGet, right.url+"/ready", "", "")
		assert.Equal(t, http.StatusOK, status, ready)
		metrics := get(t, right.url+"/metrics")
		check(t, "right password", right.logs(), ready, metrics)
	})

	t.Run("invalid URL", func(t *testing.T) {
		urls := []string{
			"redis://admin:" + password + " x@127.0.0.1:6379/0",  // a space in the user info
			"redis://admin:" + password + "%zz@127.0.0.1:6379/0", // an invalid escape
			"redis://admin:" + password + "@127.0.0.1:port/0",    // a port that is not a number
			"redis://admin:" + password + "@127.0.0.1:6379/db",   // not a database number
			"redis://admin:" + password + "@127.0.0.1:6379/0?unknown=" + password,
			"postgres://admin:" + password + "@127.0.0.1/0",
		}
		for _, u := range urls {
			for _, args := range [][]string{
				{"serve", "--addr", "127.0.0.1:0", "--store", "redis", "--redis-url", u},
				{"decide", "--store", "redis", "--redis-url", u, "--subject", "a", "--action", "view", "--account", "b"},
			} {
				out, err := exec.Command(bin, args...).CombinedOutput()
				require.Error(t, err, "gatehouse %s must fail on %s: %s", args[0], u, out)
				t.Logf("gatehouse %s: %s", args[0], strings.TrimSpace(string(out)))
				check(t, args[0], string(out))
			}
		}
	})
}

// Config.Validate names the flag without quoting a credential.
func TestConfigValidateHidesCredentials(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Store = "redis"
	cfg.RedisURL = "redis://admin:pa ss-S3cret@host/0"
	cfg.WebhookURLs = []string{"ftp://user:S3cret@host/path-S3cret?token=S3cret", "http://user:S3 cret@host/"}
	cfg.WebhookSecretFile = "x"
	err := cfg.Validate()
	require.Error(t, err)
	t.Log(err)
	assert.Contains(t, err.Error(), "--redis-url is not a URL")
	assert.Contains(t, err.Error(), "--webhook-url ftp://***@host/***?*** must be an http(s) URL")
	assert.Contains(t, err.Error(), "--webhook-url is not a URL")
	assert.NotContains(t, err.Error(), "S3")
}

// redactURL keeps scheme and host only (issue 7, point 4).
func TestRedactURL(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"http://127.0.0.1:8280", "http://127.0.0.1:8280"},
		{"redis://:pw@redis:6379/0", "redis://***@redis:6379/***"},
		{"rediss://user:pw@redis:6379?addr=x&password=pw", "rediss://***@redis:6379?***"},
		{"https://hooks.example.com/a/b#c", "https://hooks.example.com/***#***"},
		{"unix:///run/redis.sock", "unix:///***"},
		{"http://u:p w@h/", "(a URL that does not parse)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, redactURL(tt.raw), tt.raw)
	}
}
