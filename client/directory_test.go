package client_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/client"
)

// GetAccount: a member reads their account with its virtual accounts
// (what the console's approval form lists); a stranger is refused (R43).
func TestGetAccount(t *testing.T) {
	g := startGatehouse(t, nil)
	ctx := context.Background()

	acme, err := g.as("alice").GetAccount(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, "acme", acme.ID)
	assert.Equal(t, "Acme Corp (Smart Account)", acme.Name)
	assert.Equal(t, []string{"acme-emea", "acme-us"}, acme.VirtualAccounts)
	assert.False(t, acme.CreatedAt.IsZero())

	tenant, err := g.as("elizabeth").GetAccount(ctx, "tom-sawyer")
	require.NoError(t, err, "a member of the partner reseller sees the tenant")
	assert.Equal(t, "classics", tenant.Partner)

	_, err = g.as("carol").GetAccount(ctx, "acme")
	require.Error(t, err)
	assert.True(t, client.IsForbidden(err), "%v", err)
}
