package console

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeAPI answers the few API paths these handler tests visit, and
// records the bearer token of each call. The console's behaviour against
// the real API is tested in a browser (browsertest).
type fakeAPI struct {
	mu     sync.Mutex
	tokens []string
	// request is what GET /v1/access-requests/{id} answers.
	request map[string]any
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.tokens = append(f.tokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/v1/events", r.URL.Path == "/v1/me/access-requests", r.URL.Path == "/v1/access-requests":
		_, _ = w.Write([]byte(`{"items": []}`))
	case strings.HasPrefix(r.URL.Path, "/v1/access-requests/") && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(f.request)
	case strings.HasSuffix(r.URL.Path, "/deny"):
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"error": {"code": "validation_failed", "message": "x", "violations": ["acme requires a reason_code to deny a request: choose other (R24)"]}}`))
	case strings.HasPrefix(r.URL.Path, "/v1/accounts/"):
		_, _ = w.Write([]byte(`{"id": "acme", "name": "Acme", "virtual_accounts": ["acme-emea"]}`))
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error": {"code": "not_found", "message": "no such path"}}`))
	}
}

func (f *fakeAPI) lastToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tokens) == 0 {
		return ""
	}
	return f.tokens[len(f.tokens)-1]
}

// devToken is the token the test's DevSignIn mints.
const devToken = "dev-token-of-"

func newTestConsole(t *testing.T, api http.Handler, mutate ...func(*Options)) *Console {
	t.Helper()
	o := Options{API: api, DevSignIn: func(subject string) (Identity, error) {
		if subject == "" {
			return Identity{}, errors.New("user id is required")
		}
		return Identity{Subject: subject, Token: devToken + subject, Expiry: time.Now().Add(time.Hour)}, nil
	}}
	for _, m := range mutate {
		m(&o)
	}
	c, err := New(o)
	require.NoError(t, err)
	return c
}

// browser keeps the cookies of one visitor of the console.
type browser struct {
	t       *testing.T
	c       http.Handler
	cookies map[string]*http.Cookie
	tls     bool
}

func newBrowser(t *testing.T, c http.Handler) *browser {
	return &browser{t: t, c: c, cookies: map[string]*http.Cookie{}}
}

func (b *browser) do(req *http.Request) *http.Response {
	for _, ck := range b.cookies {
		req.AddCookie(ck)
	}
	if b.tls {
		req.TLS = &tls.ConnectionState{}
	}
	rec := httptest.NewRecorder()
	b.c.ServeHTTP(rec, req)
	resp := rec.Result()
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 {
			delete(b.cookies, ck.Name)
			continue
		}
		b.cookies[ck.Name] = ck
	}
	return resp
}

func (b *browser) get(path string) (*http.Response, string) {
	resp := b.do(httptest.NewRequest(http.MethodGet, path, nil))
	return resp, body(b.t, resp)
}

func (b *browser) post(path string, form url.Values, header ...string) (*http.Response, string) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp := b.do(req)
	return resp, body(b.t, resp)
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(raw)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf returns the CSRF token of the first form of a page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(page)
	require.NotNil(t, m, "the page has no CSRF token:\n%s", page)
	return m[1]
}

// signIn uses the development sign-in as user.
func (b *browser) signIn(user string) {
	b.t.Helper()
	_, page := b.get("/console/login")
	resp, _ := b.post("/console/login/dev", url.Values{"csrf": {csrfOf(b.t, page)}, "user": {user}})
	require.Equal(b.t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(b.t, "/console/requests", resp.Header.Get("Location"))
}

// Every answer carries the security headers (a CSP without inline script
// or style, no framing, no referrer to other sites, no sniffing): pages,
// assets, redirects, refusals and errors alike; only an asset that exists
// may be cached.
func TestSecurityHeaders(t *testing.T) {
	c := newTestConsole(t, &fakeAPI{})
	signedIn := newBrowser(t, c)
	signedIn.signIn("alice")
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{http.MethodGet, "/console/login", "", http.StatusOK},
		{http.MethodGet, "/console/requests", "", http.StatusSeeOther},
		{http.MethodHead, "/console/requests", "", http.StatusSeeOther},
		{http.MethodGet, "/console", "", http.StatusFound},
		{http.MethodGet, "/console/static/console.css", "", http.StatusOK},
		{http.MethodHead, "/console/static/console.js", "", http.StatusOK},
		{http.MethodGet, "/console/static/nope.css", "", http.StatusNotFound},
		{http.MethodGet, "/console/static/", "", http.StatusNotFound},
		{http.MethodGet, "/console/static/../login", "", http.StatusTemporaryRedirect},
		{http.MethodGet, "/console/nope", "", http.StatusNotFound},
		{http.MethodPut, "/console/requests", "", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/console/accounts/acme/members", "", http.StatusMethodNotAllowed},
		{http.MethodGet, "/console/logout", "", http.StatusMethodNotAllowed},
		{http.MethodPost, "/console/requests/r1/deny", "reason_code=other", http.StatusForbidden},
		{http.MethodPost, "/console/login/dev", "user=" + strings.Repeat("a", 70<<10), http.StatusBadRequest},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp := newBrowser(t, c).do(req)
			assert.Equal(t, tc.status, resp.StatusCode)
			h := resp.Header
			assert.Equal(t, "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
				h.Get("Content-Security-Policy"))
			assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
			assert.Equal(t, "same-origin", h.Get("Referrer-Policy"))
			assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			if tc.status == http.StatusOK && strings.HasPrefix(tc.path, "/console/static/") {
				assert.Equal(t, "public, max-age=3600", h.Get("Cache-Control"))
			} else {
				assert.Equal(t, "no-store", h.Get("Cache-Control"))
			}
		})
	}
	// A signed-in page.
	resp, _ := signedIn.get("/console/requests")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.NotEmpty(t, resp.Header.Get("Content-Security-Policy"))
}

// No page has an inline script, a style attribute or an event handler
// attribute, which the CSP would block.
func TestNoInlineScriptOrStyle(t *testing.T) {
	api := &fakeAPI{request: map[string]any{"id": "r1", "kind": "account", "account": "acme", "requester": "carol", "status": "pending", "created_at": time.Now()}}
	c := newTestConsole(t, api)
	b := newBrowser(t, c)
	b.signIn("alice")
	inline := regexp.MustCompile(`(?i)<script>|<script [^>]*>[^<]|<style|\sstyle=|\son[a-z]+=`)
	for _, path := range []string{"/console/login", "/console/requests", "/console/requests/r1", "/console/mine", "/console/tenants"} {
		resp, page := b.get(path)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.NotRegexp(t, inline, page, path)
	}
}

// The session cookie is HttpOnly, SameSite=Lax, scoped to the console, and
// Secure (with the __Host- prefix) over TLS; the token it carries is never
// in a page.
func TestSessionCookie(t *testing.T) {
	api := &fakeAPI{}
	c := newTestConsole(t, api)
	b := newBrowser(t, c)
	b.signIn("alice")
	ck := b.cookies[cookieName]
	require.NotNil(t, ck)
	assert.True(t, ck.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, ck.SameSite)
	assert.Equal(t, "/console/", ck.Path)
	assert.False(t, ck.Secure, "plain HTTP: a Secure cookie would not come back")
	assert.NotContains(t, ck.Value, devToken, "the cookie is sealed")

	_, page := b.get("/console/requests")
	assert.Contains(t, page, "alice")
	assert.NotContains(t, page, devToken, "no token in a page")
	assert.Equal(t, devToken+"alice", api.lastToken(), "the API is called with the user's token")

	tb := newBrowser(t, c)
	tb.tls = true
	tb.signIn("alice")
	sck := tb.cookies[secureCookieName]
	require.NotNil(t, sck)
	assert.True(t, sck.Secure)
	assert.True(t, sck.HttpOnly)
	assert.Equal(t, "/", sck.Path)

	// A cookie sealed by another key is no session.
	other := newTestConsole(t, api)
	ob := newBrowser(t, other)
	ob.cookies = b.cookies
	resp, _ := ob.get("/console/requests")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/console/login", resp.Header.Get("Location"))
}

// Every POST needs its session's CSRF token, and a same-origin Origin
// when the browser sends one: otherwise 403 and the API is never called.
func TestCSRF(t *testing.T) {
	api := &fakeAPI{request: map[string]any{"id": "r1", "kind": "account", "account": "acme", "requester": "carol", "status": "pending"}}
	c := newTestConsole(t, api)
	b := newBrowser(t, c)
	b.signIn("alice")
	_, page := b.get("/console/requests/r1")
	token := csrfOf(t, page)

	other := newBrowser(t, c)
	other.signIn("bob")
	_, otherPage := other.get("/console/requests")
	otherToken := csrfOf(t, otherPage)

	for name, tc := range map[string]struct {
		form   url.Values
		header []string
	}{
		"no token":                  {form: url.Values{"reason_code": {"other"}}},
		"wrong token":               {form: url.Values{"csrf": {"forged"}, "reason_code": {"other"}}},
		"another session's token":   {form: url.Values{"csrf": {otherToken}, "reason_code": {"other"}}},
		"right token, other origin": {form: url.Values{"csrf": {token}}, header: []string{"Origin", "https://evil.example"}},
		"right token, origin null":  {form: url.Values{"csrf": {token}}, header: []string{"Origin", "null"}},
		"right token, no origin, other site's referer": {form: url.Values{"csrf": {token}},
			header: []string{"Referer", "https://evil.example/page"}},
		"right token, no origin, other port's referer": {form: url.Values{"csrf": {token}},
			header: []string{"Referer", "http://example.com:8081/console/requests/r1"}},
	} {
		t.Run(name, func(t *testing.T) {
			api.mu.Lock()
			calls := len(api.tokens)
			api.mu.Unlock()
			resp, page := b.post("/console/requests/r1/deny", tc.form, tc.header...)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			assert.Contains(t, page, "did not come from this console&#39;s own page")
			api.mu.Lock()
			assert.Equal(t, calls, len(api.tokens), "the API was not called")
			api.mu.Unlock()
		})
	}
	// With its token, the form reaches the API (whose 422 is then shown
	// beside the reason field).
	resp, page := b.post("/console/requests/r1/deny", url.Values{"csrf": {token}}, "Referer", "http://example.com/console/requests/r1")
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "a same-origin Referer")
	resp, page = b.post("/console/requests/r1/deny", url.Values{"csrf": {token}}, "Origin", "http://example.com")
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Regexp(t, `id="reason_code-errors"><ul class="field-error" role="alert"><li>acme requires a reason_code`, page)

	// Signing in starts a new session: a token seen before is worth nothing.
	b.signIn("alice")
	resp, _ = b.post("/console/requests/r1/deny", url.Values{"csrf": {token}})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// What a user typed is escaped: markup in a justification is text.
func TestEscaping(t *testing.T) {
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>"'`
	api := &fakeAPI{request: map[string]any{"id": "r1", "kind": "account", "account": "acme", "requester": "carol",
		"status": "pending", "justification": evil, "created_at": time.Now()}}
	c := newTestConsole(t, api)
	b := newBrowser(t, c)
	b.signIn("alice")
	_, page := b.get("/console/requests/r1")
	assert.NotContains(t, page, "<script>alert(1)")
	assert.NotContains(t, page, "<img src=x")
	assert.Contains(t, page, `&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&#34;&#39;`)
}

// fakeFlow is an identity provider's sign-in: Start redirects to it,
// Finish accepts the code "good".
type fakeFlow struct{}

func (fakeFlow) Start(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "https://idp.example/authorize?state=s1", http.StatusFound)
}

func (fakeFlow) Finish(_ http.ResponseWriter, r *http.Request) (Identity, error) {
	if r.URL.Query().Get("code") != "good" {
		return Identity{}, errors.New("the identity provider refused the sign-in: access_denied")
	}
	return Identity{Subject: "tom", Token: "idp-jwt-of-tom", Expiry: time.Now().Add(time.Hour)}, nil
}

// With an identity provider, the sign-in page offers it; its callback
// starts a session whose API calls carry the provider's token.
func TestOIDCSignIn(t *testing.T) {
	api := &fakeAPI{}
	c := newTestConsole(t, api, func(o *Options) { o.OIDC, o.OIDCName, o.DevSignIn = fakeFlow{}, "Example IdP", nil })
	b := newBrowser(t, c)
	_, page := b.get("/console/login")
	assert.Contains(t, page, "Sign in with Example IdP")
	assert.NotContains(t, page, "Development sign-in")

	resp, _ := b.get("/console/login/oidc")
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "https://idp.example/authorize?state=s1", resp.Header.Get("Location"))

	resp, page = b.get("/console/callback?code=bad")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, page, "access_denied")

	resp, _ = b.get("/console/callback?code=good")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, page = b.get("/console/requests")
	assert.Contains(t, page, `<strong id="signed-in-as">tom</strong>`)
	assert.Equal(t, "idp-jwt-of-tom", api.lastToken())
	assert.NotContains(t, page, "idp-jwt-of-tom")

	// No development sign-in on this server.
	resp, _ = b.post("/console/login/dev", url.Values{"csrf": {csrfOf(t, page)}, "user": {"alice"}})
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// A development sign-in that DevSignIn refuses is shown beside the field.
func TestDevSignInRefused(t *testing.T) {
	c := newTestConsole(t, &fakeAPI{})
	b := newBrowser(t, c)
	_, page := b.get("/console/login")
	resp, page := b.post("/console/login/dev", url.Values{"csrf": {csrfOf(t, page)}, "user": {""}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Regexp(t, `id="user-errors"><ul class="field-error" role="alert"><li>user id is required`, page)
}

// The API's violations are placed beside the field they name.
func TestFieldOf(t *testing.T) {
	approve := []string{"scope", "role", "virtual_accounts", "contact", "privileges", "expires_at", "justification", "message"}
	for msg, want := range map[string]string{
		"scope virtual_accounts needs at least one virtual account of acme (R22)":                                                         "virtual_accounts",
		"virtual_accounts[0] must be a virtual account of acme: acme-emea or acme-us (it is x) (R22)":                                     "virtual_accounts",
		"role must be va_admin, va_user or va_viewer (it is account_user): scope virtual_accounts takes a virtual-account role (R2, R22)": "role",
		"scope must be account or virtual_accounts (it is x) (R22)":                                                                       "scope",
		"role account_user needs a scope: account or virtual_accounts (R22)":                                                              "scope",
		"contact must be secondary, or none (it is primary) (R23)":                                                                        "contact",
		"an account can have at most 4 secondary contacts (it has 4)":                                                                     "contact",
		"only a primary or secondary contact may hold contact_updates above none (R6)":                                                    "privileges",
		"privileges.entitlements must be none, view or update (it is x) (R5)":                                                             "privileges",
		"the expiry must be in the future (it is 2020-01-01T00:00:00Z) (R38)":                                                             "expires_at",
		"request acme is denied: only a pending request can be decided (R25)":                                                             "",
	} {
		assert.Equal(t, want, fieldOf(msg, approve), msg)
	}
	assert.Equal(t, "reason_code", fieldOf("acme requires a reason_code to deny a request: choose other (R24)", []string{"reason_code", "message"}))
	assert.Equal(t, "name", fieldOf("request name must contain only letters and digits, 1 to 64 of them (no spaces, no special characters) (R35)", []string{"name", "message", "associations"}))
	assert.Equal(t, "associations", fieldOf("jane is not an employee of classics (R35)", []string{"name", "message", "associations"}))
}

// A POST body over 64 KiB is refused before any work, saying so.
func TestFormSizeLimit(t *testing.T) {
	c := newTestConsole(t, &fakeAPI{})
	b := newBrowser(t, c)
	resp, page := b.post("/console/login/dev", url.Values{"user": {strings.Repeat("a", 70<<10)}})
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, page, "The form is larger than 64 KiB: nothing was changed.")
}

// Odd paths and forms get a page that says what is wrong, never a 5xx
// (R44): the console passes them to the API, whose refusal it shows.
func TestOddInputsNeverFail(t *testing.T) {
	api := &fakeAPI{request: map[string]any{"id": "r1", "kind": "tenant", "account": "acme", "requester": "carol", "status": "granted"}}
	c := newTestConsole(t, api)
	b := newBrowser(t, c)
	b.signIn("alice")
	for _, path := range []string{
		"/console/requests/%00", "/console/requests/" + strings.Repeat("x", 5000), "/console/requests/a%2Fb",
		"/console/accounts/%E2%9C%93/members?edit=%00", "/console/accounts/acme/audit?after=%FF%FE",
		"/console/mine?status=maybe", "/console/accounts?account=", "/console/accounts?account=../../v1",
		"/console/static/", "/console/static/../console.go", "/console/nope",
	} {
		resp, _ := b.get(path)
		assert.Less(t, resp.StatusCode, 500, path)
	}
	_, page := b.get("/console/requests/r1")
	token := csrfOf(t, page)
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{"/console/requests/r1/approve", url.Values{"expires_at": {"tomorrow"}}},
		{"/console/requests/r1/approve", url.Values{"privilege.nope": {"x"}, "virtual_accounts": {"", "\x00"}}},
		{"/console/requests/r1/expiry", url.Values{"expires_at": {"2027-13-45T99:99"}}},
		{"/console/requests/r1/revoke", url.Values{"message": {strings.Repeat("é", 10000)}}},
		{"/console/accounts/acme/members", url.Values{"user": {""}}},
		{"/console/accounts/acme/members", url.Values{"user": {"carol"}, "va": {"acme-emea"}, "va_role.acme-emea": {"va_user"}, "expires_at": {"x"}}},
		{"/console/accounts/acme/members/%00/remove", nil},
		{"/console/tenants", url.Values{"users.0": {",,,"}, "tenants.9": {"x"}}},
		{"/console/mine", url.Values{"account": {" "}}},
	} {
		form := url.Values{"csrf": {token}}
		for k, v := range f.form {
			form[k] = v
		}
		resp, page := b.post(f.path, form)
		assert.Less(t, resp.StatusCode, 500, "%s %v: %s", f.path, f.form, page)
	}
}

// A session ends with its token: past the token's expiry every page sends
// the browser to sign in again.
func TestSessionEndsWithItsToken(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := newTestConsole(t, &fakeAPI{}, func(o *Options) {
		o.Now = clock
		o.DevSignIn = func(subject string) (Identity, error) {
			return Identity{Subject: subject, Token: devToken + subject, Expiry: clock().Add(time.Hour)}, nil
		}
	})
	b := newBrowser(t, c)
	b.signIn("alice")
	resp, _ := b.get("/console/requests")
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	mu.Lock()
	now = now.Add(time.Hour + time.Second)
	mu.Unlock()
	resp, _ = b.get("/console/requests")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/console/login", resp.Header.Get("Location"))
}
