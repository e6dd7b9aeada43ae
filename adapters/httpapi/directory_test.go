package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// R32: system administrators create users and accounts; PUT answers 201
// when it creates and 200 when it changes.
func TestDirectoryBySystemAdminR32(t *testing.T) {
	h := newEmbeddedHarness(t)
	h.putAccount("classics", "")

	user := map[string]any{"email": "alice@example.com", "first_name": "Alice", "last_name": "Liddell", "organization": "classics"}
	rec := h.call(http.MethodPut, "/v1/users/alice", systemAdmin, user)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	got := decodeAs[map[string]any](t, rec)
	assert.Equal(t, "alice", got["id"])
	assert.Equal(t, "classics", got["organization"])
	assert.NotEmpty(t, got["created_at"])

	user["last_name"] = "Hargreaves"
	rec = h.call(http.MethodPut, "/v1/users/alice", systemAdmin, user)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got = h.mustRead("/v1/users/alice", systemAdmin)
	assert.Equal(t, "Hargreaves", got["last_name"])

	account := map[string]any{"name": "Acme", "virtual_accounts": []string{"va1", "va2"}, "settings": map[string]any{"max_secondary_contacts": 2}}
	rec = h.call(http.MethodPut, "/v1/accounts/acme", systemAdmin, account)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	rec = h.call(http.MethodPut, "/v1/accounts/acme", systemAdmin, account)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got = h.mustRead("/v1/accounts/acme", systemAdmin)
	assert.Equal(t, "Acme", got["name"])
	assert.Equal(t, []any{"va1", "va2"}, got["virtual_accounts"])
	assert.Equal(t, map[string]any{"max_secondary_contacts": float64(2)}, got["settings"])

	t.Run("unknown user is a 404", func(t *testing.T) {
		requireError(t, h.call(http.MethodGet, "/v1/users/nobody", systemAdmin, nil), http.StatusNotFound, "not_found")
	})
	t.Run("unknown account is a 404", func(t *testing.T) {
		requireError(t, h.call(http.MethodGet, "/v1/accounts/nowhere", systemAdmin, nil), http.StatusNotFound, "not_found")
	})
}

// R32: other callers may not create users or accounts (403), and nothing changes.
func TestDirectoryByOthersIsForbiddenR32(t *testing.T) {
	h := newEmbeddedHarness(t)
	h.putUser("alice", "")
	h.putAccount("acme", "")
	h.putMember("acme", "alice", map[string]any{"roles": []string{"account_admin"}, "contact": "primary"})

	rec := h.call(http.MethodPut, "/v1/users/mallory", "alice", map[string]any{"email": "m@example.com"})
	requireError(t, rec, http.StatusForbidden, "forbidden")
	requireError(t, h.call(http.MethodGet, "/v1/users/mallory", systemAdmin, nil), http.StatusNotFound, "not_found")

	rec = h.call(http.MethodPut, "/v1/accounts/acme", "alice", map[string]any{"name": "Renamed"})
	requireError(t, rec, http.StatusForbidden, "forbidden")
	assert.Equal(t, "acme", h.mustRead("/v1/accounts/acme", systemAdmin)["name"])

	rec = h.call(http.MethodPut, "/v1/accounts/newco", "alice", map[string]any{"name": "New"})
	requireError(t, rec, http.StatusForbidden, "forbidden")
}

// R44: bad directory input is a 400 naming the field; nothing changes.
func TestDirectoryBadInputR44(t *testing.T) {
	h := newEmbeddedHarness(t)
	tests := []struct {
		name, method, path, body, field string
	}{
		{"unknown user field", http.MethodPut, "/v1/users/alice", `{"email":"a@example.com","password":"x"}`, "password"},
		{"email of the wrong type", http.MethodPut, "/v1/users/alice", `{"email":42}`, "email"},
		{"bad email", http.MethodPut, "/v1/users/alice", `{"email":"not an email"}`, "email"},
		{"bad organization id", http.MethodPut, "/v1/users/alice", `{"email":"a@example.com","organization":"a b"}`, "organization"},
		{"bad user id in the path", http.MethodPut, "/v1/users/al%20ice", `{"email":"a@example.com"}`, "id"},
		{"user id too long", http.MethodGet, "/v1/users/" + strings.Repeat("a", 129), ``, "id"},
		{"empty user body", http.MethodPut, "/v1/users/alice", ``, "body"},
		{"user body not an object", http.MethodPut, "/v1/users/alice", `"alice"`, "body"},
		{"unknown account field", http.MethodPut, "/v1/accounts/acme", `{"name":"Acme","owner":"x"}`, "owner"},
		{"virtual accounts not a list", http.MethodPut, "/v1/accounts/acme", `{"name":"Acme","virtual_accounts":"va1"}`, "virtual_accounts"},
		{"bad virtual account id", http.MethodPut, "/v1/accounts/acme", `{"name":"Acme","virtual_accounts":["ok","no way"]}`, "virtual_accounts[1]"},
		{"bad partner id", http.MethodPut, "/v1/accounts/acme", `{"name":"Acme","partner":"x/y"}`, "partner"},
		{"settings not an object", http.MethodPut, "/v1/accounts/acme", `{"name":"Acme","settings":[]}`, "settings"},
		{"missing account name", http.MethodPut, "/v1/accounts/acme", `{}`, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			e := requireError(t, h.call(tt.method, tt.path, systemAdmin, body), http.StatusBadRequest, "invalid_input")
			assert.True(t, strings.HasPrefix(e.Error.Message, tt.field+":"), "%q names %q", e.Error.Message, tt.field)
		})
	}
	requireError(t, h.call(http.MethodGet, "/v1/users/alice", systemAdmin, nil), http.StatusNotFound, "not_found")
	requireError(t, h.call(http.MethodGet, "/v1/accounts/acme", systemAdmin, nil), http.StatusNotFound, "not_found")
}

// R26, R31, R32: members managed over HTTP by a system administrator.
func TestMembersBySystemAdmin(t *testing.T) {
	h := newEmbeddedHarness(t)
	h.putUser("alice", "")
	h.putUser("bob", "")
	h.putAccount("acme", "", "va1")

	body := map[string]any{"roles": []string{"account_admin"}, "contact": "primary", "justification": "first admin"}
	rec := h.call(http.MethodPut, "/v1/accounts/acme/members/alice", systemAdmin, body)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	got := decodeAs[map[string]any](t, rec)
	assert.Equal(t, "acme", got["account"])
	assert.Equal(t, "alice", got["user"])
	assert.Equal(t, []any{"account_admin"}, got["roles"])
	assert.Equal(t, systemAdmin, got["added_by"])

	bobBody := map[string]any{
		"roles": []string{}, "va_roles": map[string]string{"va1": "va_viewer"},
		"privileges": map[string]string{"entitlements": "view"}, "justification": "needs va1",
	}
	rec = h.call(http.MethodPut, "/v1/accounts/acme/members/bob", systemAdmin, bobBody)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	bobBody["roles"] = []string{"account_user"}
	rec = h.call(http.MethodPut, "/v1/accounts/acme/members/bob", systemAdmin, bobBody)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	list := items(t, h.mustRead("/v1/accounts/acme/members", systemAdmin))
	users := []string{}
	for _, m := range list {
		users = append(users, m["user"].(string))
	}
	assert.ElementsMatch(t, []string{"alice", "bob"}, users)

	got = h.mustRead("/v1/accounts/acme/members/bob", systemAdmin)
	assert.Equal(t, []any{"account_user"}, got["roles"])
	assert.Equal(t, map[string]any{"va1": "va_viewer"}, got["va_roles"])
	assert.True(t, h.decide("bob", "use", "acme").Allow)

	rec = h.call(http.MethodDelete, "/v1/accounts/acme/members/bob", systemAdmin, nil)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	assert.Empty(t, rec.Body.String())
	requireError(t, h.call(http.MethodGet, "/v1/accounts/acme/members/bob", systemAdmin, nil), http.StatusNotFound, "not_found")
	assert.False(t, h.decide("bob", "use", "acme").Allow)

	t.Run("R31 a user that does not exist is a 404 and changes nothing", func(t *testing.T) {
		rec := h.call(http.MethodPut, "/v1/accounts/acme/members/ghost", systemAdmin,
			map[string]any{"roles": []string{"account_user"}, "justification": "x"})
		e := requireError(t, rec, http.StatusNotFound, "not_found")
		assert.Contains(t, e.Error.Message, "does not exist")
		assert.Len(t, items(t, h.mustRead("/v1/accounts/acme/members", systemAdmin)), 1)
	})

	t.Run("R12 the last primary contact and admin cannot be removed", func(t *testing.T) {
		rec := h.call(http.MethodDelete, "/v1/accounts/acme/members/alice", systemAdmin, nil)
		e := requireError(t, rec, http.StatusUnprocessableEntity, "validation_failed")
		assert.NotEmpty(t, e.Error.Violations)
		h.mustRead("/v1/accounts/acme/members/alice", systemAdmin)
	})

	t.Run("R44 bad member input names the field", func(t *testing.T) {
		tests := []struct{ name, body, field string }{
			{"unknown field", `{"roles":[],"admin":true}`, "admin"},
			{"roles not a list", `{"roles":"account_user"}`, "roles"},
			{"va_roles values not strings", `{"va_roles":{"va1":1}}`, "va_roles"},
			{"va id too long", `{"va_roles":{"` + strings.Repeat("v", 129) + `":"va_viewer"}}`, "va_roles"},
			{"bad expiry", `{"roles":["account_user"],"justification":"x","expires_at":"tomorrow"}`, "expires_at"},
			{"empty body", ``, "body"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var body any
				if tt.body != "" {
					body = tt.body
				}
				e := requireError(t, h.call(http.MethodPut, "/v1/accounts/acme/members/bob", systemAdmin, body),
					http.StatusBadRequest, "invalid_input")
				assert.True(t, strings.HasPrefix(e.Error.Message, tt.field+":"), "%q names %q", e.Error.Message, tt.field)
			})
		}
		requireError(t, h.call(http.MethodGet, "/v1/accounts/acme/members/bob", systemAdmin, nil), http.StatusNotFound, "not_found")
	})
}
