package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// SPEC section 8, end to end over HTTP on both stores: the tenant request,
// its split per tenant (R36), the tenant's redacted view (R37), the grants
// (R38) and the impersonation decisions before and after them (R39).
func TestSection8WorkedExample(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h := newHarness(t, kind.open(t))
			impersonates := func(user, tenant string) bool {
				t.Helper()
				configure := h.decide(user, "impersonate.configure", tenant)
				support := h.decide(user, "impersonate.support", tenant)
				require.Equal(t, configure.Allow, support.Allow, "%s on %s: every method answers alike", user, tenant)
				return support.Allow
			}

			reqs := classics(h)

			// R36: one request per tenant, holding exactly its users.
			require.Len(t, reqs, 2)
			tomReq, acreReq := reqs["tom-sawyer"], reqs["hundred-acre"]
			mine := items(t, h.mustRead("/v1/me/access-requests?status=pending", "elizabeth"))
			require.Len(t, mine, 2)
			users := map[string][]any{}
			for _, r := range mine {
				assert.Equal(t, "SupportAccess", r["name"])
				assert.Equal(t, "tenant", r["kind"])
				assert.Equal(t, "elizabeth", r["requester"])
				users[r["account"].(string)] = r["users"].([]any)
			}
			assert.ElementsMatch(t, []any{"caroline", "charlotte"}, users["tom-sawyer"])
			assert.ElementsMatch(t, []any{"charlotte"}, users["hundred-acre"])

			// R37: the tenant sees the reseller, the message and the dates, not the name nor the users.
			incoming := items(t, h.mustRead("/v1/access-requests?account=tom-sawyer&status=pending", "tom"))
			require.Len(t, incoming, 1)
			assert.Equal(t, tomReq, incoming[0]["id"])
			assert.Equal(t, "classics", incoming[0]["partner"])
			assert.NotEmpty(t, incoming[0]["created_at"])
			assert.NotContains(t, incoming[0], "name")
			assert.NotContains(t, incoming[0], "users")
			one := h.mustRead("/v1/access-requests/"+tomReq, "tom")
			assert.NotContains(t, one, "name")
			assert.NotContains(t, one, "users")

			// R39: before any grant the legacy method works for partner roles.
			assert.True(t, impersonates("jane", "tom-sawyer"), "jane holds impersonator at classics")
			assert.True(t, impersonates("jane", "hundred-acre"))
			assert.False(t, impersonates("caroline", "tom-sawyer"), "caroline holds no partner role")

			// tom-sawyer's admin grants theirs.
			granted := h.mustWrite(http.MethodPost, "/v1/access-requests/"+tomReq+"/approve", "tom",
				map[string]any{"message": "go ahead"})
			assert.Equal(t, "granted", granted["status"])
			assert.True(t, impersonates("caroline", "tom-sawyer"))
			assert.True(t, impersonates("charlotte", "tom-sawyer"))
			assert.False(t, impersonates("jane", "tom-sawyer"), "tom-sawyer is exclusive now")
			assert.True(t, impersonates("jane", "hundred-acre"), "hundred-acre has granted nothing yet")
			assert.False(t, impersonates("charlotte", "hundred-acre"), "charlotte's hundred-acre request is pending")

			// hundred-acre grants its request: only charlotte may.
			h.mustWrite(http.MethodPost, "/v1/access-requests/"+acreReq+"/approve", "pooh", map[string]any{})
			assert.True(t, impersonates("charlotte", "hundred-acre"))
			assert.False(t, impersonates("jane", "hundred-acre"))
			assert.False(t, impersonates("caroline", "hundred-acre"))

			// R39a: the requester lists the granted tenants with the admin's message.
			done := items(t, h.mustRead("/v1/me/access-requests?status=granted", "elizabeth"))
			require.Len(t, done, 2)
			for _, r := range done {
				if r["account"] == "tom-sawyer" {
					assert.Equal(t, "go ahead", r["message"])
				}
			}
		})
	}
}
