package engine

import (
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Issue 7 §1: every key of the decision input is either the caller's
// question or a key gatehouse fills (filledInputKeys), which the Data API
// refuses from callers: a key added to decisionInput without being listed
// would let callers forge it.
func TestEveryFilledInputKeyIsRefusedFromCallers(t *testing.T) {
	expires := time.Unix(100, 0)
	full := Snapshot{
		User:              &User{ID: "alice"},
		Account:           &Account{ID: "acme", Partner: "classics"},
		Membership:        &Membership{Roles: []string{"account_user"}, ExpiresAt: &expires},
		PartnerMembership: &Membership{Roles: []string{"impersonator"}},
		TenantExclusive:   true,
		TenantGrants:      []Grant{{Request: "r1", GrantedBy: "tom", ExpiresAt: &expires}},
	}
	req := DecisionRequest{Subject: "alice", Action: "view", Resource: Resource{Account: "acme", VirtualAccount: "va1"}, Caller: "billing"}
	in, ok := decisionInput(req, full, time.Unix(50, 0)).(ast.Object)
	if !ok {
		t.Fatal("the decision input is not an object")
	}
	question := map[string]bool{inputSubject: true, inputAction: true, inputResource: true, inputContext: true}
	set := map[string]bool{}
	for _, k := range in.Keys() {
		key := string(k.Value.(ast.String))
		set[key] = true
		if !question[key] && filledInputKeys[key] == "" {
			t.Errorf("decisionInput sets %q, which is neither the question nor in filledInputKeys", key)
		}
	}
	for key := range filledInputKeys {
		if !set[key] {
			t.Errorf("filledInputKeys lists %q, which decisionInput does not set", key)
		}
		if _, err := ParseDecisionInput(map[string]any{key: nil}); err == nil || err.Error()[:len("input."+key)] != "input."+key {
			t.Errorf("ParseDecisionInput accepts %q from a caller: %v", key, err)
		}
	}
}
