package console

import (
	"encoding/base64"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Attacks on the console and what it must withstand (issue 12): replayed,
// planted and altered session cookies, forged and malformed forms, ids
// that are not ids, and secrets that must reach no log, URL or page.

// A copy of the session cookie, replayed after sign-out or after another
// sign-in in the same browser, is no session: pages send it to sign in,
// forms are refused and never reach the API.
func TestEndedSessionCannotBeReplayed(t *testing.T) {
	for _, overTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "tls"}[overTLS], func(t *testing.T) {
			api := &fakeAPI{request: map[string]any{"id": "r1", "kind": "account", "account": "acme", "requester": "carol", "status": "pending"}}
			c := newTestConsole(t, api)
			b := newBrowser(t, c)
			b.tls = overTLS
			b.signIn("alice")
			_, page := b.get("/console/requests/r1")
			token := csrfOf(t, page)
			stolen := newBrowser(t, c)
			stolen.tls = overTLS
			for name, ck := range b.cookies {
				stolen.cookies[name] = ck
			}
			resp, _ := stolen.get("/console/requests")
			require.Equal(t, http.StatusOK, resp.StatusCode, "the copy works while the session lasts")

			resp, _ = b.post("/console/logout", url.Values{"csrf": {token}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			assert.Empty(t, b.cookies, "the cookie is removed")

			resp, _ = stolen.get("/console/requests")
			assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
			assert.Equal(t, "/console/login", resp.Header.Get("Location"))
			api.mu.Lock()
			calls := len(api.tokens)
			api.mu.Unlock()
			resp, page = stolen.post("/console/requests/r1/deny", url.Values{"csrf": {token}, "reason_code": {"other"}})
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
			assert.Contains(t, page, "CSRF")
			api.mu.Lock()
			assert.Equal(t, calls, len(api.tokens), "the API was not called")
			api.mu.Unlock()
			_, page = stolen.get("/console/login")
			assert.NotContains(t, page, `id="signed-in-as"`)

			// Signing in again as someone else ends the session it replaces.
			b.signIn("alice")
			before := newBrowser(t, c)
			before.tls = overTLS
			for name, ck := range b.cookies {
				before.cookies[name] = ck
			}
			b.signIn("bob")
			resp, _ = before.get("/console/requests")
			assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
			_, page = b.get("/console/requests")
			assert.Contains(t, page, `<strong id="signed-in-as">bob</strong>`)
		})
	}
}

// Over TLS only the __Host- cookie is a session: a session cookie under
// the plain name, which anyone on the network path could plant over HTTP
// (sealed by this server for their own account), signs no one in.
func TestPlantedPlainCookieIgnoredOverTLS(t *testing.T) {
	api := &fakeAPI{}
	c := newTestConsole(t, api)
	attacker := newBrowser(t, c)
	attacker.tls = true
	attacker.signIn("mallory")
	sealed := attacker.cookies[secureCookieName]
	require.NotNil(t, sealed)

	victim := newBrowser(t, c)
	victim.tls = true
	victim.cookies[cookieName] = &http.Cookie{Name: cookieName, Value: sealed.Value}
	resp, _ := victim.get("/console/requests")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/console/login", resp.Header.Get("Location"))
	_, page := victim.get("/console/login")
	assert.NotContains(t, page, "mallory")

	// Behind a proxy that terminates TLS (SecureCookie), the same.
	proxied := newTestConsole(t, api, func(o *Options) { o.SecureCookie = true })
	p := newBrowser(t, proxied)
	p.signIn("mallory")
	planted := newBrowser(t, proxied)
	planted.cookies[cookieName] = &http.Cookie{Name: cookieName, Value: p.cookies[secureCookieName].Value}
	resp, _ = planted.get("/console/requests")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
}

// A form with a field sent twice, a value that is not UTF-8 text or holds
// a control character is refused with 400 naming the field, before the
// API is called: nothing is changed, nothing is silently altered.
func TestMalformedFormsRefusedNamingTheField(t *testing.T) {
	api := &fakeAPI{request: map[string]any{"id": "r1", "kind": "account", "account": "acme", "requester": "carol", "status": "pending"}}
	c := newTestConsole(t, api)
	b := newBrowser(t, c)
	b.signIn("alice")
	_, page := b.get("/console/requests/r1")
	token := csrfOf(t, page)
	for _, tc := range []struct {
		path, body, field string
	}{
		{"/console/requests/r1/deny", "reason_code=other&reason_code=access_not_needed", "the field reason_code was sent 2 times"},
		{"/console/requests/r1/approve", "role=account_user&scope=account&scope=virtual_accounts", "the field scope was sent 2 times"},
		{"/console/requests/r1/deny", "reason_code=other&message=bad%FFbytes", "the field message holds something that is not text"},
		{"/console/requests/r1/deny", "reason_code=other&message=nul%00here", "the field message holds something that is not text"},
		{"/console/requests/r1/revoke", "message=%1B%5B31mred", "the field message holds something that is not text"},
		{"/console/mine", "account=acme&justification=a%C3", "the field justification holds something that is not text"},
		{"/console/accounts/acme/members", "user=carol&justification=x&justification=y", "the field justification was sent 2 times"},
		{"/console/tenants", "name=N&users.0=a&users.0=b", "the field users.0 was sent 2 times"},
		{"/console/requests/r1/deny", "reason_code=other&%FF=x", "a field name is not text"},
		{"/console/login/dev", "user=alice&user=bob", "the field user was sent 2 times"},
		{"/console/logout", "csrf=" + url.QueryEscape(token), "the field csrf was sent 2 times"},
	} {
		t.Run(tc.path+" "+tc.field, func(t *testing.T) {
			api.mu.Lock()
			calls := len(api.tokens)
			api.mu.Unlock()
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader("csrf="+url.QueryEscape(token)+"&"+tc.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp := b.do(req)
			page := body(t, resp)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, page, "nothing was changed: "+html.EscapeString(tc.field))
			assert.NotContains(t, page, "\xff", "the bad bytes are not echoed")
			api.mu.Lock()
			assert.Equal(t, calls, len(api.tokens), "the API was not called")
			api.mu.Unlock()
		})
	}
	// Several virtual accounts, roles and lines of text are fine.
	resp, _ := b.post("/console/requests/r1/deny", url.Values{"csrf": {token}, "reason_code": {"other"}, "message": {"line 1\r\n\tline 2 ✓"}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "the form reached the (fake) API")
}

// An id typed in a form that goes into the API's path (the account of an
// access request, the user of the member form, the account to open) and
// is not one is refused beside the field, in the field's name, before
// the API is called (which would name its path parameter, or with a '/'
// find no endpoint).
func TestTypedIDsNamedAsTheField(t *testing.T) {
	api := &fakeAPI{}
	c := newTestConsole(t, api)
	b := newBrowser(t, c)
	b.signIn("carol")
	_, page := b.get("/console/mine")
	resp, page := b.post("/console/mine", url.Values{"csrf": {csrfOf(t, page)}, "account": {"acme corp/../x"}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Regexp(t, `id="access-account" name="account" required value="acme corp/../x">\s*<ul class="field-error" role="alert"><li>account must be an account id`, page)

	// The same for the user id of the member form, which names the API's path too.
	_, page = b.get("/console/accounts/acme/members")
	api.mu.Lock()
	calls := len(api.tokens)
	api.mu.Unlock()
	resp, page = b.post("/console/accounts/acme/members", url.Values{"csrf": {csrfOf(t, page)}, "user": {"bob/../carol"}, "justification": {"x"}})
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	assert.Regexp(t, `id="member-user" name="user" required value="bob/../carol">\s*<ul class="field-error" role="alert"><li>user must be a user id`, page)
	api.mu.Lock()
	assert.Equal(t, calls+2, len(api.tokens), "only the page's reads again (account, members), no write")
	api.mu.Unlock()

	resp, page = b.get("/console/accounts?account=" + url.QueryEscape("a b"))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, page, "account must be an account id")
	resp, _ = b.get("/console/accounts?account=acme")
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/console/accounts/acme", resp.Header.Get("Location"))
}

// No token, session cookie or CSRF token is ever in a log line (at debug
// level), a page or a redirect's URL.
func TestNoSecretInLogsPagesOrURLs(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logs.Write(p) })
	api := &fakeAPI{request: map[string]any{"id": "r1", "kind": "account", "account": "acme", "requester": "carol", "status": "pending"}}
	c := newTestConsole(t, api, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	b := newBrowser(t, c)
	b.signIn("alice")
	cookie := b.cookies[cookieName].Value
	var seen []string
	for _, path := range []string{"/console/requests", "/console/requests/r1", "/console/mine", "/console/tenants", "/console/accounts/acme/members", "/console/nope"} {
		resp, page := b.get(path)
		seen = append(seen, page, resp.Header.Get("Location"))
	}
	_, page := b.get("/console/requests/r1")
	token := csrfOf(t, page)
	for _, f := range []url.Values{{"reason_code": {"other"}}, {"csrf": {"forged"}}, {"message": {"x", "y"}}} {
		form := url.Values{"csrf": {token}}
		for k, v := range f {
			form[k] = v
		}
		resp, page := b.post("/console/requests/r1/deny", form)
		seen = append(seen, page, resp.Header.Get("Location"))
	}
	resp, _ := b.post("/console/logout", url.Values{"csrf": {token}})
	seen = append(seen, resp.Header.Get("Location"))

	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, logs.String(), "console sign-in", "the logger was used")
	for _, secret := range []string{devToken, cookie, token} {
		assert.NotContains(t, logs.String(), secret)
		for _, s := range seen {
			assert.NotContains(t, csrfInput.ReplaceAllString(s, ""), secret, "only the forms' hidden CSRF field carries the token")
		}
	}
	for _, s := range seen {
		assert.NotContains(t, s, "?csrf=", "no token in a URL")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Every state-changing route refuses a form without its session's token
// or from another site, before any API call: approve, deny, expiry,
// revoke, member add/change/remove, tenant request, access request, and
// sign-out and sign-in themselves (a forged sign-in or sign-out changes
// no session).
func TestEveryPostRouteNeedsTheCSRFToken(t *testing.T) {
	api := &fakeAPI{request: map[string]any{"id": "r1", "kind": "account", "account": "acme", "requester": "carol", "status": "pending"}}
	c := newTestConsole(t, api)
	b := newBrowser(t, c)
	b.signIn("alice")
	_, page := b.get("/console/requests/r1")
	token := csrfOf(t, page)
	routes := []string{
		"/console/requests/r1/approve", "/console/requests/r1/deny", "/console/requests/r1/expiry", "/console/requests/r1/revoke",
		"/console/accounts/acme/members", "/console/accounts/acme/members/bob/remove", "/console/tenants", "/console/mine",
		"/console/logout", "/console/login/dev",
	}
	for _, route := range routes {
		for name, tc := range map[string]struct {
			form   url.Values
			header []string
		}{
			"no token":             {form: url.Values{"user": {"mallory"}}},
			"token in the query":   {form: url.Values{"user": {"mallory"}}},
			"token, other origin":  {form: url.Values{"csrf": {token}, "user": {"mallory"}}, header: []string{"Origin", "https://evil.example"}},
			"token, other referer": {form: url.Values{"csrf": {token}, "user": {"mallory"}}, header: []string{"Referer", "https://evil.example/"}},
		} {
			t.Run(route+" "+name, func(t *testing.T) {
				api.mu.Lock()
				calls := len(api.tokens)
				api.mu.Unlock()
				path := route
				if name == "token in the query" {
					path += "?csrf=" + url.QueryEscape(token)
				}
				resp, _ := b.post(path, tc.form, tc.header...)
				assert.Equal(t, http.StatusForbidden, resp.StatusCode)
				api.mu.Lock()
				assert.Equal(t, calls, len(api.tokens), "the API was not called")
				api.mu.Unlock()
			})
		}
	}
	_, page = b.get("/console/requests")
	assert.Contains(t, page, `<strong id="signed-in-as">alice</strong>`, "still alice: no forged sign-out or sign-in took")
}

// A session cookie altered in any way (a flipped bit, cut short, not
// base64, empty, huge) is no session: the page sends the browser to sign
// in, and a form with the session's CSRF token is refused.
func TestTamperedSessionCookie(t *testing.T) {
	api := &fakeAPI{}
	c := newTestConsole(t, api)
	b := newBrowser(t, c)
	b.signIn("alice")
	_, page := b.get("/console/requests")
	token := csrfOf(t, page)
	good := b.cookies[cookieName].Value
	raw, err := base64.RawURLEncoding.DecodeString(good)
	require.NoError(t, err)
	flip := func(i int) string {
		alt := append([]byte(nil), raw...)
		alt[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(alt)
	}
	for name, value := range map[string]string{
		"nonce bit flipped":      flip(0),
		"ciphertext bit flipped": flip(len(raw) / 2),
		"tag bit flipped":        flip(len(raw) - 1),
		"cut short":              good[:len(good)/2],
		"nonce only":             base64.RawURLEncoding.EncodeToString(raw[:12]),
		"not base64":             "!!" + good,
		"empty":                  "",
		"huge":                   strings.Repeat("A", 8000),
	} {
		t.Run(name, func(t *testing.T) {
			forged := newBrowser(t, c)
			forged.cookies[cookieName] = &http.Cookie{Name: cookieName, Value: value}
			resp, _ := forged.get("/console/requests")
			assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
			assert.Equal(t, "/console/login", resp.Header.Get("Location"))
			resp, _ = forged.post("/console/mine", url.Values{"csrf": {token}, "account": {"acme"}})
			assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		})
	}
}

// An id in a console path that is not one (a '/' from %2F, a space, too
// long) is refused with 400 naming it, before any API call: the call
// would otherwise be made to another endpoint's path ("acme/members").
func TestPathIDsCheckedBeforeTheAPI(t *testing.T) {
	api := &fakeAPI{request: map[string]any{"id": "r1", "kind": "account", "account": "acme", "requester": "carol", "status": "pending"}}
	c := newTestConsole(t, api)
	b := newBrowser(t, c)
	b.signIn("alice")
	_, page := b.get("/console/requests/r1")
	token := csrfOf(t, page)
	for _, tc := range []struct{ method, path, name string }{
		{http.MethodGet, "/console/accounts/acme%2Fmembers", "The account id"},
		{http.MethodGet, "/console/accounts/acme%2Fmembers/members", "The account id"},
		{http.MethodGet, "/console/accounts/acme%2Fx/audit", "The account id"},
		{http.MethodGet, "/console/requests/x%2F..%2F..%2Faccounts%2Facme", "The request id"},
		{http.MethodGet, "/console/requests/" + strings.Repeat("x", 129), "The request id"},
		{http.MethodGet, "/console/requests/a%20b", "The request id"},
		{http.MethodPost, "/console/requests/r1%2Fdeny/approve", "The request id"},
		{http.MethodPost, "/console/accounts/acme/members/bob%2F..%2Fcarol/remove", "The user id"},
		{http.MethodPost, "/console/accounts/acme%2Fmembers/members", "The account id"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			api.mu.Lock()
			calls := len(api.tokens)
			api.mu.Unlock()
			var resp *http.Response
			var page string
			if tc.method == http.MethodGet {
				resp, page = b.get(tc.path)
			} else {
				resp, page = b.post(tc.path, url.Values{"csrf": {token}, "user": {"carol"}})
			}
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Contains(t, page, tc.name+" in the address must be 1-128 letters")
			api.mu.Lock()
			assert.Equal(t, calls, len(api.tokens), "the API was not called")
			api.mu.Unlock()
		})
	}
	resp, _ := b.get("/console/accounts/acme.emea_1-x@y/members")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "every character of an id is fine")
}

// A confirmation ("The request was approved.") shows only after the
// visitor's own change: the redirect carries a mark of their session, so
// a link someone else made (done= without the mark, with another
// session's, or another confirmation's) claims nothing.
func TestConfirmationOnlyAfterOwnChange(t *testing.T) {
	api, _ := realAPI(t)
	c := realConsole(t, api)
	carol := newBrowser(t, c)
	carol.signIn("carol")
	_, page := carol.get("/console/mine")
	resp, _ := carol.post("/console/mine", url.Values{"csrf": {csrfOf(t, page)}, "account": {"acme"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	mine := resp.Header.Get("Location")
	_, page = carol.get(mine)
	assert.Contains(t, page, "Your access request was sent.")

	alice := newBrowser(t, c)
	alice.signIn("alice")
	_, page = alice.get("/console/requests")
	m := requestLink.FindStringSubmatch(page)
	require.NotNil(t, m, page)
	id := m[1]
	_, page = alice.get("/console/requests/" + id)
	resp, _ = alice.post("/console/requests/"+id+"/deny", url.Values{"csrf": {csrfOf(t, page)}, "reason_code": {"other"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	denied := resp.Header.Get("Location")
	require.Contains(t, denied, "done=denied&mark=")
	_, page = alice.get(denied)
	assert.Contains(t, page, "The request was denied.")

	mark := denied[strings.Index(denied, "mark="):]
	for who, link := range map[*browser][]string{
		alice: {"/console/requests/" + id + "?done=denied", "/console/requests/" + id + "?done=approved&" + mark,
			"/console/requests/" + id + "?done=denied&mark=forged"},
		carol: {denied, "/console/mine?done=requested"},
	} {
		for _, l := range link {
			_, page := who.get(l)
			assert.NotContains(t, page, `class="notice"`, l)
		}
	}
}
