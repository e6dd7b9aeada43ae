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
