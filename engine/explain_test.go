package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// decisionCounter is a DecisionObserver that counts what it is told.
type decisionCounter struct{ n int }

func (c *decisionCounter) ObserveDecision(engine.DecisionRequest, engine.Decision) { c.n++ }

func TestExplainNamesFiredRulesAndReads(t *testing.T) {
	var observed decisionCounter
	eng := newPolicyEngine(t, miniPolicy(), engine.WithObserver(&observed))
	tests := []struct {
		name    string
		subject string
		allow   bool
		rule    engine.FiredRule
	}{
		{
			name:    "the allowing rule, with the input and data it compared",
			subject: "root",
			allow:   true,
			rule: engine.FiredRule{
				Rule: "data.gatehouse.decision.result", File: "decision.rego", Line: miniResultLine,
				Reads: []engine.Read{
					{Path: "input.subject", Value: `"root"`},
					{Path: "data.gatehouse.config.admin", Value: `"root"`},
				},
			},
		},
		{
			name:    "the default rule when nothing else fired",
			subject: "bob",
			allow:   false,
			rule:    engine.FiredRule{Rule: "data.gatehouse.decision.result", File: "decision.rego", Line: 5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := engine.DecisionRequest{Subject: tt.subject, Action: "view", Resource: engine.Resource{Account: "acme"}}
			d, x, err := eng.Explain(context.Background(), req)
			require.NoError(t, err)
			assert.Equal(t, tt.allow, d.Allow)
			assert.Equal(t, eng.Policy().Revision, d.PolicyRevision)
			assert.NotEmpty(t, d.DecisionID)
			assert.Equal(t, []engine.FiredRule{tt.rule}, x.Rules)
			assert.Contains(t, x.String(), "decision.rego:")
		})
	}
	assert.Zero(t, observed.n, "an explanation is not a decision: observers are not told")
}

func TestExplainRefusesAMalformedRequest(t *testing.T) {
	eng := newPolicyEngine(t, miniPolicy())
	_, _, err := eng.Explain(context.Background(), engine.DecisionRequest{Action: "view", Resource: engine.Resource{Account: "acme"}})
	require.ErrorIs(t, err, engine.ErrInvalid)
}

// TestExplainBuiltInPolicies explains an R4 allow of the built-in policies:
// the roles rule that fired, reading the action's requirement from data.
func TestExplainBuiltInPolicies(t *testing.T) {
	eng := builtInEngine(t)
	seedAcme(t, eng.Store())
	req := engine.DecisionRequest{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "acme"}}
	d, x, err := eng.Explain(context.Background(), req)
	require.NoError(t, err)
	require.True(t, d.Allow, d.Reasons)

	var files []string
	reads := map[string]string{}
	for _, r := range x.Rules {
		files = append(files, r.File)
		for _, rd := range r.Reads {
			reads[rd.Path] = rd.Value
		}
	}
	assert.Contains(t, files, "decision.rego")
	assert.Contains(t, files, "roles.rego")
	assert.Equal(t, `"alice"`, reads["input.subject"])
	assert.Contains(t, reads["data.gatehouse.config.actions.view"], "account_viewer")
	text := x.String()
	assert.Contains(t, text, "roles.rego:")
	assert.Contains(t, text, `read input.subject = "alice"`)
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		assert.LessOrEqual(t, len(line), 300, "explanations stay compact: %s", line)
	}
}
