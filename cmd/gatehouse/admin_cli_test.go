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
	assert.Regexp(t, `(?m)^ID\s+ACCOUNT\s+STATUS\s+REASON\s+AGE\s+DECIDER\s+EXPIRES$`, table)
	assert.Regexp(t, `(?m)^`+created.ID+`\s+acme\s+granted\s+-\s+\d+s\s+alice\s+-$`, table)

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

// Issue 9, section 3: against a running server, each viewer's table shows
// the fields that matter for its rows (the tenant admin the reseller and its
// message, a denial its reason code), in at most 100 columns; "requests
// show" prints every field the API returns as "key: value"; --json is the
// API's answer, every field of it.
func TestRequestTablesAgainstAServer(t *testing.T) {
	cli := newAdminCLI(t)
	message := "Classics account managers, for the spring catalogue and the support contract renewal"

	var denied engine.AccessRequest
	cli.asJSON(&denied, "bob", "requests", "create", "northwind", "--justification", "renewals")
	cli.asJSON(&denied, "nina", "requests", "deny", denied.ID, "--reason-code", "no_business_relationship", "--message", "not a northwind employee")
	var created []engine.AccessRequest
	cli.asJSON(&created, "elizabeth", "requests", "tenant", "--name", "SupportAccess", "--message", message,
		"--assoc", "caroline:tom-sawyer", "--assoc", "charlotte:tom-sawyer,hundred-acre")
	require.Len(t, created, 2)
	tomReq := created[0].ID
	if created[0].Account != "tom-sawyer" {
		tomReq = created[1].ID
	}

	tables := []struct {
		name, subject string
		args          []string
		want          []string // regular expressions, each matching a line
		absent        []string
	}{
		{
			name: "a denial, to its decider", subject: "nina", args: []string{"requests", "list", "--account", "northwind"},
			want: []string{`^ID\s+REQUESTER\s+STATUS\s+REASON\s+AGE\s+DECIDER\s+EXPIRES$`,
				`^` + denied.ID + `\s+bob\s+denied\s+no_business_relationship\s+\d+s\s+nina\s+-$`},
		},
		{
			name: "a denial, to its requester", subject: "bob", args: []string{"requests", "list", "--mine"},
			want: []string{`^ID\s+ACCOUNT\s+STATUS\s+REASON`, `^` + denied.ID + `\s+northwind\s+denied\s+no_business_relationship\s`},
		},
		{
			name: "a tenant request, to the tenant admin (R37)", subject: "tom", args: []string{"requests", "list", "--account", "tom-sawyer"},
			want:   []string{`^ID\s+RESELLER\s+STATUS\s+AGE\s+EXPIRES\s+MESSAGE$`, `^` + tomReq + `\s+classics\s+pending\s+\d+s\s+-\s+Classics account managers`},
			absent: []string{"SupportAccess", "caroline", "charlotte"},
		},
		{
			name: "tenant requests, to their requester (R39a)", subject: "elizabeth", args: []string{"requests", "list", "--mine"},
			want: []string{`^NAME\s+TENANT\s+USERS\s+STATUS\s+EXPIRES\s+MESSAGE$`,
				`^SupportAccess\s+hundred-acre\s+charlotte\s+pending\s+-\s+-$`,
				`^SupportAccess\s+tom-sawyer\s+caroline,charlotte\s+pending\s+-\s+-$`},
		},
		{
			name: "the tenant admin's show (R37)", subject: "tom", args: []string{"requests", "show", tomReq},
			want: []string{`^id: +` + tomReq + `$`, `^kind: +tenant$`, `^partner: +classics$`, `^request_message: +Classics account managers, for the spring catalogue`, `^ +renewal$`,
				`^created_at: +\d{4}-\d\d-\d\dT`, `^status: +pending$`, `^requester: +elizabeth$`},
			absent: []string{"SupportAccess", "caroline", "name:", "users:"},
		},
		{
			name: "the decider's show of a denial", subject: "nina", args: []string{"requests", "show", denied.ID},
			want: []string{`^reason_code: +no_business_relationship$`, `^message: +not a northwind employee$`,
				`^decided_by: +nina$`, `^decided_at: +\d{4}-`, `^justification: +renewals$`},
		},
	}
	for _, tt := range tables {
		t.Run(tt.name, func(t *testing.T) {
			out, err := cli.as(tt.subject, tt.args...)
			require.NoError(t, err, out)
			requireFits(t, out)
			for _, re := range tt.want {
				assert.Regexp(t, `(?m)`+re, out)
			}
			for _, s := range tt.absent {
				assert.NotContains(t, out, s)
			}
		})
	}

	t.Run("--json is every field the API returns", func(t *testing.T) {
		token, err := httpapi.MintHS256(cli.secret, "tom", time.Hour)
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodGet, cli.url+"/v1/access-requests?account=tom-sawyer", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		var api struct {
			Items []map[string]any `json:"items"`
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&api))
		var printed []map[string]any
		cli.asJSON(&printed, "tom", "requests", "list", "--account", "tom-sawyer")
		assert.Equal(t, api.Items, printed)
		require.NotEmpty(t, printed)
		assert.Equal(t, "classics", printed[0]["partner"])
		assert.Equal(t, message, printed[0]["request_message"])
	})
}
