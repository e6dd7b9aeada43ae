package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/engine/benchdata"
)

// TestPolicyEquivalentToBefore: the built-in policy gives the same answer
// as the policy before the decision path was reworked for speed (issue 8,
// testdata/policy-before) on a generated directory and 4,000 distinct
// questions of every kind (roles, virtual accounts, privileges, contacts,
// impersonation by grant and by the legacy method, expired memberships and
// grants, unknown subjects, accounts, actions and virtual accounts): the
// same allow, the same reasons and the same grant. Every allow names its
// grant and every answer has reasons (R7).
func TestPolicyEquivalentToBefore(t *testing.T) {
	ctx := context.Background()
	data := benchdata.Generate(7, benchdata.Small)
	store := openEmbedded(t, embedded.WithNoSync())
	require.NoError(t, data.Load(ctx, store))
	clock := engine.WithClock(func() time.Time { return benchdata.Now })
	deadline := engine.WithDecisionTimeout(time.Minute) // a loaded machine is not a failure
	before, err := engine.New(store, policyBefore(t), clock, deadline)
	require.NoError(t, err)
	after, err := engine.New(store, builtinPolicy(t), clock, deadline)
	require.NoError(t, err)

	kinds := map[string]int{}
	for _, q := range data.Uniform(7, 4_000) {
		want, got := before.Decide(ctx, q), after.Decide(ctx, q)
		require.Empty(t, got.Error, "%+v: %v", q, got.Reasons)
		require.Equal(t, want.Allow, got.Allow, "allow of %+v: before %v, now %v", q, want.Reasons, got.Reasons)
		require.Equal(t, want.Reasons, got.Reasons, "reasons of %+v", q)
		require.Equal(t, want.Grant, got.Grant, "grant of %+v", q)
		require.NotEmpty(t, got.Reasons, "%+v", q)
		if got.Allow {
			require.NotNil(t, got.Grant, "an allow names its grant: %+v", q)
			kinds["allow "+got.Grant.Kind]++
		} else {
			kinds["deny "+strings.SplitN(q.Action, ".", 2)[0]]++
		}
	}
	t.Logf("answers compared, by outcome: %v", kinds)
	require.Greater(t, kinds["allow membership"], 100)
	require.Greater(t, kinds["allow tenant_grant"]+kinds["allow partner_role"], 5)
}
