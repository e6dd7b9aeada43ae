package engine_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/engine"
)

// withPolicy decides with `with`, which the plan interpreter does not run.
const withPolicy = `package gatehouse.decision

import rego.v1

result := {"allow": allow, "reasons": [reason]}

default allow := false

allow if admin with input.role as "admin"

admin if {
	input.role == "admin"
	input.subject == "alice"
}

reason := "alice may" if allow

else := "only alice may"
`

// TestPlanFallsBackToTopdown: a revision whose plan the interpreter cannot
// run (here: a `with`) is decided by topdown, with the right answers; the
// engine logs why once, and the policy status names the evaluator and the
// reason. The built-in policy runs as a plan unless topdown is asked for.
func TestPlanFallsBackToTopdown(t *testing.T) {
	ctx := context.Background()
	p, err := engine.CompilePolicy(ctx, map[string][]byte{"decision.rego": []byte(withPolicy)}, "test")
	require.NoError(t, err)
	ev, why := p.Evaluator(engine.EvaluatorPlan)
	assert.Equal(t, engine.EvaluatorTopdown, ev)
	assert.Contains(t, why, "WithStmt")

	var logs bytes.Buffer
	eng, err := engine.New(openEmbedded(t, embedded.WithNoSync()), p, engine.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	ask := engine.DecisionRequest{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "acme"}}
	for range 3 {
		d := eng.Decide(ctx, ask)
		require.Empty(t, d.Error, d.Reasons)
		assert.True(t, d.Allow)
		assert.Equal(t, []string{"alice may"}, d.Reasons)
	}
	ask.Subject = "bob"
	d := eng.Decide(ctx, ask)
	assert.False(t, d.Allow)
	assert.Equal(t, []string{"only alice may"}, d.Reasons)
	assert.Equal(t, 1, strings.Count(logs.String(), "evaluated with topdown"), logs.String())
	assert.Contains(t, logs.String(), "WithStmt")

	status := eng.PolicyStatus()
	assert.Equal(t, engine.EvaluatorTopdown, status.Evaluator)
	assert.Contains(t, status.EvaluatorFallback, "WithStmt")

	builtin, err := engine.New(openEmbedded(t, embedded.WithNoSync()), builtinPolicy(t))
	require.NoError(t, err)
	status = builtin.PolicyStatus()
	assert.Equal(t, engine.EvaluatorPlan, status.Evaluator)
	assert.Empty(t, status.EvaluatorFallback)

	topdown, err := engine.New(openEmbedded(t, embedded.WithNoSync()), builtinPolicy(t), engine.WithEvaluator(engine.EvaluatorTopdown))
	require.NoError(t, err)
	status = topdown.PolicyStatus()
	assert.Equal(t, engine.EvaluatorTopdown, status.Evaluator)
	assert.Empty(t, status.EvaluatorFallback)
}

// TestParseEvaluator: plan and topdown, nothing else.
func TestParseEvaluator(t *testing.T) {
	for _, s := range []string{"plan", "topdown"} {
		ev, err := engine.ParseEvaluator(s)
		require.NoError(t, err)
		assert.Equal(t, engine.Evaluator(s), ev)
	}
	_, err := engine.ParseEvaluator("wasm")
	require.ErrorContains(t, err, `unknown evaluator "wasm": plan or topdown`)
}

// TestPlanFallsBackWhenTestRulesAreRead: the plan is made without the test
// files, so a revision whose rules read a rule of a test package is
// decided by topdown, which sees it.
func TestPlanFallsBackWhenTestRulesAreRead(t *testing.T) {
	ctx := context.Background()
	p, err := engine.CompilePolicy(ctx, map[string][]byte{
		"decision.rego":     []byte("package gatehouse.decision\n\nimport rego.v1\n\nresult := {\"allow\": data.gatehouse.fixture_test.allowed, \"reasons\": [\"fixture\"]}\n"),
		"fixture_test.rego": []byte("package gatehouse.fixture_test\n\nimport rego.v1\n\nallowed := true\n"),
	}, "test")
	require.NoError(t, err)
	ev, why := p.Evaluator(engine.EvaluatorPlan)
	assert.Equal(t, engine.EvaluatorTopdown, ev)
	assert.Contains(t, why, "test package data.gatehouse.fixture_test")

	eng, err := engine.New(openEmbedded(t, embedded.WithNoSync()), p)
	require.NoError(t, err)
	d := eng.Decide(ctx, engine.DecisionRequest{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "acme"}})
	require.Empty(t, d.Error, d.Reasons)
	assert.True(t, d.Allow)
}
