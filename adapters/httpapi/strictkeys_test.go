package httpapi_test

import (
	"encoding/json"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/policies"
)

// R44: a key given twice, or a field name in another case, is refused with
// 400 naming the field by its path, on every JSON endpoint and at every
// depth: encoding/json would keep the last "subject" and match "Subject"
// to subject, so a proxy in front could read another subject than the one
// decided. Nothing changes.
func TestDuplicateAndCaseVariantKeysAreRefusedR44(t *testing.T) {
	h := newEmbeddedHarness(t)
	acmeReq, _ := twoAccounts(h)
	auditBefore := len(items(t, h.mustRead("/v1/audit?account=acme&limit=1000", systemAdmin)))
	eventsBefore := len(items(t, h.mustRead("/v1/events?limit=1000", systemAdmin)))
	const decision = `"action":"use","resource":{"account":"acme"}`
	reqPath := "/v1/access-requests/" + acmeReq

	tests := []struct {
		name, method, path, sub, body string
		field                         string
	}{
		{"decision: subject twice", "POST", "/v1/decisions", "", `{"subject":"alice","subject":"bob",` + decision + `}`, "subject"},
		{"decision: Subject beside subject", "POST", "/v1/decisions", "", `{"subject":"alice","Subject":"bob",` + decision + `}`, "Subject"},
		{"decision: SUBJECT alone", "POST", "/v1/decisions", "", `{"SUBJECT":"alice",` + decision + `}`, "SUBJECT"},
		{"decision: escaped subject twice", "POST", "/v1/decisions", "", `{"subject":"alice","sub\u006aect":"bob",` + decision + `}`, "subject"},
		{"decision: resource.account twice", "POST", "/v1/decisions", "",
			`{"subject":"alice","action":"use","resource":{"account":"acme","account":"globex"}}`, "resource.account"},
		{"decision: resource.Account", "POST", "/v1/decisions", "",
			`{"subject":"alice","action":"use","resource":{"Account":"acme"}}`, "resource.Account"},
		{"decision: a context key twice", "POST", "/v1/decisions", "",
			`{"subject":"alice",` + decision + `,"context":{"ip":"1","ip":"2"}}`, "context.ip"},
		{"decision: a nested context key twice", "POST", "/v1/decisions", "",
			`{"subject":"alice",` + decision + `,"context":{"a":[{"b":1,"b":2}]}}`, "context.a[0].b"},
		{"batch: a check's subject twice", "POST", "/v1/decisions/batch", "",
			`{"checks":[{"subject":"alice",` + decision + `},{"subject":"alice","subject":"bob",` + decision + `}]}`, "checks[1].subject"},
		{"batch: Checks", "POST", "/v1/decisions/batch", "", `{"Checks":[]}`, "Checks"},
		{"data API: input key twice", "POST", "/v1/data/gatehouse/decision/result", "",
			`{"input":{"subject":"alice","subject":"bob"}}`, "input.subject"},
		{"data API: input twice", "POST", "/v1/data/gatehouse/decision/result", "", `{"input":{},"input":{}}`, "input"},
		{"user: email twice", "PUT", "/v1/users/dora", systemAdmin,
			`{"email":"d@example.com","email":"e@example.com","first_name":"D","last_name":"D"}`, "email"},
		{"user: Organization", "PUT", "/v1/users/dora", systemAdmin,
			`{"email":"d@example.com","first_name":"D","last_name":"D","Organization":"acme"}`, "Organization"},
		{"account: settings key twice", "PUT", "/v1/accounts/acme", systemAdmin,
			`{"name":"acme","virtual_accounts":["va1"],"settings":{"max_secondary_contacts":4,"max_secondary_contacts":400}}`, "settings.max_secondary_contacts"},
		{"account: Name", "PUT", "/v1/accounts/acme", systemAdmin, `{"Name":"acme","virtual_accounts":["va1"]}`, "Name"},
		{"member: roles twice", "PUT", "/v1/accounts/acme/members/carl", "alice",
			`{"roles":["account_viewer"],"roles":["account_admin"],"justification":"j"}`, "roles"},
		{"member: va_roles key twice", "PUT", "/v1/accounts/acme/members/carl", "alice",
			`{"va_roles":{"va1":"va_viewer","va1":"va_admin"},"justification":"j"}`, "va_roles.va1"},
		{"member: privileges key twice", "PUT", "/v1/accounts/acme/members/carl", "alice",
			`{"privileges":{"entitlements":"view","entitlements":"update"},"justification":"j"}`, "privileges.entitlements"},
		{"member: Contact", "PUT", "/v1/accounts/acme/members/carl", "alice",
			`{"roles":["account_viewer"],"Contact":"secondary","justification":"j"}`, "Contact"},
		{"access request: justification twice", "POST", "/v1/accounts/globex/access-requests", "bob",
			`{"justification":"a","justification":"b"}`, "justification"},
		{"tenant request: association users twice", "POST", "/v1/tenant-access-requests", "alice",
			`{"name":"X","associations":[{"users":["a"],"users":["b"],"tenants":["t"]}]}`, "associations[0].users"},
		{"tenant request: Name", "POST", "/v1/tenant-access-requests", "alice",
			`{"Name":"X","associations":[]}`, "Name"},
		{"approve: role twice", "POST", reqPath + "/approve", "alice",
			`{"scope":"account","role":"account_viewer","role":"account_admin"}`, "role"},
		{"approve: privileges key twice", "POST", reqPath + "/approve", "alice",
			`{"privileges":{"reporting":"none","reporting":"view"}}`, "privileges.reporting"},
		{"approve: Scope", "POST", reqPath + "/approve", "alice", `{"Scope":"account","role":"account_viewer"}`, "Scope"},
		{"deny: reason_code twice", "POST", reqPath + "/deny", "alice", `{"reason_code":"other","reason_code":"access_not_needed"}`, "reason_code"},
		{"deny: Reason_Code", "POST", reqPath + "/deny", "alice", `{"Reason_Code":"other"}`, "Reason_Code"},
		{"set expiry: expires_at twice", "PATCH", reqPath, "alice", `{"expires_at":null,"expires_at":"2030-01-01T00:00:00Z"}`, "expires_at"},
		{"revoke: message twice", "POST", reqPath + "/revoke", "alice", `{"message":"a","message":"b"}`, "message"},
		{"policy push: a file twice", "PUT", "/v1/policies", systemAdmin, `{"files":{"a.rego":"x","a.rego":"y"}}`, "files.a.rego"},
		{"policy push: Files", "PUT", "/v1/policies", systemAdmin, `{"Files":{}}`, "Files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.call(tt.method, tt.path, tt.sub, tt.body)
			if strings.HasPrefix(tt.path, "/v1/data/") {
				// OPA's path answers in OPA's shape: {"code", "message"}.
				require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
				e := decodeAs[struct{ Code, Message string }](t, rec)
				assert.Equal(t, "invalid_parameter", e.Code)
				assert.True(t, strings.HasPrefix(e.Message, tt.field+": "), "the message names %s: %s", tt.field, e.Message)
				return
			}
			e := requireError(t, rec, http.StatusBadRequest, "invalid_input")
			assert.True(t, strings.HasPrefix(e.Error.Message, tt.field+": "), "the message names %s: %s", tt.field, e.Error.Message)
		})
	}

	t.Run("nothing changed", func(t *testing.T) {
		assert.Len(t, items(t, h.mustRead("/v1/audit?account=acme&limit=1000", systemAdmin)), auditBefore)
		assert.Len(t, items(t, h.mustRead("/v1/events?limit=1000", systemAdmin)), eventsBefore)
		assert.Equal(t, "pending", h.mustRead(reqPath, systemAdmin)["status"])
		requireError(t, h.call(http.MethodGet, "/v1/users/dora", systemAdmin, nil), http.StatusNotFound, "not_found")
	})

	t.Run("keys that differ in case are kept apart in free-form maps", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/decisions", "", `{"subject":"alice",`+decision+`,"context":{"a":1,"A":2}}`)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	})
}

// R44: a query parameter given twice (a proxy may read the last where
// gatehouse reads the first) or unknown to the endpoint is refused with
// 400 naming it.
func TestRepeatedAndUnknownQueryParametersAreRefusedR44(t *testing.T) {
	h := newEmbeddedHarness(t)
	twoAccounts(h)
	tests := []struct{ name, path, field string }{
		{"account twice", "/v1/access-requests?account=acme&account=globex", "account"},
		{"status twice", "/v1/access-requests?account=acme&status=pending&status=granted", "status"},
		{"Account", "/v1/access-requests?Account=globex&account=acme", "Account"},
		{"my status twice", "/v1/me/access-requests?status=pending&status=denied", "status"},
		{"audit account twice", "/v1/audit?account=acme&account=globex", "account"},
		{"audit Limit", "/v1/audit?account=acme&Limit=5", "Limit"},
		{"events after twice", "/v1/events?after=a&after=b", "after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := requireError(t, h.call(http.MethodGet, tt.path, "alice", nil), http.StatusBadRequest, "invalid_input")
			assert.True(t, strings.HasPrefix(e.Error.Message, tt.field+": "), e.Error.Message)
		})
	}
}

// R10, R24, R35, R44: account settings hold only the settings the policy's
// data names (config.account_settings), each with a value of its type; an
// account's partner and a user's organization are accounts that exist.
// Each refusal is a 422 naming the field; nothing changes.
func TestDirectoryRecordsAreCheckedR44(t *testing.T) {
	h := newEmbeddedHarness(t)
	h.putAccount("classics", "")
	raw, err := fs.ReadFile(policies.FS(), "data.json")
	require.NoError(t, err)
	var data struct {
		Gatehouse struct {
			Config struct {
				AccountSettings map[string]string `json:"account_settings"`
			} `json:"config"`
		} `json:"gatehouse"`
	}
	require.NoError(t, json.Unmarshal(raw, &data))
	settings := data.Gatehouse.Config.AccountSettings
	require.NotEmpty(t, settings)

	t.Run("every setting of the policy's data is accepted", func(t *testing.T) {
		values := map[string]any{"whole_number": 3, "boolean": true}
		all := map[string]any{}
		for name, kind := range settings {
			require.Contains(t, values, kind, "a value for settings of type %s", kind)
			all[name] = values[kind]
		}
		got := h.mustWrite(http.MethodPut, "/v1/accounts/acme", systemAdmin,
			map[string]any{"name": "acme", "virtual_accounts": []string{}, "partner": "classics", "settings": all}, http.StatusCreated)
		assert.Len(t, got["settings"], len(settings))
	})

	tests := []struct {
		name, path string
		body       map[string]any
		message    string
	}{
		{"a typo in a setting", "/v1/accounts/globex", map[string]any{"name": "g", "settings": map[string]any{"require_deny_reasons": true}},
			"settings.require_deny_reasons is not a setting: choose"},
		{"a setting of another case", "/v1/accounts/globex", map[string]any{"name": "g", "settings": map[string]any{"Require_Deny_Reason": true}},
			"settings.Require_Deny_Reason is not a setting"},
		{"a number setting given a string", "/v1/accounts/globex", map[string]any{"name": "g", "settings": map[string]any{"max_secondary_contacts": "4"}},
			"settings.max_secondary_contacts must be a whole number from 0 up (it is 4)"},
		{"a boolean setting given a number", "/v1/accounts/globex", map[string]any{"name": "g", "settings": map[string]any{"require_deny_reason": 1}},
			"settings.require_deny_reason must be true or false (it is 1)"},
		{"a partner that does not exist", "/v1/accounts/globex", map[string]any{"name": "g", "partner": "nowhere"},
			"partner must be an existing account (it is nowhere)"},
		{"an organization that does not exist", "/v1/users/dora", map[string]any{"email": "d@example.com", "first_name": "D", "last_name": "D", "organization": "nowhere"},
			"organization must be an existing account (it is nowhere)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := requireError(t, h.call(http.MethodPut, tt.path, systemAdmin, tt.body), http.StatusUnprocessableEntity, "validation_failed")
			assert.Contains(t, e.Error.Message, tt.message)
			if strings.Contains(tt.message, "is not a setting") {
				for _, name := range slices.Sorted(maps.Keys(settings)) {
					assert.Contains(t, e.Error.Message, name, "names the settings there are")
				}
			}
			requireError(t, h.call(http.MethodGet, tt.path, systemAdmin, nil), http.StatusNotFound, "not_found")
		})
	}

	t.Run("an existing organization is accepted", func(t *testing.T) {
		h.mustWrite(http.MethodPut, "/v1/users/dora", systemAdmin,
			map[string]any{"email": "d@example.com", "first_name": "D", "last_name": "D", "organization": "classics"}, http.StatusCreated)
	})
}
