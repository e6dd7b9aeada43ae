package client_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/client"
)

// A write's Consistency-Token, kept with WithConsistencyToken, makes a
// decision carrying it see the write; a malformed one is a 400 *Error.
func TestConsistencyToken(t *testing.T) {
	g := startGatehouse(t, nil)
	ctx := context.Background()
	alice := g.as("alice")
	var token string
	_, err := alice.SetMember(ctx, "acme", "carol", client.MemberInput{Roles: []string{"account_viewer"}, Justification: "new buyer"},
		client.WithConsistencyToken(&token))
	require.NoError(t, err)
	require.NotEmpty(t, token)
	q := client.DecisionRequest{Subject: "carol", Action: "view", Resource: client.Resource{Account: "acme"},
		Consistency: &client.Consistency{AtLeast: token}}
	d, err := alice.Decide(ctx, q)
	require.NoError(t, err)
	assert.True(t, d.Allow, "%v", d.Reasons)

	require.NoError(t, alice.RemoveMember(ctx, "acme", "carol", client.WithConsistencyToken(&token)))
	q.Consistency.AtLeast = token
	d, err = alice.Decide(ctx, q)
	require.NoError(t, err)
	assert.False(t, d.Allow, "%v", d.Reasons)

	q.Consistency.AtLeast = "not a token"
	_, err = alice.Decide(ctx, q)
	requireAPIError(t, err, 400, client.CodeInvalidInput)
}
