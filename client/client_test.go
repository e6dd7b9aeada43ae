package client_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/policies"
)

func TestDecisions(t *testing.T) {
	g := startGatehouse(t, nil)
	c, err := client.New(g.url + "/") // decisions need no token; a trailing slash is dropped
	require.NoError(t, err)
	ctx := context.Background()

	d, err := c.Decide(ctx, client.DecisionRequest{Subject: "alice", Action: "manage", Resource: client.Resource{Account: "acme"}})
	require.NoError(t, err)
	assert.True(t, d.Allow)
	assert.Equal(t, []string{"alice holds account_admin on acme (needed for manage)"}, d.Reasons)
	assert.NotEmpty(t, d.DecisionID)
	assert.NotEmpty(t, d.PolicyRevision)
	require.NotNil(t, d.Grant)
	assert.Equal(t, client.Grant{Kind: "membership", Account: "acme", ApprovedBy: seedActor}, *d.Grant)

	d, err = c.Decide(ctx, client.DecisionRequest{Subject: "bob", Action: "use",
		Resource: client.Resource{Account: "acme", VirtualAccount: "acme-emea"}})
	require.NoError(t, err)
	assert.True(t, d.Allow, "bob holds va_user on acme-emea: %v", d.Reasons)

	ds, err := c.DecideBatch(ctx, []client.DecisionRequest{
		{Subject: "alice", Action: "manage", Resource: client.Resource{Account: "acme"}},
		{Subject: "carol", Action: "view", Resource: client.Resource{Account: "acme"}},
	})
	require.NoError(t, err)
	require.Len(t, ds, 2)
	assert.True(t, ds[0].Allow)
	assert.False(t, ds[1].Allow)
	assert.Equal(t, []string{"carol is not a member of acme"}, ds[1].Reasons)
	assert.Nil(t, ds[1].Grant)

	_, err = c.Decide(ctx, client.DecisionRequest{Subject: "alice", Action: "manage"})
	apiErr := requireAPIError(t, err, 400, client.CodeInvalidInput)
	assert.Contains(t, apiErr.Message, "resource.account")

	_, err = c.DecideBatch(ctx, nil)
	apiErr = requireAPIError(t, err, 422, client.CodeValidationFailed)
	assert.Equal(t, []string{"a batch must hold from 1 to 100 checks (it has 0)"}, apiErr.Violations)
}

func TestAccessRequests(t *testing.T) {
	g := startGatehouse(t, nil)
	ctx := context.Background()
	carol, alice, bob := g.as("carol"), g.as("alice"), g.as("bob")

	r, err := carol.RequestAccess(ctx, "acme", "new buyer")
	require.NoError(t, err)
	assert.Equal(t, "pending", r.Status)
	assert.Equal(t, "account", r.Kind)
	assert.Equal(t, "carol", r.Requester)
	assert.Equal(t, "new buyer", r.Justification)

	mine, err := carol.ListMyRequests(ctx, client.RequestFilter{})
	require.NoError(t, err)
	require.Len(t, mine, 1)
	assert.Equal(t, r.ID, mine[0].ID)

	pending, err := alice.ListRequests(ctx, "acme", client.RequestFilter{Status: "pending", Limit: 10})
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, r.ID, pending[0].ID)
	none, err := alice.ListRequests(ctx, "acme", client.RequestFilter{Status: "granted"})
	require.NoError(t, err)
	assert.Empty(t, none)

	got, err := alice.GetRequest(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, r.ID, got.ID)
	_, err = bob.GetRequest(ctx, r.ID)
	assert.True(t, client.IsNotFound(err), "bob may not see carol's request (R43): %v", err)

	granted, err := alice.Approve(ctx, r.ID, client.Approval{Scope: "account", Role: "account_user", Message: "welcome"})
	require.NoError(t, err)
	assert.Equal(t, "granted", granted.Status)
	assert.Equal(t, "alice", granted.DecidedBy)
	require.NotNil(t, granted.DecidedAt)
	assert.Equal(t, "welcome", granted.Message)

	_, err = alice.Approve(ctx, r.ID, client.Approval{Scope: "account", Role: "account_user"})
	requireAPIError(t, err, 409, client.CodeConflict)
	assert.True(t, client.IsConflict(err), "a request already decided (R25)")

	revoked, err := alice.Revoke(ctx, r.ID, "no longer needed")
	require.NoError(t, err)
	assert.Equal(t, "revoked", revoked.Status)

	r2, err := carol.RequestAccess(ctx, "acme", "")
	require.NoError(t, err)
	denied, err := alice.Deny(ctx, r2.ID, client.Denial{ReasonCode: "access_not_needed", Message: "ask bob"})
	require.NoError(t, err)
	assert.Equal(t, "denied", denied.Status)
	assert.Equal(t, "access_not_needed", denied.ReasonCode)

	// A tenant request (R35), granted with an expiry the tenant then moves
	// and removes (R38).
	elizabeth, tom := g.as("elizabeth"), g.as("tom")
	trs, err := elizabeth.RequestTenantAccess(ctx, client.TenantRequest{Name: "SupportAccess", Message: "account managers",
		Associations: []client.Association{{Users: []string{"caroline"}, Tenants: []string{"tom-sawyer"}}}})
	require.NoError(t, err)
	require.Len(t, trs, 1)
	assert.Equal(t, "tenant", trs[0].Kind)
	assert.Equal(t, "tom-sawyer", trs[0].Account)
	assert.Equal(t, []string{"caroline"}, trs[0].Users)

	end := time.Date(2099, 1, 31, 0, 0, 0, 0, time.UTC)
	tg, err := tom.Approve(ctx, trs[0].ID, client.Approval{ExpiresAt: &end, Message: "welcome, Classics"})
	require.NoError(t, err)
	assert.Equal(t, "granted", tg.Status)
	require.NotNil(t, tg.ExpiresAt)
	assert.True(t, end.Equal(*tg.ExpiresAt))

	later := end.AddDate(0, 1, 0)
	tg, err = tom.SetExpiry(ctx, trs[0].ID, &later)
	require.NoError(t, err)
	require.NotNil(t, tg.ExpiresAt)
	assert.True(t, later.Equal(*tg.ExpiresAt))
	tg, err = tom.SetExpiry(ctx, trs[0].ID, nil)
	require.NoError(t, err)
	assert.Nil(t, tg.ExpiresAt, "a nil expiry removes it")

	_, err = elizabeth.RequestTenantAccess(ctx, client.TenantRequest{Name: "Support Access", Associations: []client.Association{}})
	apiErr := requireAPIError(t, err, 422, client.CodeValidationFailed)
	assert.Len(t, apiErr.Violations, 2, "each rule broken: no association, a name with a space")
}

func TestMembers(t *testing.T) {
	g := startGatehouse(t, nil)
	ctx := context.Background()
	alice := g.as("alice")

	members, err := alice.ListMembers(ctx, "acme")
	require.NoError(t, err)
	var users []string
	for _, m := range members {
		users = append(users, m.User)
	}
	assert.ElementsMatch(t, []string{"alice", "bob"}, users)

	bob, err := alice.GetMember(ctx, "acme", "bob")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"acme-emea": "va_user"}, bob.VARoles)
	assert.Equal(t, seedActor, bob.AddedBy)

	end := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	m, err := alice.SetMember(ctx, "acme", "carol", client.MemberInput{Roles: []string{"account_viewer"},
		Justification: "new buyer", ExpiresAt: &end})
	require.NoError(t, err)
	assert.Equal(t, []string{"account_viewer"}, m.Roles)
	assert.Equal(t, "alice", m.AddedBy)
	require.NotNil(t, m.ExpiresAt)

	roles := []string{"account_user"}
	m, err = alice.UpdateMember(ctx, "acme", "carol", client.MemberPatch{Roles: &roles, ClearExpiry: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"account_user"}, m.Roles)
	assert.Equal(t, "new buyer", m.Justification, "a part the patch leaves out is kept")
	assert.Nil(t, m.ExpiresAt, "ClearExpiry removes the expiry")

	m, err = alice.SetMember(ctx, "acme", "carol", client.MemberInput{Roles: []string{"account_viewer"}})
	require.NoError(t, err)
	assert.Empty(t, m.Justification, "PUT replaces the membership whole")

	require.NoError(t, alice.RemoveMember(ctx, "acme", "carol"))
	_, err = alice.GetMember(ctx, "acme", "carol")
	requireAPIError(t, err, 404, client.CodeNotFound)

	err = alice.RemoveMember(ctx, "acme", "alice")
	apiErr := requireAPIError(t, err, 422, client.CodeValidationFailed)
	assert.NotEmpty(t, apiErr.Violations, "the rule the removal breaks (R12)")
	t.Logf("removing the last admin: %v", apiErr.Violations)

	_, err = g.as("carol").SetMember(ctx, "acme", "carol", client.MemberInput{Roles: []string{"account_admin"}, Justification: "me"})
	apiErr = requireAPIError(t, err, 403, client.CodeForbidden)
	assert.True(t, client.IsForbidden(err))
	assert.NotEmpty(t, apiErr.Violations, "a 403 says which rule refuses")
}

func TestAuditAndEvents(t *testing.T) {
	g := startGatehouse(t, nil)
	ctx := context.Background()
	alice := g.as("alice")
	_, err := g.as("carol").RequestAccess(ctx, "acme", "new buyer")
	require.NoError(t, err)

	oldest, err := alice.ListAudit(ctx, "acme", client.Page{Limit: 1})
	require.NoError(t, err)
	require.Len(t, oldest.Items, 1)
	assert.Equal(t, "account.created", oldest.Items[0].Action, "ascending by default")
	assert.NotEmpty(t, oldest.Next)
	assert.NotEmpty(t, oldest.Items[0].After, "the object after the change")

	newest, err := alice.ListAudit(ctx, "acme", client.Page{Limit: 2, Order: client.Descending})
	require.NoError(t, err)
	require.Len(t, newest.Items, 2)
	assert.Equal(t, "request.created", newest.Items[0].Action)
	assert.Equal(t, "carol", newest.Items[0].Actor)
	assert.True(t, newest.Items[0].At.After(newest.Items[1].At) || newest.Items[0].At.Equal(newest.Items[1].At))
	next, err := alice.ListAudit(ctx, "acme", client.Page{Limit: 2, Order: client.Descending, After: newest.Next})
	require.NoError(t, err)
	require.NotEmpty(t, next.Items)
	assert.NotEqual(t, newest.Items[1].ID, next.Items[0].ID, "the cursor is exclusive")

	_, err = alice.ListAudit(ctx, "acme", client.Page{Order: "sideways"})
	apiErr := requireAPIError(t, err, 400, client.CodeInvalidInput)
	assert.Contains(t, apiErr.Message, "order")
	_, err = g.as("bob").ListAudit(ctx, "acme", client.Page{})
	assert.Error(t, err, "bob does not decide acme's requests (R43)")

	events, err := alice.ListEvents(ctx, client.Page{Order: client.Descending, Limit: 1})
	require.NoError(t, err)
	require.Len(t, events.Items, 1)
	assert.Equal(t, "request.created", events.Items[0].Type, "alice decides acme's requests: she is told")
	assert.Contains(t, events.Items[0].To, "alice")
	assert.Contains(t, string(events.Items[0].Data), "carol")
}

func TestPolicies(t *testing.T) {
	g := startGatehouse(t, nil)
	ctx := context.Background()
	ops := g.as(opsAdmin)

	files := map[string]string{}
	require.NoError(t, fs.WalkDir(policies.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(policies.FS(), path)
		files[path] = string(raw)
		return err
	}))
	pushed, err := ops.PushPolicy(ctx, files)
	require.NoError(t, err)
	assert.Equal(t, opsAdmin, pushed.Author)
	assert.True(t, pushed.Active)

	list, err := ops.ListPolicies(ctx, 10)
	require.NoError(t, err)
	require.NotEmpty(t, list)
	assert.Equal(t, pushed.Revision, list[0].Revision)

	again, err := ops.ActivatePolicy(ctx, pushed.Revision)
	require.NoError(t, err)
	assert.Equal(t, pushed.Revision, again.Revision)
	_, err = ops.ActivatePolicy(ctx, "0000000000000000")
	requireAPIError(t, err, 404, client.CodeNotFound)

	st, err := ops.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ok", st.Store)
	assert.Equal(t, pushed.Revision, st.Policy.Revision)

	broken := map[string]string{"bad.rego": "package gatehouse.decision\n\nthis is not rego"}
	_, err = ops.PushPolicy(ctx, broken)
	apiErr := requireAPIError(t, err, 422, client.CodeValidationFailed)
	assert.NotEmpty(t, apiErr.Violations)

	_, err = g.as("alice").PushPolicy(ctx, files)
	assert.True(t, client.IsForbidden(err), "alice is no policy admin: %v", err)
}

func TestUnauthenticated(t *testing.T) {
	g := startGatehouse(t, nil)
	c, err := client.New(g.url)
	require.NoError(t, err)
	_, err = c.ListMembers(context.Background(), "acme")
	requireAPIError(t, err, 401, client.CodeUnauthenticated)
	assert.ErrorIs(t, err, client.ErrUnauthenticated)

	calls := 0
	c, err = client.New(g.url, client.WithTokenSource(func(context.Context) (string, error) {
		calls++
		return "", errors.New("the vault is sealed")
	}))
	require.NoError(t, err)
	_, err = c.ListMembers(context.Background(), "acme")
	assert.ErrorContains(t, err, "the vault is sealed")
	assert.Equal(t, 1, calls)
}

func TestNewRefusesABadBaseURL(t *testing.T) {
	for _, raw := range []string{"", "127.0.0.1:8280", "ftp://host", "http://", "http://host/?q=1"} {
		_, err := client.New(raw)
		assert.Error(t, err, "%q", raw)
	}
}

// requireAPIError requires err to be a *client.Error of status and code.
func requireAPIError(t *testing.T, err error, status int, code string) *client.Error {
	t.Helper()
	var apiErr *client.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, status, apiErr.Status, "%v", apiErr)
	require.Equal(t, code, apiErr.Code, "%v", apiErr)
	require.NotEmpty(t, apiErr.Message)
	return apiErr
}
