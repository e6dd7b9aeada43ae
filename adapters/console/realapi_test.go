package console

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
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

var realSecret = []byte("gatehouse-console-test-0123456789abcdef")

// realAPI is gatehouse's HTTP API over an embedded store seeded with
// testdata/demo.json, as the client's tests build it.
func realAPI(t *testing.T) (http.Handler, *engine.Engine) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := embedded.Open(t.TempDir(), embedded.WithNoSync())
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(t, err)
	policy, err := engine.CompilePolicy(context.Background(), files, "built-in")
	require.NoError(t, err)

	raw, err := os.ReadFile("../../testdata/demo.json")
	require.NoError(t, err)
	var seed struct {
		Accounts []engine.Account    `json:"accounts"`
		Users    []engine.User       `json:"users"`
		Members  []engine.Membership `json:"members"`
	}
	require.NoError(t, json.Unmarshal(raw, &seed))
	seeder, err := engine.New(store, policy, engine.WithSystemAdmins("gatehouse-seed"), engine.WithLogger(quiet))
	require.NoError(t, err)
	ctx := context.Background()
	for _, a := range seed.Accounts {
		_, _, err := seeder.PutAccount(ctx, "gatehouse-seed", a)
		require.NoError(t, err)
	}
	for _, u := range seed.Users {
		_, _, err := seeder.PutUser(ctx, "gatehouse-seed", u)
		require.NoError(t, err)
	}
	for _, m := range seed.Members {
		_, err := seeder.SetMember(ctx, "gatehouse-seed", m)
		require.NoError(t, err)
	}
	eng, err := engine.New(store, policy, engine.WithLogger(quiet), engine.WithSystemAdmins("ops"),
		engine.WithDecisionTimeout(time.Minute))
	require.NoError(t, err)
	verifier, err := httpapi.NewHS256Verifier(realSecret)
	require.NoError(t, err)
	return httpapi.New(eng, httpapi.WithVerifier(verifier), httpapi.WithLogger(quiet)), eng
}

// realConsole is the console over api, its development sign-in minting
// tokens the API accepts.
func realConsole(t *testing.T, api http.Handler) *Console {
	t.Helper()
	c, err := New(Options{API: api, DevSignIn: func(subject string) (Identity, error) {
		tok, err := httpapi.MintHS256(realSecret, subject, time.Hour)
		return Identity{Subject: subject, Token: tok, Expiry: time.Now().Add(time.Hour)}, err
	}})
	require.NoError(t, err)
	return c
}

// allowed asks the API's POST /v1/decisions.
func allowed(t *testing.T, api http.Handler, subject, action, account, va string) bool {
	t.Helper()
	body, err := json.Marshal(map[string]any{"subject": subject, "action": action,
		"resource": map[string]string{"account": account, "virtual_account": va}})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/decisions", bytes.NewReader(body)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var d struct {
		Allow bool `json:"allow"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &d))
	return d.Allow
}

var requestLink = regexp.MustCompile(`href="/console/requests/([0-9A-Z]+)"`)

// Through the real API, in process: carol asks access from the console,
// alice sees it pending and approves it for one virtual account (after a
// 422 shown beside the virtual-account list), and the decision flips
// (R20-R22); tom sees elizabeth's tenant request without its name or
// users (R37).
func TestThroughTheRealAPI(t *testing.T) {
	api, _ := realAPI(t)
	c := realConsole(t, api)

	carol := newBrowser(t, c)
	carol.signIn("carol")
	_, page := carol.get("/console/mine")
	resp, _ := carol.post("/console/mine", url.Values{"csrf": {csrfOf(t, page)}, "account": {"acme"}, "justification": {"EMEA <renewals>"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	alice := newBrowser(t, c)
	alice.signIn("alice")
	start := time.Now()
	_, page = alice.get("/console/requests")
	t.Logf("figure: pending requests page in %s", time.Since(start))
	assert.Contains(t, page, "EMEA &lt;renewals&gt;")
	m := requestLink.FindStringSubmatch(page)
	require.NotNil(t, m, page)
	id := m[1]
	_, page = alice.get("/console/requests/" + id)
	token := csrfOf(t, page)

	resp, page = alice.post("/console/requests/"+id+"/approve", url.Values{"csrf": {token}, "scope": {"virtual_accounts"}, "role": {"va_user"}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Regexp(t, `<div id="virtual_accounts-errors"><ul class="field-error" role="alert"><li>scope virtual_accounts needs at least one virtual account of acme`, page)
	assert.False(t, allowed(t, api, "carol", "use", "acme", "acme-emea"))

	resp, _ = alice.post("/console/requests/"+id+"/approve", url.Values{"csrf": {token}, "scope": {"virtual_accounts"}, "role": {"va_user"}, "virtual_accounts": {"acme-emea"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.True(t, allowed(t, api, "carol", "use", "acme", "acme-emea"))
	assert.False(t, allowed(t, api, "carol", "use", "acme", "acme-us"))

	// carol's requests, filtered by status (R39a).
	_, page = carol.get("/console/mine?status=granted")
	assert.Contains(t, page, `<td data-label="Account">acme</td>`)
	_, page = carol.get("/console/mine?status=denied")
	assert.NotContains(t, page, `<td data-label="Account">acme</td>`)
	assert.Contains(t, page, "No request.")

	// Deciding it again is a conflict, shown plainly (R25).
	resp, page = alice.post("/console/requests/"+id+"/deny", url.Values{"csrf": {token}, "reason_code": {"other"}})
	assert.Equal(t, http.StatusConflict, resp.StatusCode)
	assert.Contains(t, page, "only a pending request can be decided (R25)")

	eliz := newBrowser(t, c)
	eliz.signIn("elizabeth")
	_, page = eliz.get("/console/tenants")
	resp, _ = eliz.post("/console/tenants", url.Values{"csrf": {csrfOf(t, page)}, "name": {"SupportAccess"},
		"message": {"Classics account managers"}, "users.0": {"caroline, charlotte"}, "tenants.0": {"tom-sawyer"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)

	tom := newBrowser(t, c)
	tom.signIn("tom")
	_, page = tom.get("/console/tenants")
	assert.Contains(t, page, "Classics account managers")
	assert.NotContains(t, page, "SupportAccess")
	assert.NotContains(t, page, "caroline")
	m = requestLink.FindStringSubmatch(page)
	require.NotNil(t, m, page)
	_, page = tom.get("/console/requests/" + m[1])
	assert.NotContains(t, page, "SupportAccess")
	assert.NotContains(t, page, "charlotte")
	assert.Contains(t, page, "classics")
}

// The security team's page shows the active revision and the last reload
// error, as GET /v1/status reports them; an account admin is refused.
func TestPolicyStatusShowsTheLastReloadError(t *testing.T) {
	api, eng := realAPI(t)
	c := realConsole(t, api)
	_, err := eng.Reload(context.Background(), map[string][]byte{"broken.rego": []byte("package gatehouse.decision\nallow if {")}, "policies/broken.rego")
	require.Error(t, err)

	ops := newBrowser(t, c)
	ops.signIn("ops")
	resp, page := ops.get("/console/status")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, page, `<code id="active-revision">`+eng.Policy().Revision+`</code>`)
	assert.Regexp(t, `<dd id="last-error">[^<]*broken\.rego`, page)

	alice := newBrowser(t, c)
	alice.signIn("alice")
	resp, page = alice.get("/console/status")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, 1, strings.Count(page, "may not read the policy status"),
		"the refusal is shown once, not as the API's message and again as its violation:\n%s", page)
}

// R37 on every answer the tenant's admin can get: no page, form value,
// refusal or redirect of the console ever shows them the request's name
// or users, while the reseller who made it sees both.
func TestTenantAdminNeverSeesNameOrUsers(t *testing.T) {
	api, _ := realAPI(t)
	c := realConsole(t, api)
	eliz := newBrowser(t, c)
	eliz.signIn("elizabeth")
	_, page := eliz.get("/console/tenants")
	resp, _ := eliz.post("/console/tenants", url.Values{"csrf": {csrfOf(t, page)}, "name": {"HiddenName7"},
		"message": {"Classics support"}, "users.0": {"caroline charlotte"}, "tenants.0": {"tom-sawyer"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, page = eliz.get("/console/tenants")
	assert.Contains(t, page, "HiddenName7", "the requester sees everything")
	assert.Contains(t, page, "caroline")

	tom := newBrowser(t, c)
	tom.signIn("tom")
	secret := regexp.MustCompile(`HiddenName7|caroline|charlotte`)
	check := func(what string, resp *http.Response, page string) {
		t.Helper()
		assert.Less(t, resp.StatusCode, 500, what)
		assert.NotRegexp(t, secret, page, what)
		assert.NotRegexp(t, secret, resp.Header.Get("Location"), what)
	}
	resp, page = tom.get("/console/tenants")
	check("tenants", resp, page)
	m := requestLink.FindStringSubmatch(page)
	require.NotNil(t, m, page)
	id := m[1]
	for _, path := range []string{"/console/requests", "/console/requests/" + id, "/console/accounts", "/console/accounts/tom-sawyer",
		"/console/accounts/tom-sawyer/members", "/console/accounts/tom-sawyer/audit", "/console/mine", "/console/accounts/classics"} {
		resp, page := tom.get(path)
		check(path, resp, page)
	}
	_, page = tom.get("/console/requests/" + id)
	token := csrfOf(t, page)
	for _, form := range []url.Values{
		{"expires_at": {"2020-01-01T00:00"}},                         // a 422 beside the expiry
		{"role": {"account_admin"}, "scope": {"account"}},            // the policy's refusal
		{"expires_at": {"not a date"}},                               // the console's own refusal
		{"message": {"welcome"}, "expires_at": {"2099-01-01T00:00"}}, // the grant, and its redirect
		{"message": {"again"}},                                       // a conflict: granted already
	} {
		form.Set("csrf", token)
		resp, page := tom.post("/console/requests/"+id+"/approve", form)
		check("approve "+form.Encode(), resp, page)
	}
	for _, tc := range []struct{ action, body string }{
		{"expiry", "expires_at=2020-01-01T00:00"}, {"expiry", "expires_at=2099-06-01T00:00"},
		{"revoke", "message=done"}, {"revoke", "message=twice"}, {"deny", "reason_code=other"},
	} {
		req := httptest.NewRequest(http.MethodPost, "/console/requests/"+id+"/"+tc.action, strings.NewReader("csrf="+url.QueryEscape(token)+"&"+tc.body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp := tom.do(req)
		check(tc.action+" "+tc.body, resp, body(t, resp))
	}
	_, page = tom.get("/console/requests/" + id)
	assert.Contains(t, page, `<dd id="request-status">revoked</dd>`)
}

// Markup in everything people type (an account's name, a justification,
// a decider's message, a member's justification, the audit reasons) is
// text on every page that shows it: in element content, attribute values
// and URLs alike, no element or script is made of it.
func TestTypedMarkupIsTextOnEveryPage(t *testing.T) {
	api, eng := realAPI(t)
	c := realConsole(t, api)
	const evil = `"><script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>'`
	ctx := context.Background()
	acc, err := eng.GetAccount(ctx, "ops", "acme")
	require.NoError(t, err)
	acc.Name = "Acme " + evil
	_, _, err = eng.PutAccount(ctx, "ops", acc)
	require.NoError(t, err)

	carol := newBrowser(t, c)
	carol.signIn("carol")
	_, page := carol.get("/console/mine")
	resp, _ := carol.post("/console/mine", url.Values{"csrf": {csrfOf(t, page)}, "account": {"acme"}, "justification": {evil}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	alice := newBrowser(t, c)
	alice.signIn("alice")
	_, page = alice.get("/console/requests")
	pages := map[string]string{"pending": page}
	m := requestLink.FindStringSubmatch(page)
	require.NotNil(t, m, page)
	id := m[1]
	_, page = alice.get("/console/requests/" + id)
	pages["pending request"] = page
	token := csrfOf(t, page)
	resp, _ = alice.post("/console/requests/"+id+"/deny", url.Values{"csrf": {token}, "reason_code": {"other"}, "message": {evil}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = alice.post("/console/accounts/acme/members", url.Values{"csrf": {token}, "user": {"carol"},
		"roles": {"account_viewer"}, "justification": {evil}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	// A refusal re-shows what was typed in the form.
	resp, page = alice.post("/console/accounts/acme/members", url.Values{"csrf": {token}, "user": {"carol"},
		"roles": {"bogus"}, "justification": {evil}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	pages["refused member form"] = page
	// Query parameters the API refuses, its message quoting them.
	resp, page = carol.get("/console/mine?status=" + url.QueryEscape(evil))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	pages["status filter refused"] = page
	resp, page = alice.get("/console/accounts/acme/audit?after=" + url.QueryEscape(evil))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	pages["audit cursor refused"] = page

	for _, v := range []struct {
		b    *browser
		path string
	}{
		{alice, "/console/requests/" + id}, {alice, "/console/accounts"},
		{alice, "/console/accounts/acme"}, {alice, "/console/accounts/acme/members?edit=carol"},
		{alice, "/console/accounts/acme/audit"}, {carol, "/console/mine"}, {carol, "/console/requests/" + id + "?as=carol"},
	} {
		resp, page := v.b.get(v.path)
		require.Equal(t, http.StatusOK, resp.StatusCode, v.path)
		pages[v.path] = page
	}
	for name, page := range pages {
		assert.NotContains(t, page, "<script>alert", name)
		assert.NotContains(t, page, "<img src=x", name)
		assert.NotContains(t, page, `href="javascript:`, name)
		assert.NotContains(t, page, `"><script>`, name)
		assert.Contains(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;", "%s shows the markup as text", name)
	}
}
