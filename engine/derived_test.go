package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// withDerived returns the built-in policy files with derived.rego replaced.
func withDerived(t *testing.T, derived string) map[string][]byte {
	t.Helper()
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(t, err)
	files["derived.rego"] = []byte(derived)
	delete(files, "derived_test.rego")
	return files
}

// validDerived is a derived package the other rules compile with; it sends
// view to the impersonation package and knows no other action.
const validDerived = `package gatehouse.derived

import data.gatehouse.config

account_roles_included := {role: graph.reachable(config.account_roles, {role}) | some role, _ in config.account_roles}

va_roles_included := {role: graph.reachable(config.virtual_account_roles, {role}) | some role, _ in config.virtual_account_roles}

va_roles_through := {role: set() | some role, _ in config.account_roles}

package_of := {"view": "impersonation"}
`

// TestDerivedRulesReadDataOnly: a revision whose derived rules could differ
// from one decision to the next is refused, naming the file, line and rule.
func TestDerivedRulesReadDataOnly(t *testing.T) {
	cases := map[string]struct{ rego, want string }{
		"reads input": {
			"\nnow_action := input.action\n",
			"derived.rego:13: rule data.gatehouse.derived.now_action reads input",
		},
		"reads input through another rule": {
			"\nnow_action := a\n\na := input.action\n",
			"rule data.gatehouse.derived.now_action reads input (in data.gatehouse.derived.a)",
		},
		"nondeterministic built-in": {
			"\nloaded_at := time.now_ns()\n",
			"calls the nondeterministic built-in time.now_ns",
		},
		"function": {
			"\nf(x) := x\n",
			"rule data.gatehouse.derived.f must be a complete rule without arguments",
		},
		"partial set": {
			"\ns contains 1\n",
			"rule data.gatehouse.derived.s must be a complete rule",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := engine.CompilePolicy(context.Background(), withDerived(t, validDerived+c.rego), "test")
			require.ErrorContains(t, err, c.want)
		})
	}
}

// TestDerivedValuesAnswerDecisions: decisions read the derived values
// computed for the revision. A derived table that names "view" as an
// impersonation action sends view to the impersonation package, as OPA
// evaluating the same rule would.
func TestDerivedValuesAnswerDecisions(t *testing.T) {
	files := withDerived(t, validDerived)
	p, err := engine.CompilePolicy(context.Background(), files, "test")
	require.NoError(t, err)
	store := openEmbedded(t)
	seedDecisionData(t, store)
	eng, err := engine.New(store, p, engine.WithClock(func() time.Time { return decisionNow }))
	require.NoError(t, err)
	d := eng.Decide(context.Background(), engine.DecisionRequest{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "acme"}})
	require.False(t, d.Allow)
	require.Contains(t, strings.Join(d.Reasons, "\n"), "partner reseller", "view decided by impersonation: %v", d.Reasons)
	d = eng.Decide(context.Background(), engine.DecisionRequest{Subject: "alice", Action: "use", Resource: engine.Resource{Account: "acme"}})
	require.Equal(t, []string{`unknown action "use"`}, d.Reasons)
}
