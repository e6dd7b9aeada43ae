package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
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

// R43: every read and command on an object of another account answers
// exactly as the same operation on an id that does not exist: same
// status, same code, same message, byte for byte once the two ids are
// written alike. A refusal that differed would tell that the object exists
// and whose it is.
func TestRefusalsOnOtherAccountsMatchUnknownIdsR43(t *testing.T) {
	for _, store := range storeKinds {
		t.Run(store.name, func(t *testing.T) {
			h := newHarness(t, store.open(t))
			_, globexReq := twoAccounts(h)
			// A reseller whose tm_admin may request tenant access (R35),
			// and a tenant request of globex's partner that acme cannot see.
			h.putAccount("classics", "")
			h.putUser("elizabeth", "classics")
			h.putUser("caroline", "classics")
			h.putMember("classics", "elizabeth", map[string]any{"roles": []string{"tm_admin"}})
			h.putAccount("partnered", "classics")
			tenantReqs := h.mustWrite(http.MethodPost, "/v1/tenant-access-requests", "elizabeth", map[string]any{
				"name": "Support", "associations": []map[string]any{{"users": []string{"caroline"}, "tenants": []string{"partnered"}}},
			}, http.StatusCreated)
			tenantReq := tenantReqs["requests"].([]any)[0].(map[string]any)["id"].(string)
			files, err := engine.ReadPolicyFiles(policies.FS())
			require.NoError(t, err)
			texts := map[string]string{}
			for name, content := range files {
				texts[name] = string(content)
			}
			pushed := h.mustWrite(http.MethodPut, "/v1/policies", systemAdmin, map[string]any{"files": texts}, http.StatusCreated)
			revision := pushed["revision"].(string)

			const (
				noAccount  = "nosuch-account"
				noRequest  = "01JNOSUCHREQUEST0000000000"
				noUser     = "nosuch-user"
				noRevision = "0123456789abcdef"
			)
			approve := map[string]any{"scope": "account", "role": "account_admin"}
			tests := []struct {
				name, who, method  string
				other, unknown     string // paths
				otherID, unknownID string
				body               any
			}{
				{"get account", "alice", "GET", "/v1/accounts/globex", "/v1/accounts/" + noAccount, "globex", noAccount, nil},
				{"put account", "alice", "PUT", "/v1/accounts/globex", "/v1/accounts/" + noAccount, "globex", noAccount, map[string]any{"name": "x"}},
				{"list members", "alice", "GET", "/v1/accounts/globex/members", "/v1/accounts/" + noAccount + "/members", "globex", noAccount, nil},
				{"get a member", "alice", "GET", "/v1/accounts/globex/members/gina", "/v1/accounts/" + noAccount + "/members/gina", "globex", noAccount, nil},
				{"get own membership", "alice", "GET", "/v1/accounts/globex/members/alice", "/v1/accounts/" + noAccount + "/members/alice", "globex", noAccount, nil},
				{"add self", "alice", "PUT", "/v1/accounts/globex/members/alice", "/v1/accounts/" + noAccount + "/members/alice", "globex", noAccount,
					map[string]any{"roles": []string{"account_admin"}, "justification": "takeover"}},
				{"change a member", "alice", "PUT", "/v1/accounts/globex/members/hank", "/v1/accounts/" + noAccount + "/members/hank", "globex", noAccount,
					map[string]any{"roles": []string{"account_admin"}, "justification": "promote"}},
				{"remove a member", "alice", "DELETE", "/v1/accounts/globex/members/hank", "/v1/accounts/" + noAccount + "/members/hank", "globex", noAccount, nil},
				{"list requests", "alice", "GET", "/v1/access-requests?account=globex", "/v1/access-requests?account=" + noAccount, "globex", noAccount, nil},
				{"audit", "alice", "GET", "/v1/audit?account=globex", "/v1/audit?account=" + noAccount, "globex", noAccount, nil},
				{"get a user", "alice", "GET", "/v1/users/gina", "/v1/users/" + noUser, "gina", noUser, nil},
				{"put a user", "alice", "PUT", "/v1/users/gina", "/v1/users/" + noUser, "gina", noUser,
					map[string]any{"email": "x@example.com", "first_name": "x", "last_name": "y"}},
				{"get request", "alice", "GET", "/v1/access-requests/" + globexReq, "/v1/access-requests/" + noRequest, globexReq, noRequest, nil},
				{"approve", "alice", "POST", "/v1/access-requests/" + globexReq + "/approve", "/v1/access-requests/" + noRequest + "/approve", globexReq, noRequest, approve},
				{"deny", "alice", "POST", "/v1/access-requests/" + globexReq + "/deny", "/v1/access-requests/" + noRequest + "/deny", globexReq, noRequest,
					map[string]any{"reason_code": "other"}},
				{"revoke", "alice", "POST", "/v1/access-requests/" + globexReq + "/revoke", "/v1/access-requests/" + noRequest + "/revoke", globexReq, noRequest, map[string]any{}},
				{"set expiry", "alice", "PATCH", "/v1/access-requests/" + globexReq, "/v1/access-requests/" + noRequest, globexReq, noRequest,
					map[string]any{"expires_at": nil}},
				{"a member of the account who may not see the request", "hank", "POST", "/v1/access-requests/" + globexReq + "/approve",
					"/v1/access-requests/" + noRequest + "/approve", globexReq, noRequest, approve},
				{"get a tenant request", "alice", "GET", "/v1/access-requests/" + tenantReq, "/v1/access-requests/" + noRequest, tenantReq, noRequest, nil},
				{"grant a tenant request", "alice", "POST", "/v1/access-requests/" + tenantReq + "/approve", "/v1/access-requests/" + noRequest + "/approve",
					tenantReq, noRequest, map[string]any{}},
				{"an employee named nowhere in the tenant request", "elizabeth", "POST", "/v1/access-requests/" + globexReq + "/deny",
					"/v1/access-requests/" + noRequest + "/deny", globexReq, noRequest, map[string]any{}},
				{"tenant request for another reseller's tenant", "elizabeth", "POST", "/v1/tenant-access-requests", "/v1/tenant-access-requests",
					"globex", noAccount, nil},
				{"tenant request naming another account's user", "elizabeth", "POST", "/v1/tenant-access-requests", "/v1/tenant-access-requests",
					"gina", noUser, nil},
				{"activate a policy revision", "alice", "POST", "/v1/policies/" + revision + "/activate", "/v1/policies/" + noRevision + "/activate",
					revision, noRevision, map[string]any{}},
			}
			tenantBody := func(tt string, id string) any {
				switch tt {
				case "tenant request for another reseller's tenant":
					return map[string]any{"name": "Probe", "associations": []map[string]any{{"users": []string{"caroline"}, "tenants": []string{id}}}}
				case "tenant request naming another account's user":
					return map[string]any{"name": "Probe", "associations": []map[string]any{{"users": []string{id}, "tenants": []string{"partnered"}}}}
				}
				return nil
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					otherBody, unknownBody := tt.body, tt.body
					if b := tenantBody(tt.name, tt.otherID); b != nil {
						otherBody, unknownBody = b, tenantBody(tt.name, tt.unknownID)
					}
					other := h.call(tt.method, tt.other, tt.who, otherBody)
					unknown := h.call(tt.method, tt.unknown, tt.who, unknownBody)
					require.GreaterOrEqual(t, other.Code, 400, "refused: %s", other.Body.String())
					assert.Equal(t, unknown.Code, other.Code, "same status\nother:   %s\nunknown: %s", other.Body.String(), unknown.Body.String())
					assert.Equal(t,
						strings.ReplaceAll(unknown.Body.String(), tt.unknownID, "<ID>"),
						strings.ReplaceAll(other.Body.String(), tt.otherID, "<ID>"),
						"same body once the ids are written alike")
					assert.Equal(t, unknown.Header().Get("Content-Type"), other.Header().Get("Content-Type"))
				})
			}
			assert.Equal(t, "pending", h.mustRead("/v1/access-requests/"+globexReq, systemAdmin)["status"], "nothing changed")
			assert.Equal(t, "pending", h.mustRead("/v1/access-requests/"+tenantReq, systemAdmin)["status"], "nothing changed")
		})
	}
}
