package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
)

// R45: with Redis down, writes answer 503 and change nothing, decisions
// answer allow:false with error "store_unavailable", /ready is 503 with the
// reason; once Redis is back, the same gatehouse serves again.
func TestRedisOutageR45(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--appendonly", "yes", "--appendfsync", "always"))
	h := newHarness(t, openRedis(t, srv))
	acmeReq, _ := twoAccounts(h)
	require.True(t, h.decide("bob", "use", "acme").Allow)
	auditBefore := len(items(t, h.mustRead("/v1/audit?account=acme&limit=1000", systemAdmin)))
	eventsBefore := len(items(t, h.mustRead("/v1/events?limit=1000", systemAdmin)))

	srv.Stop()

	writes := []struct {
		name, method, path, sub string
		body                    any
	}{
		{"create user", http.MethodPut, "/v1/users/zed", systemAdmin, map[string]any{"email": "zed@example.com"}},
		{"create account", http.MethodPut, "/v1/accounts/initech", systemAdmin, map[string]any{"name": "Initech"}},
		{"add member", http.MethodPut, "/v1/accounts/acme/members/carl", systemAdmin,
			map[string]any{"roles": []string{"account_user"}, "justification": "x"}},
		{"remove member", http.MethodDelete, "/v1/accounts/acme/members/bob", systemAdmin, nil},
		{"request access", http.MethodPost, "/v1/accounts/globex/access-requests", "bob", map[string]any{}},
		{"approve", http.MethodPost, "/v1/access-requests/" + acmeReq + "/approve", "alice",
			map[string]any{"scope": "account", "role": "account_admin"}},
		{"deny", http.MethodPost, "/v1/access-requests/" + acmeReq + "/deny", "alice", map[string]any{"reason_code": "other"}},
	}
	for _, w := range writes {
		t.Run("down/"+w.name, func(t *testing.T) {
			e := requireError(t, h.call(w.method, w.path, w.sub, w.body), http.StatusServiceUnavailable, "unavailable")
			assert.NotContains(t, e.Error.Message, srv.Addr(), "the store's address stays in the log")
		})
	}
	t.Run("down/reads answer 503", func(t *testing.T) {
		requireError(t, h.call(http.MethodGet, "/v1/accounts/acme/members", systemAdmin, nil), http.StatusServiceUnavailable, "unavailable")
	})
	t.Run("down/decisions fail closed", func(t *testing.T) {
		got := h.decide("bob", "use", "acme")
		assert.False(t, got.Allow)
		assert.Equal(t, "store_unavailable", got.Error)
		assert.NotEmpty(t, got.Reasons)
		assert.NotEmpty(t, got.DecisionID)
		assert.Equal(t, h.eng.Policy().Revision, got.PolicyRevision)
	})
	t.Run("down/batch decisions fail closed", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/decisions/batch", "", map[string]any{"checks": []any{
			decisionBody("bob", "use", "acme", ""), decisionBody("alice", "manage", "acme", ""),
		}})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := decodeAs[struct {
			Results []decisionAnswer `json:"results"`
		}](t, rec)
		require.Len(t, got.Results, 2)
		for _, r := range got.Results {
			assert.False(t, r.Allow)
			assert.Equal(t, "store_unavailable", r.Error)
		}
	})
	t.Run("down/ready is 503 with the reason", func(t *testing.T) {
		e := requireError(t, h.call(http.MethodGet, "/ready", "", nil), http.StatusServiceUnavailable, "unavailable")
		assert.Contains(t, e.Error.Message, "store")
	})
	t.Run("down/health still answers", func(t *testing.T) {
		assert.Equal(t, http.StatusOK, h.call(http.MethodGet, "/health", "", nil).Code)
	})
	t.Run("down/metrics count the failed decisions", func(t *testing.T) {
		body := h.call(http.MethodGet, "/metrics", "", nil).Body.String()
		assert.Contains(t, body, `gatehouse_decisions_total{result="error"} 3`+"\n")
	})

	srv.Restart()
	require.Eventually(t, func() bool {
		return h.call(http.MethodGet, "/ready", "", nil).Code == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "gatehouse is ready again without a restart")

	t.Run("up/decisions allow again", func(t *testing.T) {
		got := h.decide("bob", "use", "acme")
		assert.True(t, got.Allow, got.Reasons)
		assert.Empty(t, got.Error)
	})
	t.Run("up/nothing was half-written", func(t *testing.T) {
		requireError(t, h.call(http.MethodGet, "/v1/users/zed", systemAdmin, nil), http.StatusNotFound, "not_found")
		requireError(t, h.call(http.MethodGet, "/v1/accounts/initech", systemAdmin, nil), http.StatusNotFound, "not_found")
		requireError(t, h.call(http.MethodGet, "/v1/accounts/acme/members/carl", systemAdmin, nil), http.StatusNotFound, "not_found")
		h.mustRead("/v1/accounts/acme/members/bob", systemAdmin)
		assert.Equal(t, "pending", h.mustRead("/v1/access-requests/"+acmeReq, "alice")["status"])
		assert.Empty(t, items(t, h.mustRead("/v1/me/access-requests?status=pending", "bob")))
		assert.Len(t, items(t, h.mustRead("/v1/audit?account=acme&limit=1000", systemAdmin)), auditBefore)
		assert.Len(t, items(t, h.mustRead("/v1/events?limit=1000", systemAdmin)), eventsBefore)
	})
	t.Run("up/writes work again", func(t *testing.T) {
		rec := h.call(http.MethodPut, "/v1/users/zed", systemAdmin, map[string]any{"email": "zed@example.com"})
		assert.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		got := h.mustWrite(http.MethodPost, "/v1/access-requests/"+acmeReq+"/approve", "alice",
			map[string]any{"scope": "account", "role": "account_viewer"})
		assert.Equal(t, "granted", got["status"])
	})
}
