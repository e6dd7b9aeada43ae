package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
)

// R7: every answer carries allow, reasons, decision_id and policy_revision;
// unknown subjects, accounts and actions are denied, never errors.
func TestDecisionAnswersR7(t *testing.T) {
	h := newEmbeddedHarness(t)
	seedAcme(h)
	tests := []struct {
		name     string
		body     map[string]any
		allow    bool
		reasonIn string
	}{
		{name: "member may view", allow: true, reasonIn: "alice",
			body: decisionBody("alice", "view", "acme", "")},
		{name: "account_user holds va_user on a virtual account (R3)", allow: true,
			body: decisionBody("alice", "use", "acme", "va1")},
		{name: "account_user may not manage (R4)", allow: false,
			body: decisionBody("alice", "manage", "acme", "")},
		{name: "user without membership is denied", allow: false,
			body: decisionBody("bob", "view", "acme", "")},
		{name: "unknown subject is denied", allow: false, reasonIn: "unknown subject",
			body: decisionBody("nobody", "view", "acme", "")},
		{name: "unknown account is denied", allow: false, reasonIn: "unknown account",
			body: decisionBody("alice", "view", "nowhere", "")},
		{name: "unknown action is denied", allow: false, reasonIn: "unknown action",
			body: decisionBody("alice", "fly", "acme", "")},
		{name: "virtual account outside the account is denied (R4)", allow: false,
			body: decisionBody("alice", "view", "acme", "va9")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.call(http.MethodPost, "/v1/decisions", "", tt.body)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			got := decodeAs[decisionAnswer](t, rec)
			assert.Equal(t, tt.allow, got.Allow, got.Reasons)
			require.NotEmpty(t, got.Reasons)
			if tt.reasonIn != "" {
				assert.Contains(t, strings.Join(got.Reasons, "\n"), tt.reasonIn)
			}
			assert.NotEmpty(t, got.DecisionID)
			assert.Equal(t, h.eng.Policy().Revision, got.PolicyRevision)
			assert.Empty(t, got.Error)
		})
	}
}

func TestDecisionIDsAreUnique(t *testing.T) {
	h := newEmbeddedHarness(t)
	seedAcme(h)
	first := h.decide("alice", "view", "acme")
	second := h.decide("alice", "view", "acme")
	assert.NotEqual(t, first.DecisionID, second.DecisionID)
}

func decisionBody(subject, action, account, va string) map[string]any {
	resource := map[string]any{"account": account}
	if va != "" {
		resource["virtual_account"] = va
	}
	return map[string]any{"subject": subject, "action": action, "resource": resource}
}

// R44: bad decision input is a 400 naming the field, never a 500.
func TestDecisionBadInputR44(t *testing.T) {
	h := newEmbeddedHarness(t)
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"empty body", ``, "body"},
		{"malformed JSON", `{"subject": `, "body"},
		{"syntax error", `{"subject" "alice"}`, "body"},
		{"not an object", `[1, 2]`, "body"},
		{"two values", `{"subject":"a","action":"view","resource":{"account":"b"}} {}`, "body"},
		{"unknown field", `{"subjekt":"alice"}`, "subjekt"},
		{"unknown nested field", `{"subject":"a","action":"view","resource":{"acount":"b"}}`, "resource.acount"},
		{"missing subject", `{"action":"view","resource":{"account":"acme"}}`, "subject"},
		{"subject of the wrong type", `{"subject":7,"action":"view","resource":{"account":"acme"}}`, "subject"},
		{"subject with a space", `{"subject":"al ice","action":"view","resource":{"account":"acme"}}`, "subject"},
		{"missing action", `{"subject":"alice","resource":{"account":"acme"}}`, "action"},
		{"missing account", `{"subject":"alice","action":"view","resource":{}}`, "resource.account"},
		{"account of the wrong type", `{"subject":"alice","action":"view","resource":{"account":["x"]}}`, "resource.account"},
		{"bad virtual account", `{"subject":"alice","action":"view","resource":{"account":"a","virtual_account":"v/1"}}`, "resource.virtual_account"},
		{"context not an object", `{"subject":"alice","action":"view","resource":{"account":"a"},"context":[1]}`, "context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.call(http.MethodPost, "/v1/decisions", "", tt.body)
			e := requireError(t, rec, http.StatusBadRequest, "invalid_input")
			assert.True(t, strings.HasPrefix(e.Error.Message, tt.field+":"),
				"the message %q names the field %q", e.Error.Message, tt.field)
		})
	}
}

func TestDecisionBatch(t *testing.T) {
	h := newEmbeddedHarness(t)
	seedAcme(h)

	t.Run("answers in order", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/decisions/batch", "", map[string]any{"checks": []any{
			decisionBody("alice", "view", "acme", ""),
			decisionBody("alice", "manage", "acme", ""),
			decisionBody("bob", "view", "acme", ""),
		}})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := decodeAs[struct {
			Results []decisionAnswer `json:"results"`
		}](t, rec)
		require.Len(t, got.Results, 3)
		assert.Equal(t, []bool{true, false, false},
			[]bool{got.Results[0].Allow, got.Results[1].Allow, got.Results[2].Allow})
		for _, r := range got.Results {
			assert.NotEmpty(t, r.DecisionID)
			assert.NotEmpty(t, r.Reasons)
			assert.Equal(t, h.eng.Policy().Revision, r.PolicyRevision)
		}
	})

	t.Run("a bad check names its index", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/decisions/batch", "", map[string]any{"checks": []any{
			decisionBody("alice", "view", "acme", ""),
			decisionBody("", "view", "acme", ""),
		}})
		e := requireError(t, rec, http.StatusBadRequest, "invalid_input")
		assert.True(t, strings.HasPrefix(e.Error.Message, "checks[1].subject:"), e.Error.Message)
	})

	for _, n := range []int{0, httpapi.MaxBatchChecks + 1} {
		t.Run(fmt.Sprintf("%d checks is refused", n), func(t *testing.T) {
			checks := make([]any, n)
			for i := range checks {
				checks[i] = decisionBody("alice", "view", "acme", "")
			}
			rec := h.call(http.MethodPost, "/v1/decisions/batch", "", map[string]any{"checks": checks})
			e := requireError(t, rec, http.StatusUnprocessableEntity, "validation_failed")
			require.Len(t, e.Error.Violations, 1)
			assert.Contains(t, e.Error.Violations[0], fmt.Sprintf("it has %d", n))
		})
	}

	t.Run("a full batch is answered", func(t *testing.T) {
		checks := make([]any, httpapi.MaxBatchChecks)
		for i := range checks {
			checks[i] = decisionBody("alice", "view", "acme", "")
		}
		rec := h.call(http.MethodPost, "/v1/decisions/batch", "", map[string]any{"checks": checks})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := decodeAs[struct {
			Results []decisionAnswer `json:"results"`
		}](t, rec)
		assert.Len(t, got.Results, httpapi.MaxBatchChecks)
	})
}
