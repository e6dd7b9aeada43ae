package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// PATCH /v1/accounts/{id}/members/{user} is a JSON merge patch: a
// secondary contact whose role changes keeps their contact type and
// privileges; null clears; PUT stays a full replacement (issue 9, R26, R30).
func TestPatchMemberMergesOnlyWhatIsSent(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			h := newHarness(t, kind.open(t))
			twoAccounts(h)
			path := "/v1/accounts/acme/members/carl"
			added := h.mustWrite(http.MethodPatch, path, "alice", map[string]any{
				"roles": []string{"account_user"}, "contact": "secondary",
				"privileges": map[string]string{"entitlements": "view"}, "justification": "billing contact",
			}, http.StatusCreated)
			assert.Equal(t, "secondary", added["contact"])

			changed := h.mustWrite(http.MethodPatch, path, "alice", map[string]any{"roles": []string{"account_viewer"}}, http.StatusOK)
			assert.Equal(t, []any{"account_viewer"}, changed["roles"])
			assert.Equal(t, "secondary", changed["contact"], "the contact type survives a role change")
			assert.Equal(t, map[string]any{"entitlements": "view"}, changed["privileges"], "the privileges survive a role change")
			assert.Equal(t, "billing contact", changed["justification"])
			read := h.mustRead(path, systemAdmin)
			assert.Equal(t, changed["contact"], read["contact"])
			assert.Equal(t, changed["privileges"], read["privileges"])

			cleared := h.mustWrite(http.MethodPatch, path, "alice", `{"privileges": null, "contact": null}`, http.StatusOK)
			assert.NotContains(t, cleared, "privileges")
			assert.NotContains(t, cleared, "contact")
			assert.Equal(t, []any{"account_viewer"}, cleared["roles"])

			// Refused like the PUT of the merged membership: nothing changes.
			e := requireError(t, h.call(http.MethodPatch, path, "alice", `{"roles": null}`), http.StatusUnprocessableEntity, "validation_failed")
			assert.Contains(t, e.Error.Message, "would hold no access")
			e = requireError(t, h.call(http.MethodPatch, path, "alice", `{"rolez": ["x"]}`), http.StatusBadRequest, "invalid_input")
			assert.Contains(t, e.Error.Message, "rolez")
			e = requireError(t, h.call(http.MethodPatch, path, "alice", `{"roles": "x"}`), http.StatusBadRequest, "invalid_input")
			assert.Contains(t, e.Error.Message, "roles")
			e = requireError(t, h.call(http.MethodPatch, path, "alice", `{"expires_at": "soon"}`), http.StatusBadRequest, "invalid_input")
			assert.Contains(t, e.Error.Message, "expires_at")
			requireError(t, h.call(http.MethodPatch, path, "carl", map[string]any{"roles": []string{"account_admin"}}), http.StatusForbidden, "forbidden")
			read = h.mustRead(path, systemAdmin)
			assert.Equal(t, []any{"account_viewer"}, read["roles"], "refused patches change nothing")

			// PUT replaces the whole membership.
			h.mustWrite(http.MethodPatch, path, "alice", map[string]any{"contact": "secondary"}, http.StatusOK)
			replaced := h.mustWrite(http.MethodPut, path, "alice", map[string]any{"roles": []string{"account_user"}}, http.StatusOK)
			assert.NotContains(t, replaced, "contact", "PUT is a full replacement")
			require.Equal(t, []any{"account_user"}, replaced["roles"])
		})
	}
}
