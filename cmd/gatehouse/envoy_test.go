package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehouse/gatehouse/adapters/envoyauthz"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
)

var grpcServingAddr = regexp.MustCompile(`msg="gatehouse serving" .*grpc_addr=(\S+)`)

// envoyCheck is Envoy's CheckRequest for method path, with a bearer token
// when tok is not "".
func envoyCheck(method, path, tok string) *authv3.CheckRequest {
	headers := map[string]string{":authority": "app.example", "x-request-id": "e2e"}
	if tok != "" {
		headers["authorization"] = "Bearer " + tok
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: method, Path: path, Host: "app.example", Headers: headers},
	}}}
}

// headerMap returns the headers of a Check answer by name.
func headerMap(resp *authv3.CheckResponse) map[string]string {
	h := resp.GetOkResponse().GetHeaders()
	if d := resp.GetDeniedResponse(); d != nil {
		h = d.GetHeaders()
	}
	out := map[string]string{}
	for _, o := range h {
		out[o.GetHeader().GetKey()] = o.GetHeader().GetValue()
	}
	return out
}

// Issue 10, part 2: a real `gatehouse serve --grpc-addr` answers Envoy's
// Check over gRPC on the demo data, with the tokens `gatehouse token`
// mints verified by the server's verifier; the decisions reach the decision
// log and the metrics; the health service says SERVING, then NOT_SERVING
// when Redis is down, when Check denies with 503 (R45); SIGTERM stops both
// servers cleanly.
func TestServeAnswersEnvoyOverGRPC(t *testing.T) {
	bin := buildGatehouse(t)
	redis := redistest.Start(t)
	store := []string{"--store", "redis", "--redis-url", redis.URL()}
	runBinary(t, bin, append([]string{"seed", "../../testdata/demo.json"}, store...)...)
	secret := filepath.Join(t.TempDir(), "jwt-secret")
	require.NoError(t, os.WriteFile(secret, []byte("envoy-e2e-test-secret-0123456789abcdef"), 0o600))
	decisionLog := filepath.Join(t.TempDir(), "decisions.jsonl")

	srv := startServer(t, "gatehouse", bin, append([]string{"--grpc-addr", "127.0.0.1:0",
		"--jwt-hs256-secret-file", secret, "--decision-log", decisionLog, "--decision-cache", "0",
		"--store-read-timeout", "2s"}, store...)...)
	m := grpcServingAddr.FindStringSubmatch(srv.logs())
	require.NotNil(t, m, "the serving line names grpc_addr:\n%s", srv.logs())
	conn, err := grpc.NewClient(m[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	authz, health := authv3.NewAuthorizationClient(conn), healthpb.NewHealthClient(conn)
	mint := func(sub string) string {
		return strings.TrimSpace(runBinary(t, bin, "token", "--sub", sub, "--jwt-hs256-secret-file", secret))
	}
	alice, bob := mint("alice"), mint("bob")

	hc, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{Service: envoyauthz.ServiceName})
	require.NoError(t, err)
	assert.Equal(t, healthpb.HealthCheckResponse_SERVING, hc.GetStatus())

	start := time.Now()
	resp, err := authz.Check(t.Context(), envoyCheck("GET", "/accounts/acme/licenses?page=1", alice))
	require.NoError(t, err)
	t.Logf("first Check over gRPC to a gatehouse process: %.2f ms", float64(time.Since(start).Microseconds())/1000)
	require.NotNil(t, resp.GetOkResponse(), "alice (account_admin) views acme: %v", resp)
	allowID := headerMap(resp)[envoyauthz.HeaderDecisionID]
	assert.NotEmpty(t, allowID)
	assert.Len(t, headerMap(resp)[envoyauthz.HeaderPolicyRevision], 16)

	resp, err = authz.Check(t.Context(), envoyCheck("POST", "/accounts/acme/virtual-accounts/acme-emea/licenses", bob))
	require.NoError(t, err)
	require.NotNil(t, resp.GetOkResponse(), "bob (va_user) uses acme-emea: %v", resp)

	resp, err = authz.Check(t.Context(), envoyCheck("GET", "/accounts/acme", bob))
	require.NoError(t, err)
	require.NotNil(t, resp.GetDeniedResponse(), "bob has no role on the account: %v", resp)
	assert.Equal(t, typev3.StatusCode_Forbidden, resp.GetDeniedResponse().GetStatus().GetCode())
	assert.Equal(t, "view on acme needs account_viewer or a role that includes it; bob holds no role there",
		headerMap(resp)[envoyauthz.HeaderReasons])
	denyID := headerMap(resp)[envoyauthz.HeaderDecisionID]

	resp, err = authz.Check(t.Context(), envoyCheck("GET", "/accounts/acme", alice[:len(alice)-2]+"xx"))
	require.NoError(t, err)
	require.NotNil(t, resp.GetDeniedResponse(), "a forged signature: %v", resp)
	assert.Equal(t, typev3.StatusCode_Unauthorized, resp.GetDeniedResponse().GetStatus().GetCode())

	resp, err = authz.Check(t.Context(), envoyCheck("GET", "/accounts/acme", ""))
	require.NoError(t, err)
	require.NotNil(t, resp.GetDeniedResponse(), "no token: %v", resp)
	assert.Contains(t, headerMap(resp)[envoyauthz.HeaderReasons], "asks no question")

	t.Run("the decisions reach the metrics and the decision log", func(t *testing.T) {
		metrics := httpGet(t, srv.url+"/metrics")
		assert.Regexp(t, `gatehouse_decisions_total\{result="allow"\} 2`, metrics)
		assert.Regexp(t, `gatehouse_decisions_total\{result="deny"\} 2`, metrics, "bob on acme, and the request without a token")
		var ids []string
		require.Eventually(t, func() bool {
			ids = decisionIDs(t, decisionLog)
			return len(ids) >= 4
		}, 30*time.Second, 20*time.Millisecond, "the decision log holds the four decisions")
		assert.Contains(t, ids, allowID)
		assert.Contains(t, ids, denyID)
	})

	t.Run("R45 Redis down: NOT_SERVING, and Check denies with 503", func(t *testing.T) {
		redis.Stop()
		down := time.Now()
		require.Eventually(t, func() bool {
			hc, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{})
			return err == nil && hc.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING
		}, 60*time.Second, 50*time.Millisecond)
		t.Logf("health NOT_SERVING %.0f ms after Redis stopped", float64(time.Since(down).Milliseconds()))
		resp, err := authz.Check(t.Context(), envoyCheck("GET", "/accounts/acme", alice))
		require.NoError(t, err)
		require.NotNil(t, resp.GetDeniedResponse(), "never an allow with the store down: %v", resp)
		assert.Equal(t, typev3.StatusCode_ServiceUnavailable, resp.GetDeniedResponse().GetStatus().GetCode())
		assert.Contains(t, headerMap(resp)[envoyauthz.HeaderReasons], "unavailable")

		redis.Restart()
		require.Eventually(t, func() bool {
			hc, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{})
			return err == nil && hc.GetStatus() == healthpb.HealthCheckResponse_SERVING
		}, 60*time.Second, 50*time.Millisecond, "SERVING again once Redis is back")
	})
}

// httpGet returns the body of GET url, which must answer 200.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// decisionIDs reads the decision ids of a JSON-lines decision log.
func decisionIDs(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ids []string
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		var entry struct {
			DecisionID string `json:"decision_id"`
		}
		if json.Unmarshal(lines.Bytes(), &entry) == nil && entry.DecisionID != "" {
			ids = append(ids, entry.DecisionID)
		}
	}
	return ids
}

// --grpc-addr is a HOST:PORT of its own; empty serves no gRPC.
func TestGRPCAddrValidate(t *testing.T) {
	tests := []struct{ name, grpc, wantErr string }{
		{"none", "", ""},
		{"a port", "127.0.0.1:9191", ""},
		{"any free port", "127.0.0.1:0", ""},
		{"no port", "localhost", "--grpc-addr \"localhost\""},
		{"the HTTP address", "127.0.0.1:8280", "is --addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.GRPCAddr = tt.grpc
			err := cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
