package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// testDecisionTimeout is the decision deadline of the engines under test:
// long enough that a cold evaluation under -race on a busy machine is never
// cut short. Tests of the deadline itself set their own.
const testDecisionTimeout = time.Minute

// adminCLI is a gatehouse API server over the demo data, and the CLI
// pointed at it.
type adminCLI struct {
	t      *testing.T
	url    string
	secret []byte
}

func newAdminCLI(t *testing.T) *adminCLI {
	dir := t.TempDir()
	out, err := runGatehouse(t, "seed", "../../testdata/demo.json", "--data-dir", dir)
	require.NoError(t, err, out)

	store, err := embedded.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	policy, err := loadPolicy(t.Context(), DefaultConfig())
	require.NoError(t, err)
	eng, err := engine.New(store, policy, engine.WithSystemAdmins("ops"), engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(t, err)
	secret := []byte("admin-cli-test-secret-0123456789abcdef")
	verifier, err := httpapi.NewHS256Verifier(secret)
	require.NoError(t, err)
	srv := httptest.NewServer(httpapi.New(eng, httpapi.WithVerifier(verifier)))
	t.Cleanup(srv.Close)
	return &adminCLI{t: t, url: srv.URL, secret: secret}
}

// as runs the CLI against the server with a token for subject.
func (c *adminCLI) as(subject string, args ...string) (string, error) {
	c.t.Helper()
	token, err := httpapi.MintHS256(c.secret, subject, time.Hour)
	require.NoError(c.t, err)
	return runGatehouse(c.t, append(args, "--server", c.url, "--token", token)...)
}

// asJSON runs the CLI with --json and decodes what it prints into v.
func (c *adminCLI) asJSON(v any, subject string, args ...string) {
	c.t.Helper()
	out, err := c.as(subject, append(args, "--json")...)
	require.NoError(c.t, err, out)
	require.NoError(c.t, json.Unmarshal([]byte(out), v), out)
}

// The admin CLI drives the Smart Account flow against a running server
// (R20-R22, R25).
func TestRequestsCommands(t *testing.T) {
	cli := newAdminCLI(t)

	var created engine.AccessRequest
	cli.asJSON(&created, "carol", "requests", "create", "acme", "--justification", "I buy licences")
	assert.Equal(t, engine.StatusPending, created.Status)
	assert.Equal(t, "carol", created.Requester)

	var pending []engine.AccessRequest
	cli.asJSON(&pending, "alice", "requests", "list", "--account", "acme", "--status", "pending")
	require.Len(t, pending, 1)
	assert.Equal(t, created.ID, pending[0].ID)

	out, err := cli.as("alice", "requests", "approve", created.ID, "--scope", "virtual_accounts", "--va", "acme-us", "--role", "account_user")
	require.Error(t, err, "R22: an account role with virtual accounts")
	assert.Contains(t, err.Error(), "422")
	assert.Contains(t, err.Error(), "role must be va_admin, va_user or va_viewer (it is account_user)", out)

	var granted engine.AccessRequest
	cli.asJSON(&granted, "alice", "requests", "approve", created.ID, "--scope", "virtual_accounts", "--va", "acme-us", "--role", "va_viewer")
	assert.Equal(t, engine.StatusGranted, granted.Status)
	assert.Equal(t, "alice", granted.DecidedBy)

	_, err = cli.as("alice", "requests", "deny", created.ID, "--reason-code", "other")
	require.Error(t, err, "R25: decided once")
	assert.Contains(t, err.Error(), "409")

	table, err := cli.as("carol", "requests", "list", "--mine")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^ID\s+KIND\s+ACCOUNT\s+REQUESTER\s+STATUS`, table)
	assert.Regexp(t, `(?m)^`+created.ID+`\s+account\s+acme\s+carol\s+granted`, table)

	out, err = cli.as("carol", "decide", "--remote", "--subject", "carol", "--action", "view", "--account", "acme", "--virtual-account", "acme-us")
	require.NoError(t, err, out)
	var answer decisionAnswer
	require.NoError(t, json.Unmarshal([]byte(out), &answer), out)
	assert.True(t, answer.Allow, "%v", answer.Reasons)
	assert.NotEmpty(t, answer.DecisionID)
}

// The admin CLI runs a tenant request from submission to revocation
// (R35-R38), and the tenant's side never sees its name or users (R37).
func TestTenantRequestCommands(t *testing.T) {
	cli := newAdminCLI(t)

	var created []engine.AccessRequest
	cli.asJSON(&created, "elizabeth", "requests", "tenant", "--name", "SupportAccess",
		"--assoc", "caroline:tom-sawyer", "--assoc", "charlotte:tom-sawyer,hundred-acre")
	require.Len(t, created, 2, "R36: one request per tenant")
	byTenant := map[string]engine.AccessRequest{}
	for _, r := range created {
		byTenant[r.Account] = r
	}
	assert.ElementsMatch(t, []string{"caroline", "charlotte"}, byTenant["tom-sawyer"].Users)
	assert.Equal(t, []string{"charlotte"}, byTenant["hundred-acre"].Users)
	tomReq := byTenant["tom-sawyer"].ID

	var seen engine.AccessRequest
	cli.asJSON(&seen, "tom", "requests", "show", tomReq)
	assert.Empty(t, seen.Name, "R37")
	assert.Empty(t, seen.Users, "R37")

	var granted engine.AccessRequest
	cli.asJSON(&granted, "tom", "requests", "approve", tomReq, "--expires-at", "2099-01-31T00:00:00Z", "--message", "welcome")
	assert.Equal(t, engine.StatusGranted, granted.Status)
	require.NotNil(t, granted.ExpiresAt)
	assert.Empty(t, granted.Users, "R37")

	var cleared engine.AccessRequest
	cli.asJSON(&cleared, "tom", "requests", "expiry", tomReq, "--clear")
	assert.Nil(t, cleared.ExpiresAt, "R38: the expiry can be removed")

	var denied engine.AccessRequest
	cli.asJSON(&denied, "pooh", "requests", "deny", byTenant["hundred-acre"].ID, "--reason-code", "other", "--message", "not now")
	assert.Equal(t, engine.StatusDenied, denied.Status)

	var revoked engine.AccessRequest
	cli.asJSON(&revoked, "tom", "requests", "revoke", tomReq, "--message", "case closed")
	assert.Equal(t, engine.StatusRevoked, revoked.Status)

	var mine []engine.AccessRequest
	cli.asJSON(&mine, "elizabeth", "requests", "list", "--mine", "--status", "revoked")
	require.Len(t, mine, 1, "R39a")
	assert.Equal(t, "SupportAccess", mine[0].Name, "the requester sees everything")
}

// The admin CLI lists, sets and removes members (R12, R26, R30, R31).
func TestMembersCommands(t *testing.T) {
	cli := newAdminCLI(t)

	var set engine.Membership
	cli.asJSON(&set, "alice", "members", "set", "acme", "carol",
		"--role", "account_viewer", "--va-role", "acme-us=va_user", "--justification", "auditor")
	assert.Equal(t, []string{"account_viewer"}, set.Roles)
	assert.Equal(t, map[string]string{"acme-us": "va_user"}, set.VARoles)
	assert.Equal(t, "alice", set.AddedBy)

	var members []engine.Membership
	cli.asJSON(&members, "alice", "members", "list", "acme")
	users := make([]string, len(members))
	for i, m := range members {
		users[i] = m.User
	}
	assert.ElementsMatch(t, []string{"alice", "bob", "carol"}, users)

	_, err := cli.as("alice", "members", "set", "acme", "ghost", "--role", "account_user", "--justification", "x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "404", "R31")
	_, err = cli.as("alice", "members", "remove", "acme", "alice")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "422", "R12: the last admin stays")
	_, err = cli.as("alice", "members", "set", "acme", "carol", "--privilege", "entitlements")
	require.ErrorContains(t, err, "--privilege", "bad flag input names the flag")

	out, err := cli.as("alice", "members", "remove", "acme", "carol")
	require.NoError(t, err)
	assert.Equal(t, "removed carol from acme\n", out)
	table, err := cli.as("alice", "members", "list", "acme")
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^USER\s+ROLES\s+VA ROLES\s+CONTACT`, table)
	assert.NotContains(t, table, "carol")
}

// The CLI's enumerated flags take every value the policy's data names,
// and "none" for a contact type (API.md), on members set, requests
// approve, requests deny and requests list --status; another value comes
// back as the server's 422 naming the field, the value and the allowed
// values.
func TestCLIEnumeratedFlagsFollowThePolicyData(t *testing.T) {
	raw, err := fs.ReadFile(policies.FS(), "data.json")
	require.NoError(t, err)
	var data struct {
		Gatehouse struct {
			Config struct {
				AccountRoles    map[string][]string `json:"account_roles"`
				Privileges      map[string][]string `json:"privileges"`
				DenyReasonCodes []string            `json:"deny_reason_codes"`
			} `json:"config"`
		} `json:"gatehouse"`
	}
	require.NoError(t, json.Unmarshal(raw, &data))
	cfg := data.Gatehouse.Config
	cli := newAdminCLI(t)
	n := 0
	newUser := func() string {
		n++
		id := fmt.Sprintf("cli%d", n)
		body := fmt.Sprintf(`{"email":"%s@example.com","first_name":"C","last_name":"L"}`, id)
		req, err := http.NewRequest(http.MethodPut, cli.url+"/v1/users/"+id, strings.NewReader(body))
		require.NoError(t, err)
		token, err := httpapi.MintHS256(cli.secret, "ops", time.Hour)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusCreated, res.StatusCode)
		return id
	}

	for role := range cfg.AccountRoles {
		out, err := cli.as("alice", "members", "set", "acme", newUser(), "--role", role, "--justification", "cli")
		require.NoError(t, err, "--role %s: %s", role, out)
	}
	for app, levels := range cfg.Privileges {
		for _, level := range levels {
			args := []string{"members", "set", "acme", newUser(), "--privilege", app + "=" + level, "--justification", "cli"}
			if app == "contact_updates" {
				args = append(args, "--contact", "secondary") // R6; acme has room for 4 (R10)
			}
			out, err := cli.as("alice", args...)
			require.NoError(t, err, "--privilege %s=%s: %s", app, level, out)
		}
	}
	var m engine.Membership
	cli.asJSON(&m, "alice", "members", "set", "acme", newUser(), "--role", "account_viewer", "--contact", "none", "--justification", "cli")
	assert.Equal(t, engine.ContactNone, m.Contact, "--contact none is no contact type")

	request := func() string {
		var r engine.AccessRequest
		cli.asJSON(&r, newUser(), "requests", "create", "acme")
		return r.ID
	}
	out, err := cli.as("alice", "requests", "approve", request(), "--scope", "account", "--role", "account_user", "--contact", "none")
	require.NoError(t, err, "approve --contact none: %s", out)
	for _, code := range cfg.DenyReasonCodes {
		out, err := cli.as("alice", "requests", "deny", request(), "--reason-code", code)
		require.NoError(t, err, "--reason-code %s: %s", code, out)
	}
	for _, status := range []string{"pending", "granted", "denied", "expired", "revoked"} {
		out, err := cli.as("alice", "requests", "list", "--account", "acme", "--status", status)
		require.NoError(t, err, "--status %s: %s", status, out)
	}

	_, err = cli.as("alice", "members", "set", "acme", newUser(), "--contact", "tertiary", "--justification", "cli")
	require.ErrorContains(t, err, "contact must be primary or secondary, or none (it is tertiary)")
	_, err = cli.as("alice", "requests", "deny", request(), "--reason-code", "grumpy")
	require.ErrorContains(t, err, "reason_code must be unknown_requester, access_not_needed, no_business_relationship or other (it is grumpy)")
	_, err = cli.as("alice", "requests", "list", "--account", "acme", "--status", "open")
	require.ErrorContains(t, err, `status: must be pending, granted, denied, expired or revoked (it is "open")`)
}
