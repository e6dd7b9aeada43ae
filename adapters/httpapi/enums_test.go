package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// policyConfig is what the enumeration tests read of the built-in
// policy's data: a role, level or reason code added there is covered.
type policyConfig struct {
	AccountRoles         map[string][]string `json:"account_roles"`
	VirtualAccountRoles  map[string][]string `json:"virtual_account_roles"`
	Privileges           map[string][]string `json:"privileges"`
	ContactTypes         []string            `json:"contact_types"`
	TopLevelContactTypes []string            `json:"top_level_contact_types"`
	DenyReasonCodes      []string            `json:"deny_reason_codes"`
}

func readPolicyConfig(tb testing.TB) policyConfig {
	tb.Helper()
	raw, err := fs.ReadFile(policies.FS(), "data.json")
	require.NoError(tb, err)
	var data struct {
		Gatehouse struct {
			Config policyConfig `json:"config"`
		} `json:"gatehouse"`
	}
	require.NoError(tb, json.Unmarshal(raw, &data))
	cfg := data.Gatehouse.Config
	require.NotEmpty(tb, cfg.AccountRoles)
	require.NotEmpty(tb, cfg.Privileges)
	return cfg
}

// enumHarness is acme (va1, va2; admin alice, limits raised so that every
// contact type fits) and a fresh user per call of next.
type enumHarness struct {
	*harness
	n int
}

func newEnumHarness(t *testing.T) *enumHarness {
	h := newEmbeddedHarness(t)
	h.putUser("alice", "")
	h.mustWrite(http.MethodPut, "/v1/accounts/acme", systemAdmin, map[string]any{
		"name": "acme", "virtual_accounts": []string{"va1", "va2"},
		"settings": map[string]any{"max_primary_contacts": 1000, "max_secondary_contacts": 1000},
	})
	h.putMember("acme", "alice", map[string]any{"roles": []string{"account_admin"}, "contact": "primary"})
	return &enumHarness{harness: h}
}

// next creates a new user and returns its id.
func (h *enumHarness) next() string {
	h.n++
	id := fmt.Sprintf("u%d", h.n)
	h.putUser(id, "")
	return id
}

// request creates a pending request of a new user for acme.
func (h *enumHarness) request() string {
	user := h.next()
	r := h.mustWrite(http.MethodPost, "/v1/accounts/acme/access-requests", user, map[string]any{}, http.StatusCreated)
	return r["id"].(string)
}

// requireEnumRefusal requires a 422 whose message names the field, the
// value given and every value allowed.
func requireEnumRefusal(t *testing.T, rec interface {
	Result() *http.Response
}, body []byte, field, value string, allowed []string) {
	t.Helper()
	require.Equal(t, http.StatusUnprocessableEntity, rec.Result().StatusCode, string(body))
	var e errorAnswer
	require.NoError(t, json.Unmarshal(body, &e))
	require.Equal(t, "validation_failed", e.Error.Code)
	msg := e.Error.Message
	assert.Contains(t, msg, field, "names the field")
	assert.Contains(t, msg, "(it is "+value+")", "names the value")
	for _, a := range allowed {
		assert.Contains(t, msg, a, "names the allowed value %s", a)
	}
}

// Every enumerated value the policy's data names is accepted in a member
// PUT, and any other is refused with a 422 naming the field, the value and
// the allowed values (R1, R2, R5, R10; API.md: contact primary, secondary
// or none).
func TestMemberEnumerationsFollowThePolicyData(t *testing.T) {
	cfg := readPolicyConfig(t)
	h := newEnumHarness(t)
	put := func(body map[string]any) (string, int, []byte) {
		user := h.next()
		body["justification"] = "enumeration test"
		rec := h.call(http.MethodPut, "/v1/accounts/acme/members/"+user, "alice", body)
		return user, rec.Code, rec.Body.Bytes()
	}
	accepted := map[string]map[string]any{}
	for role := range cfg.AccountRoles {
		accepted["role "+role] = map[string]any{"roles": []string{role}}
	}
	for role := range cfg.VirtualAccountRoles {
		accepted["va role "+role] = map[string]any{"va_roles": map[string]string{"va1": role}}
	}
	for _, contact := range append(slices.Clone(cfg.ContactTypes), "none", "") {
		accepted["contact "+contact] = map[string]any{"roles": []string{"account_viewer"}, "contact": contact}
	}
	for app, levels := range cfg.Privileges {
		for _, level := range levels {
			accepted["privilege "+app+"="+level] = map[string]any{"contact": "secondary", "privileges": map[string]string{app: level}}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(accepted)) {
		t.Run("accepts "+name, func(t *testing.T) {
			user, status, body := put(accepted[name])
			require.Equal(t, http.StatusCreated, status, string(body))
			if c, ok := accepted[name]["contact"].(string); ok && (c == "none" || c == "") {
				got := h.mustRead("/v1/accounts/acme/members/"+user, "alice")
				assert.NotContains(t, got, "contact", "none is stored as no contact type")
			}
		})
	}

	roles, vaRoles := slices.Sorted(maps.Keys(cfg.AccountRoles)), slices.Sorted(maps.Keys(cfg.VirtualAccountRoles))
	refused := []struct {
		name, field, value string
		body               map[string]any
		allowed            []string
	}{
		{"unknown role", "roles[1]", "account_owner", map[string]any{"roles": []string{"account_viewer", "account_owner"}}, roles},
		{"role with a space", "roles[0]", "account admin", map[string]any{"roles": []string{"account admin"}}, roles},
		{"unknown va role", "va_roles.va1", "va_boss", map[string]any{"va_roles": map[string]string{"va1": "va_boss"}}, vaRoles},
		{"unknown contact", "contact", "tertiary", map[string]any{"roles": []string{"account_viewer"}, "contact": "tertiary"}, cfg.ContactTypes},
		{"contact None", "contact", "None", map[string]any{"roles": []string{"account_viewer"}, "contact": "None"}, cfg.ContactTypes},
		{"unknown level", "privileges.entitlements", "full", map[string]any{"privileges": map[string]string{"entitlements": "full"}}, cfg.Privileges["entitlements"]},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			user := h.next()
			tt.body["justification"] = "enumeration test"
			rec := h.call(http.MethodPut, "/v1/accounts/acme/members/"+user, "alice", tt.body)
			requireEnumRefusal(t, rec, rec.Body.Bytes(), tt.field, tt.value, tt.allowed)
		})
	}
	t.Run("refuses an unknown application", func(t *testing.T) {
		rec := h.call(http.MethodPut, "/v1/accounts/acme/members/"+h.next(), "alice",
			map[string]any{"privileges": map[string]string{"teleport": "view"}, "justification": "j"})
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
		msg := decodeAs[errorAnswer](t, rec).Error.Message
		assert.Contains(t, msg, "privileges")
		assert.Contains(t, msg, "teleport")
		for app := range cfg.Privileges {
			assert.Contains(t, msg, app)
		}
	})
}

// Every enumerated value the policy's data names is accepted in an
// approval (scope account with each account role, scope virtual_accounts
// with each virtual-account role, contact secondary or none, each
// privilege level) and in a denial (each reason code); any other is
// refused with a 422 naming the field, the value and the allowed values
// (R22-R24).
func TestApprovalAndDenialEnumerationsFollowThePolicyData(t *testing.T) {
	cfg := readPolicyConfig(t)
	h := newEnumHarness(t)
	approvals := map[string]map[string]any{}
	for role := range cfg.AccountRoles {
		approvals["scope account, role "+role] = map[string]any{"scope": "account", "role": role}
	}
	for role := range cfg.VirtualAccountRoles {
		approvals["scope virtual_accounts, role "+role] = map[string]any{"scope": "virtual_accounts", "role": role, "virtual_accounts": []string{"va1", "va2"}}
	}
	var approvalContacts []string
	for _, c := range cfg.ContactTypes {
		if !slices.Contains(cfg.TopLevelContactTypes, c) {
			approvalContacts = append(approvalContacts, c)
		}
	}
	for _, contact := range append(slices.Clone(approvalContacts), "none", "") {
		approvals["contact "+contact] = map[string]any{"scope": "account", "role": "account_viewer", "contact": contact}
	}
	for app, levels := range cfg.Privileges {
		for _, level := range levels {
			approvals["privilege "+app+"="+level] = map[string]any{"contact": "secondary", "privileges": map[string]string{app: level}}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(approvals)) {
		t.Run("approve accepts "+name, func(t *testing.T) {
			h.mustWrite(http.MethodPost, "/v1/access-requests/"+h.request()+"/approve", "alice", approvals[name], http.StatusOK)
		})
	}
	for _, code := range cfg.DenyReasonCodes {
		t.Run("deny accepts "+code, func(t *testing.T) {
			h.mustWrite(http.MethodPost, "/v1/access-requests/"+h.request()+"/deny", "alice", map[string]any{"reason_code": code}, http.StatusOK)
		})
	}

	refused := []struct {
		name, path, field, value string
		body                     map[string]any
		allowed                  []string
	}{
		{"scope", "approve", "scope", "galaxy", map[string]any{"scope": "galaxy", "role": "account_user"}, []string{"account", "virtual_accounts"}},
		{"account role", "approve", "role", "va_user", map[string]any{"scope": "account", "role": "va_user"}, slices.Sorted(maps.Keys(cfg.AccountRoles))},
		{"va role", "approve", "role", "account_user",
			map[string]any{"scope": "virtual_accounts", "role": "account_user", "virtual_accounts": []string{"va1"}}, slices.Sorted(maps.Keys(cfg.VirtualAccountRoles))},
		{"virtual account", "approve", "virtual_accounts[1]", "va9",
			map[string]any{"scope": "virtual_accounts", "role": "va_user", "virtual_accounts": []string{"va1", "va9"}}, []string{"va1", "va2"}},
		{"contact primary", "approve", "contact", "primary", map[string]any{"scope": "account", "role": "account_user", "contact": "primary"}, approvalContacts},
		{"level", "approve", "privileges.reporting", "update", map[string]any{"privileges": map[string]string{"reporting": "update"}}, cfg.Privileges["reporting"]},
		{"reason code", "deny", "reason_code", "grumpy", map[string]any{"reason_code": "grumpy"}, cfg.DenyReasonCodes},
	}
	for _, tt := range refused {
		t.Run(tt.path+" refuses "+tt.name, func(t *testing.T) {
			id := h.request()
			rec := h.call(http.MethodPost, "/v1/access-requests/"+id+"/"+tt.path, "alice", tt.body)
			requireEnumRefusal(t, rec, rec.Body.Bytes(), tt.field, tt.value, tt.allowed)
			assert.Equal(t, "pending", h.mustRead("/v1/access-requests/"+id, "alice")["status"], "nothing changed")
		})
	}
}

// R39a: every request status filters both listings; another status is
// refused naming the value and the statuses.
func TestStatusFilterEnumeration(t *testing.T) {
	h := newEnumHarness(t)
	h.request()
	statuses := []string{engine.StatusPending, engine.StatusGranted, engine.StatusDenied, engine.StatusExpired, engine.StatusRevoked}
	for _, status := range statuses {
		t.Run(status, func(t *testing.T) {
			h.mustRead("/v1/access-requests?account=acme&status="+status, "alice")
			h.mustRead("/v1/me/access-requests?status="+status, "u1")
		})
	}
	for _, path := range []string{"/v1/access-requests?account=acme&status=Pending", "/v1/me/access-requests?status=Pending"} {
		e := requireError(t, h.call(http.MethodGet, path, "alice", nil), http.StatusBadRequest, "invalid_input")
		assert.Contains(t, e.Error.Message, "status")
		assert.Contains(t, e.Error.Message, `(it is "Pending")`)
		for _, s := range statuses {
			assert.Contains(t, e.Error.Message, s)
		}
	}
}
