package policies_test

import (
	"context"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
)

// BenchmarkDecision measures one evaluation of data.gatehouse.decision.result
// as the engine runs it on every request: query prepared once.
func BenchmarkDecision(b *testing.B) {
	loaded := load(b, skipTests)
	store, err := loaded.Store()
	if err != nil {
		b.Fatal(err)
	}
	query := prepare(b, loaded, store)
	inputs := map[string]map[string]any{
		"role_on_virtual_account": {
			"subject": "caroline", "action": "use", "now_ns": int64(1763700000000000000),
			"resource":   map[string]any{"account": "acme", "virtual_account": "va1"},
			"user":       map[string]any{"id": "caroline"},
			"account":    map[string]any{"id": "acme", "virtual_accounts": []any{"va1", "va2"}},
			"membership": map[string]any{"roles": []any{"account_user"}, "added_by": "ops"},
		},
		"impersonation_by_grant": {
			"subject": "caroline", "action": "impersonate.support", "now_ns": int64(1763700000000000000),
			"resource": map[string]any{"account": "tom-sawyer"},
			"user":     map[string]any{"id": "caroline"},
			"account":  map[string]any{"id": "tom-sawyer", "virtual_accounts": []any{}, "partner": "classics"},
			"tenant":   map[string]any{"exclusive": true, "grants": []any{map[string]any{"request": "01JA", "granted_by": "tom"}}},
		},
	}
	for name, input := range inputs {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				rs, err := query.Eval(context.Background(), rego.EvalInput(input))
				if err != nil || len(rs) != 1 {
					b.Fatalf("eval: %v, %d results", err, len(rs))
				}
			}
		})
	}
}
