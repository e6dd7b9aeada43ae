package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// R20-R25: an account access request requested, listed, approved once.
func TestAccountRequestFlow(t *testing.T) {
	h := newEmbeddedHarness(t)
	acmeReq, _ := twoAccounts(h)

	t.Run("R20 the request is pending and names its requester", func(t *testing.T) {
		got := h.mustRead("/v1/access-requests/"+acmeReq, "carl")
		assert.Equal(t, "account", got["kind"])
		assert.Equal(t, "acme", got["account"])
		assert.Equal(t, "carl", got["requester"])
		assert.Equal(t, "pending", got["status"])
		assert.Equal(t, "I work on acme", got["justification"])
		assert.NotEmpty(t, got["created_at"])
		assert.NotContains(t, got, "decided_by")
	})

	t.Run("R20 a second pending request is refused", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/accounts/acme/access-requests", "carl", `{}`)
		require.Contains(t, []int{http.StatusConflict, http.StatusUnprocessableEntity}, rec.Code, rec.Body.String())
	})

	t.Run("deciders list pending requests", func(t *testing.T) {
		list := items(t, h.mustRead("/v1/access-requests?account=acme&status=pending", "alice"))
		require.Len(t, list, 1)
		assert.Equal(t, acmeReq, list[0]["id"])
		assert.Empty(t, items(t, h.mustRead("/v1/access-requests?account=acme&status=granted", "alice")))
	})

	t.Run("R21 a plain user may not approve", func(t *testing.T) {
		// bob may not see the request: it is unknown to him (R43).
		rec := h.call(http.MethodPost, "/v1/access-requests/"+acmeReq+"/approve", "bob",
			map[string]any{"scope": "account", "role": "account_viewer"})
		requireError(t, rec, http.StatusNotFound, "not_found")
		// The requester sees it, and may not decide it (R21).
		rec = h.call(http.MethodPost, "/v1/access-requests/"+acmeReq+"/approve", "carl",
			map[string]any{"scope": "account", "role": "account_viewer"})
		requireError(t, rec, http.StatusForbidden, "forbidden")
	})

	t.Run("R22 a mismatched approval is a 422 with violations", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/access-requests/"+acmeReq+"/approve", "alice",
			map[string]any{"scope": "virtual_accounts", "role": "va_viewer", "virtual_accounts": []string{"nope"}})
		e := requireError(t, rec, http.StatusUnprocessableEntity, "validation_failed")
		assert.NotEmpty(t, e.Error.Violations)
	})

	t.Run("approval grants access", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/access-requests/"+acmeReq+"/approve", "alice",
			map[string]any{"scope": "account", "role": "account_viewer", "message": "welcome"})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := decodeAs[map[string]any](t, rec)
		assert.Equal(t, "granted", got["status"])
		assert.Equal(t, "alice", got["decided_by"])
		assert.NotEmpty(t, got["decided_at"])
		assert.Equal(t, "welcome", got["message"])
		assert.True(t, h.decide("carl", "view", "acme").Allow)
		assert.False(t, h.decide("carl", "use", "acme").Allow)
	})

	t.Run("R25 deciding twice is a 409", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/access-requests/"+acmeReq+"/approve", "alice",
			map[string]any{"scope": "account", "role": "account_admin"})
		requireError(t, rec, http.StatusConflict, "conflict")
		rec = h.call(http.MethodPost, "/v1/access-requests/"+acmeReq+"/deny", "alice", map[string]any{"reason_code": "other"})
		requireError(t, rec, http.StatusConflict, "conflict")
		assert.False(t, h.decide("carl", "manage", "acme").Allow)
	})

	t.Run("the requester sees their requests by status (R39a)", func(t *testing.T) {
		granted := items(t, h.mustRead("/v1/me/access-requests?status=granted", "carl"))
		require.Len(t, granted, 1)
		assert.Equal(t, acmeReq, granted[0]["id"])
		pending := items(t, h.mustRead("/v1/me/access-requests?status=pending", "carl"))
		require.Len(t, pending, 1)
		assert.Equal(t, "globex", pending[0]["account"])
	})
}

// R25: when two deciders race, exactly one decides; the other gets a 409.
func TestConcurrentDecidersR25(t *testing.T) {
	h := newEmbeddedHarness(t)
	acmeReq, _ := twoAccounts(h)
	h.putUser("dora", "")
	h.putMember("acme", "dora", map[string]any{"roles": []string{"account_admin"}})

	codes := make(chan int, 2)
	var wg sync.WaitGroup
	for _, decider := range []string{"alice", "dora"} {
		wg.Go(func() {
			codes <- h.call(http.MethodPost, "/v1/access-requests/"+acmeReq+"/approve", decider,
				map[string]any{"scope": "account", "role": "account_viewer"}).Code
		})
	}
	wg.Wait()
	close(codes)
	got := []int{}
	for c := range codes {
		got = append(got, c)
	}
	assert.ElementsMatch(t, []int{http.StatusOK, http.StatusConflict}, got)
	audit := items(t, h.mustRead("/v1/audit?account=acme&limit=1000", "alice"))
	grants := 0
	for _, r := range audit {
		if r["action"] == "request.granted" {
			grants++
		}
	}
	assert.Equal(t, 1, grants, "one grant, one audit record")
}

// R24: denial with a reason code; an unknown code is refused.
func TestDenyR24(t *testing.T) {
	h := newEmbeddedHarness(t)
	acmeReq, _ := twoAccounts(h)

	rec := h.call(http.MethodPost, "/v1/access-requests/"+acmeReq+"/deny", "alice",
		map[string]any{"reason_code": "because", "message": "no"})
	e := requireError(t, rec, http.StatusUnprocessableEntity, "validation_failed")
	assert.NotEmpty(t, e.Error.Violations)

	rec = h.call(http.MethodPost, "/v1/access-requests/"+acmeReq+"/deny", "alice",
		map[string]any{"reason_code": "no_business_relationship", "message": "we do not know you"})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := decodeAs[map[string]any](t, rec)
	assert.Equal(t, "denied", got["status"])
	assert.Equal(t, "no_business_relationship", got["reason_code"])
	assert.Equal(t, "we do not know you", got["message"])
	assert.False(t, h.decide("carl", "view", "acme").Allow)
}

// R44: bad request-command input is a 400 naming the field.
func TestRequestCommandsBadInputR44(t *testing.T) {
	h := newEmbeddedHarness(t)
	acmeReq, _ := twoAccounts(h)
	tests := []struct {
		name, method, path, body, field string
	}{
		{"approve unknown field", http.MethodPost, "/v1/access-requests/" + acmeReq + "/approve", `{"scope":"account","rol":"x"}`, "rol"},
		{"approve role of the wrong type", http.MethodPost, "/v1/access-requests/" + acmeReq + "/approve", `{"role":["a"]}`, "role"},
		{"approve bad virtual account id", http.MethodPost, "/v1/access-requests/" + acmeReq + "/approve", `{"virtual_accounts":["` + strings.Repeat("v", 129) + `"]}`, "virtual_accounts[0]"},
		{"approve bad expiry", http.MethodPost, "/v1/access-requests/" + acmeReq + "/approve", `{"expires_at":"2026-13-01"}`, "expires_at"},
		{"approve malformed JSON", http.MethodPost, "/v1/access-requests/" + acmeReq + "/approve", `{"scope":`, "body"},
		{"deny unknown field", http.MethodPost, "/v1/access-requests/" + acmeReq + "/deny", `{"reason":"x"}`, "reason"},
		{"revoke message of the wrong type", http.MethodPost, "/v1/access-requests/" + acmeReq + "/revoke", `{"message":1}`, "message"},
		{"patch without expires_at", http.MethodPatch, "/v1/access-requests/" + acmeReq, `{}`, "expires_at"},
		{"patch with a number", http.MethodPatch, "/v1/access-requests/" + acmeReq, `{"expires_at":5}`, "expires_at"},
		{"patch with a bad time", http.MethodPatch, "/v1/access-requests/" + acmeReq, `{"expires_at":"soon"}`, "expires_at"},
		// R44: forms time.Parse takes but RFC 3339 does not (found by fuzzing
		// against the OpenAPI contract).
		{"patch with a one-digit hour", http.MethodPatch, "/v1/access-requests/" + acmeReq, `{"expires_at":"2030-01-01T0:00:00Z"}`, "expires_at"},
		{"approve with a one-digit hour", http.MethodPost, "/v1/access-requests/" + acmeReq + "/approve", `{"scope":"account","role":"account_user","expires_at":"2030-01-01T00:0:00Z"}`, "expires_at"},
		{"patch with no body", http.MethodPatch, "/v1/access-requests/" + acmeReq, ``, "body"},
		{"bad request id", http.MethodGet, "/v1/access-requests/a%20b", ``, "id"},
		{"request list without account", http.MethodGet, "/v1/access-requests", ``, "account"},
		{"request list with a bad status", http.MethodGet, "/v1/access-requests?account=acme&status=open", ``, "status"},
		{"my requests with a bad status", http.MethodGet, "/v1/me/access-requests?status=x", ``, "status"},
		{"my requests with a bad limit", http.MethodGet, "/v1/me/access-requests?limit=0", ``, "limit"},
		{"tenant request unknown field", http.MethodPost, "/v1/tenant-access-requests", `{"name":"A","tenant":"x"}`, "tenant"},
		{"tenant request bad user id", http.MethodPost, "/v1/tenant-access-requests", `{"name":"A","associations":[{"users":["a b"],"tenants":["t"]}]}`, "associations[0].users[0]"},
		{"tenant request associations not a list", http.MethodPost, "/v1/tenant-access-requests", `{"name":"A","associations":{}}`, "associations"},
		{"access request justification not a string", http.MethodPost, "/v1/accounts/acme/access-requests", `{"justification":true}`, "justification"},
		{"audit without account", http.MethodGet, "/v1/audit", ``, "account"},
		{"audit with a bad limit", http.MethodGet, "/v1/audit?account=acme&limit=abc", ``, "limit"},
		{"audit with a huge limit", http.MethodGet, "/v1/audit?account=acme&limit=100000", ``, "limit"},
		{"events with a bad limit", http.MethodGet, "/v1/events?limit=-1", ``, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			e := requireError(t, h.call(tt.method, tt.path, "alice", body), http.StatusBadRequest, "invalid_input")
			assert.True(t, strings.HasPrefix(e.Error.Message, tt.field+":"), "%q names %q", e.Error.Message, tt.field)
		})
	}
	assert.Equal(t, "pending", h.mustRead("/v1/access-requests/"+acmeReq, "alice")["status"], "nothing changed")
}

func TestUnknownRequestIsA404(t *testing.T) {
	h := newEmbeddedHarness(t)
	twoAccounts(h)
	for _, path := range []string{"/v1/access-requests/nope", "/v1/access-requests/nope/approve"} {
		method := http.MethodGet
		if strings.HasSuffix(path, "approve") {
			method = http.MethodPost
		}
		requireError(t, h.call(method, path, systemAdmin, `{}`), http.StatusNotFound, "not_found")
	}
}

// R41: every change appends an audit record; the listing pages with "next".
func TestAuditAndEventsPaging(t *testing.T) {
	h := newEmbeddedHarness(t)
	acmeReq, _ := twoAccounts(h)
	h.mustWrite(http.MethodPost, "/v1/access-requests/"+acmeReq+"/approve", "alice",
		map[string]any{"scope": "account", "role": "account_viewer"})

	all := items(t, h.mustRead("/v1/audit?account=acme", "alice"))
	actions := []string{}
	for _, r := range all {
		actions = append(actions, r["action"].(string))
		assert.Equal(t, "acme", r["account"])
		assert.NotEmpty(t, r["policy_revision"])
	}
	assert.Contains(t, actions, "request.created")
	assert.Contains(t, actions, "request.granted")

	var paged []any
	after := ""
	for range len(all) + 1 {
		page := h.mustRead("/v1/audit?account=acme&limit=2&after="+after, "alice")
		got := items(t, page)
		for _, r := range got {
			paged = append(paged, r["id"])
		}
		next, _ := page["next"].(string)
		if next == "" {
			break
		}
		after = next
	}
	ids := []any{}
	for _, r := range all {
		ids = append(ids, r["id"])
	}
	assert.Equal(t, ids, paged, "paging by 2 returns the same records in the same order")

	events := h.mustRead("/v1/events?limit=1000", systemAdmin)
	types := []string{}
	for _, e := range items(t, events) {
		types = append(types, e["type"].(string))
	}
	assert.Contains(t, types, "request.granted")
	assert.NotContains(t, events, "next", "a page that is not full has no next cursor")
}

// R38: a granted tenant request's expiry can be set, changed and removed.
func TestTenantExpiryPatchR38(t *testing.T) {
	h := newEmbeddedHarness(t)
	reqs := classics(h)
	tom := reqs["tom-sawyer"]
	h.mustWrite(http.MethodPost, "/v1/access-requests/"+tom+"/approve", "tom", map[string]any{})

	at := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	got := h.mustWrite(http.MethodPatch, "/v1/access-requests/"+tom, "tom", map[string]any{"expires_at": rfc3339(at)})
	assert.Equal(t, rfc3339(at), got["expires_at"])
	got = h.mustWrite(http.MethodPatch, "/v1/access-requests/"+tom, "tom", `{"expires_at": null}`)
	assert.NotContains(t, got, "expires_at")

	rec := h.call(http.MethodPatch, "/v1/access-requests/"+tom, "caroline", map[string]any{"expires_at": rfc3339(at)})
	require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, rec.Code, rec.Body.String())

	got = h.mustWrite(http.MethodPost, "/v1/access-requests/"+tom+"/revoke", "tom", map[string]any{"message": "done"})
	assert.Equal(t, "revoked", got["status"])
	assert.False(t, h.decide("caroline", "impersonate.support", "tom-sawyer").Allow)
	rec = h.call(http.MethodPost, "/v1/access-requests/"+tom+"/approve", "tom", `{}`)
	requireError(t, rec, http.StatusConflict, "conflict")
}

// classics sets up the reseller of SPEC section 8 and submits elizabeth's
// SupportAccess request; it returns the created request ids by tenant.
func classics(h *harness) map[string]string {
	h.tb.Helper()
	h.putAccount("classics", "")
	h.putAccount("tom-sawyer", "classics")
	h.putAccount("hundred-acre", "classics")
	for _, u := range []string{"elizabeth", "caroline", "charlotte", "jane"} {
		h.putUser(u, "classics")
	}
	h.putUser("tom", "")
	h.putUser("pooh", "")
	h.putMember("classics", "elizabeth", map[string]any{"roles": []string{"tm_admin", "account_admin"}, "contact": "primary"})
	h.putMember("classics", "jane", map[string]any{"roles": []string{"impersonator"}})
	h.putMember("tom-sawyer", "tom", map[string]any{"roles": []string{"account_admin"}, "contact": "primary"})
	h.putMember("hundred-acre", "pooh", map[string]any{"roles": []string{"account_admin"}, "contact": "primary"})

	rec := h.call(http.MethodPost, "/v1/tenant-access-requests", "elizabeth", map[string]any{
		"name": "SupportAccess", "message": "support for the spring release",
		"associations": []any{
			map[string]any{"users": []string{"caroline"}, "tenants": []string{"tom-sawyer"}},
			map[string]any{"users": []string{"charlotte"}, "tenants": []string{"tom-sawyer", "hundred-acre"}},
		},
	})
	require.Equal(h.tb, http.StatusCreated, rec.Code, rec.Body.String())
	got := decodeAs[struct {
		Requests []map[string]any `json:"requests"`
	}](h.tb, rec)
	out := map[string]string{}
	for _, r := range got.Requests {
		require.Equal(h.tb, "pending", r["status"])
		require.NotEmpty(h.tb, r["users"], "the requester sees the users (R37)")
		out[fmt.Sprint(r["account"])] = fmt.Sprint(r["id"])
	}
	return out
}
