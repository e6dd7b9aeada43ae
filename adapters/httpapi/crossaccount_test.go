package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// R43: an admin of acme can neither see nor change anything of globex, on
// any endpoint; the answer is 403 (or 404 where existence must not leak)
// and carries none of globex's data.
func TestNoDataLeaksAcrossAccountsR43(t *testing.T) {
	h := newEmbeddedHarness(t)
	_, globexReq := twoAccounts(h)
	auditBefore := len(items(t, h.mustRead("/v1/audit?account=globex&limit=1000", systemAdmin)))

	secrets := []string{"gina", "hank", "I work on globex", "vg1"}
	tests := []struct {
		name, method, path string
		body               any
	}{
		{"get account", http.MethodGet, "/v1/accounts/globex", nil},
		{"put account", http.MethodPut, "/v1/accounts/globex", map[string]any{"name": "mine now"}},
		{"list members", http.MethodGet, "/v1/accounts/globex/members", nil},
		{"get member", http.MethodGet, "/v1/accounts/globex/members/gina", nil},
		{"add self as admin", http.MethodPut, "/v1/accounts/globex/members/alice",
			map[string]any{"roles": []string{"account_admin"}, "justification": "takeover"}},
		{"change a member", http.MethodPut, "/v1/accounts/globex/members/hank",
			map[string]any{"roles": []string{"account_admin"}, "justification": "promote"}},
		{"remove a member", http.MethodDelete, "/v1/accounts/globex/members/hank", nil},
		{"list requests", http.MethodGet, "/v1/access-requests?account=globex", nil},
		{"get request", http.MethodGet, "/v1/access-requests/" + globexReq, nil},
		{"approve", http.MethodPost, "/v1/access-requests/" + globexReq + "/approve",
			map[string]any{"scope": "account", "role": "account_admin"}},
		{"deny", http.MethodPost, "/v1/access-requests/" + globexReq + "/deny", map[string]any{"reason_code": "other"}},
		{"revoke", http.MethodPost, "/v1/access-requests/" + globexReq + "/revoke", map[string]any{}},
		{"set expiry", http.MethodPatch, "/v1/access-requests/" + globexReq, map[string]any{"expires_at": nil}},
		{"audit", http.MethodGet, "/v1/audit?account=globex", nil},
		{"get a user of globex", http.MethodGet, "/v1/users/gina", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.call(tt.method, tt.path, "alice", tt.body)
			require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, rec.Code, rec.Body.String())
			requireError(t, rec, rec.Code, map[int]string{http.StatusForbidden: "forbidden", http.StatusNotFound: "not_found"}[rec.Code])
			for _, s := range secrets {
				if !strings.Contains(tt.path, s) {
					assert.NotContains(t, rec.Body.String(), s)
				}
			}
		})
	}

	t.Run("events list only what concerns the caller", func(t *testing.T) {
		rec := h.call(http.MethodGet, "/v1/events?limit=1000", "alice", nil)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		for _, s := range append(secrets, "globex") {
			assert.NotContains(t, rec.Body.String(), s)
		}
		for _, e := range items(t, decodeAs[map[string]any](t, rec)) {
			assert.Contains(t, e["to"], "alice", "event %v", e)
		}
	})

	t.Run("nothing of globex changed", func(t *testing.T) {
		members := items(t, h.mustRead("/v1/accounts/globex/members", systemAdmin))
		byUser := map[string][]any{}
		for _, m := range members {
			byUser[m["user"].(string)] = m["roles"].([]any)
		}
		assert.Equal(t, map[string][]any{"gina": {"account_admin"}, "hank": {"account_viewer"}}, byUser)
		assert.Equal(t, "pending", h.mustRead("/v1/access-requests/"+globexReq, systemAdmin)["status"])
		assert.Equal(t, "globex", h.mustRead("/v1/accounts/globex", systemAdmin)["name"])
		assert.Len(t, items(t, h.mustRead("/v1/audit?account=globex&limit=1000", systemAdmin)), auditBefore)
	})

	t.Run("acme's admin still sees acme", func(t *testing.T) {
		members := items(t, h.mustRead("/v1/accounts/acme/members", "alice"))
		assert.Len(t, members, 2)
		body := h.call(http.MethodGet, "/v1/access-requests?account=acme", "alice", nil).Body.String()
		assert.False(t, strings.Contains(body, "globex"), body)
	})

	t.Run("a plain user of acme cannot decide or audit acme (R21)", func(t *testing.T) {
		for _, path := range []string{"/v1/access-requests?account=acme", "/v1/audit?account=acme"} {
			rec := h.call(http.MethodGet, path, "bob", nil)
			require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, rec.Code, rec.Body.String())
			assert.NotContains(t, rec.Body.String(), "I work on acme")
		}
	})

	t.Run("a requester cannot read another requester's list", func(t *testing.T) {
		list := items(t, h.mustRead("/v1/me/access-requests", "alice"))
		assert.Empty(t, list, "alice requested nothing; carl's requests are not hers")
	})
}
