package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --evaluator plan (the default) and --evaluator topdown give the same
// answers and reasons (issue 8); any other value is refused, from
// the flag or from GATEHOUSE_EVALUATOR, naming it.
func TestEvaluatorFlag(t *testing.T) {
	dir := seededDir(t)
	questions := [][]string{
		{"--subject", "alice", "--action", "manage", "--account", "acme"},
		{"--subject", "carol", "--action", "manage", "--account", "acme"},
		{"--subject", "nobody", "--action", "view", "--account", "acme"},
	}
	for _, q := range questions {
		base := append([]string{"--data-dir", dir}, q...)
		byDefault := decideOut(t, base...)
		plan := decideOut(t, append(base, "--evaluator", "plan")...)
		topdown := decideOut(t, append(base, "--evaluator", "topdown")...)
		for _, ans := range []decisionAnswer{byDefault, plan} {
			assert.Equal(t, topdown.Allow, ans.Allow, "%v", q)
			assert.Equal(t, topdown.Reasons, ans.Reasons, "%v", q)
		}
	}

	args := append([]string{"decide", "--data-dir", dir}, questions[0]...)
	_, err := runGatehouse(t, append(args, "--evaluator", "wasm")...)
	require.ErrorContains(t, err, `invalid argument "wasm" for "--evaluator" flag: unknown evaluator "wasm": plan or topdown`)
	t.Setenv("GATEHOUSE_EVALUATOR", "wasm")
	_, err = runGatehouse(t, args...)
	require.ErrorContains(t, err, `GATEHOUSE_EVALUATOR: unknown evaluator "wasm": plan or topdown`)
}
