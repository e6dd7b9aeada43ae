package httpapi_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
)

func TestHealth(t *testing.T) {
	h := newEmbeddedHarness(t)
	rec := h.call(http.MethodGet, "/health", "", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"status":"ok"}`, rec.Body.String())
}

func TestReady(t *testing.T) {
	store := openEmbedded(t)
	h := newHarness(t, store)

	rec := h.call(http.MethodGet, "/ready", "", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := decodeAs[map[string]string](t, rec)
	assert.Equal(t, "ready", got["status"])
	assert.Equal(t, h.eng.Policy().Revision, got["policy_revision"])

	require.NoError(t, store.Close())
	rec = h.call(http.MethodGet, "/ready", "", nil)
	e := requireError(t, rec, http.StatusServiceUnavailable, "unavailable")
	assert.Contains(t, e.Error.Message, "not ready: the store is unavailable")
}

func TestMetrics(t *testing.T) {
	h := newEmbeddedHarness(t)
	seedAcme(h)
	assert.True(t, h.decide("alice", "view", "acme").Allow)
	assert.True(t, h.decide("alice", "use", "acme").Allow)
	assert.False(t, h.decide("bob", "view", "acme").Allow)
	h.call(http.MethodGet, "/no/such/path", "", nil)

	rec := h.call(http.MethodGet, "/metrics", "", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	for _, line := range []string{
		`gatehouse_decisions_total{result="allow"} 2`,
		`gatehouse_decisions_total{result="deny"} 1`,
		`gatehouse_decisions_total{result="error"} 0`,
		`gatehouse_decision_duration_seconds_count 3`,
		`gatehouse_http_requests_total{method="POST",route="/v1/decisions",status="200"} 3`,
		`gatehouse_http_requests_total{method="other",route="unmatched",status="404"} 1`,
	} {
		assert.Contains(t, body, line+"\n")
	}
}

func TestNewMetricsTwiceSharesTheSeries(t *testing.T) {
	h := newEmbeddedHarness(t)
	again := httpapi.NewMetrics(h.registry)
	seedAcme(h)
	h.decide("alice", "view", "acme")
	h.decide("alice", "view", "acme")
	require.NotNil(t, again)
	rec := h.call(http.MethodGet, "/metrics", "", nil)
	assert.Contains(t, rec.Body.String(), `gatehouse_decisions_total{result="allow"} 2`+"\n")
}

func TestOpenAPIIsServed(t *testing.T) {
	h := newEmbeddedHarness(t)
	rec := h.call(http.MethodGet, "/v1/openapi.yaml", "", nil)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Header().Get("Content-Type"), "yaml")
	for _, path := range []string{"/v1/decisions:", "/v1/decisions/batch:", "/v1/data/{path}:",
		"/v1/tenant-access-requests:", "/v1/access-requests/{id}/approve:", "/v1/audit:", "/ready:"} {
		assert.Contains(t, rec.Body.String(), "\n  "+path+"\n")
	}
}

// API.md: every error has the same body, with the status that fits.
func TestErrorBodiesOfTheHTTPLayer(t *testing.T) {
	h := newEmbeddedHarness(t, httpapi.WithMaxBodyBytes(256))
	big := `{"subject":"` + strings.Repeat("a", 300) + `"}`
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown path", http.MethodGet, "/v2/nothing", "", http.StatusNotFound, "not_found"},
		{"wrong method", http.MethodGet, "/v1/decisions", "", http.StatusMethodNotAllowed, "method_not_allowed"},
		{"body over the limit", http.MethodPost, "/v1/decisions", big, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"batch body over the limit", http.MethodPost, "/v1/decisions/batch", `{"checks":[` + big + `]}`,
			http.StatusRequestEntityTooLarge, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			requireError(t, h.call(tt.method, tt.path, "", body), tt.status, tt.code)
		})
	}
}

// The default limit is 1 MiB (API.md).
func TestDefaultBodyLimitIsOneMiB(t *testing.T) {
	h := newEmbeddedHarness(t)
	pad := strings.Repeat(" ", httpapi.DefaultMaxBodyBytes)
	body := `{"subject":"alice","action":"view","resource":{"account":"acme"}}`
	requireError(t, h.call(http.MethodPost, "/v1/decisions", "", body+pad), http.StatusRequestEntityTooLarge, "body_too_large")
	rec := h.call(http.MethodPost, "/v1/decisions", "", body+pad[:httpapi.DefaultMaxBodyBytes-len(body)])
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

// panicVerifier panics, as a bug in a handler's dependency would.
type panicVerifier struct{}

func (panicVerifier) Verify(string) (string, error) { panic("verifier bug") }

func TestPanicsBecomeLogged500s(t *testing.T) {
	var logs syncBuffer
	h := newHarness(t, openEmbedded(t),
		httpapi.WithVerifier(panicVerifier{}),
		httpapi.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	rec := h.call(http.MethodGet, "/v1/events", systemAdmin, nil)
	e := requireError(t, rec, http.StatusInternalServerError, "internal")
	assert.Equal(t, "internal error", e.Error.Message)
	assert.NotContains(t, rec.Body.String(), "verifier bug")
	assert.Contains(t, logs.String(), "verifier bug")

	rec = h.call(http.MethodGet, "/health", "", nil)
	assert.Equal(t, http.StatusOK, rec.Code, "the server still serves")
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
