package console

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 12, item 2: signing in to the console with an identity provider,
// the authorization-code flow with PKCE, against a provider running in the
// test (oidc_idp_test.go) and a console serving Start and Finish on its
// paths, driven by an HTTP client with a cookie jar as a browser would.

const (
	oidcLoginPath    = "/console/login"
	oidcCallbackPath = "/console/callback"
)

// oidcClock is a clock the tests move.
type oidcClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *oidcClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *oidcClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// oidcConsole is a console that signs in through a testIdP: its callback
// answers 200 "signed in as SUBJECT", or 403 with Finish's error.
type oidcConsole struct {
	idp   *oidcTestIdP
	login *OIDCLogin
	srv   *httptest.Server
	clock *oidcClock

	mu   sync.Mutex
	last Identity
	err  error
}

type oidcOptions struct {
	claims       jwt.MapClaims
	subjectClaim string
}

func startOIDCConsole(t *testing.T, o oidcOptions) *oidcConsole {
	t.Helper()
	c := &oidcConsole{clock: &oidcClock{t: time.Now()}}
	mux := http.NewServeMux()
	mux.HandleFunc(oidcLoginPath, func(w http.ResponseWriter, r *http.Request) { c.login.Start(w, r) })
	mux.HandleFunc(oidcCallbackPath, func(w http.ResponseWriter, r *http.Request) {
		id, err := c.login.Finish(w, r)
		c.mu.Lock()
		c.last, c.err = id, err
		c.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		_, _ = io.WriteString(w, "signed in as "+id.Subject)
	})
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
	claims := o.claims
	if claims == nil {
		claims = jwt.MapClaims{"sub": "alice"}
	}
	c.idp = startOIDCTestIdP(t, c.srv.URL+oidcCallbackPath, claims)
	login, err := NewOIDCLogin(context.Background(), c.config(o.subjectClaim))
	require.NoError(t, err)
	c.login = login
	return c
}

// config is the console's configuration, with a new cookie key each time.
func (c *oidcConsole) config(subjectClaim string) OIDCConfig {
	key := make([]byte, OIDCCookieKeySize)
	_, _ = rand.Read(key)
	return OIDCConfig{
		IssuerURL:    c.idp.URL,
		ClientID:     c.idp.ClientID,
		ClientSecret: c.idp.ClientSecret,
		RedirectURL:  c.srv.URL + oidcCallbackPath,
		SubjectClaim: subjectClaim,
		CookieKey:    key,
		Now:          c.clock.Now,
	}
}

// result is the identity and error of the last Finish.
func (c *oidcConsole) result() (Identity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, c.err
}

// browser is an HTTP client with its own cookie jar that stops before the
// console's callback, so a test can look at (and change) the redirect.
func (c *oidcConsole) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == oidcCallbackPath {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// startSignIn follows the sign-in from the console's login path through the
// provider and returns the callback URL the provider redirected to.
func (c *oidcConsole) startSignIn(t *testing.T, b *http.Client) *url.URL {
	t.Helper()
	res, err := b.Get(c.srv.URL + oidcLoginPath)
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, http.StatusFound, res.StatusCode, "the provider redirects back to the console")
	back, err := res.Location()
	require.NoError(t, err)
	require.Equal(t, oidcCallbackPath, back.Path)
	return back
}

// callback opens u in b and returns the console's status and body.
func callback(t *testing.T, b *http.Client, u *url.URL) (int, string) {
	t.Helper()
	res, err := b.Get(u.String())
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, strings.TrimSpace(string(body))
}

// flowCookie returns the flow cookie b would send to the callback.
func (c *oidcConsole) flowCookie(b *http.Client) *http.Cookie {
	u, _ := url.Parse(c.srv.URL + oidcCallbackPath)
	for _, ck := range b.Jar.Cookies(u) {
		if ck.Name == OIDCFlowCookie {
			return ck
		}
	}
	return nil
}

// A full round trip signs the user in: the subject from sub, or from the
// email claim as with --jwt-subject-claim email; the token is the raw ID
// token (issued by the provider for the client id, as the API checks) and
// the flow cookie is gone afterwards.
func TestOIDCSignInRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, subjectClaim, want string
		claims                   jwt.MapClaims
	}{
		{name: "sub", claims: jwt.MapClaims{"sub": "alice"}, want: "alice"},
		{name: "email claim", subjectClaim: "email", claims: jwt.MapClaims{"sub": "248289761001", "email": "bob@example.com", "email_verified": true}, want: "bob@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startOIDCConsole(t, oidcOptions{claims: tc.claims, subjectClaim: tc.subjectClaim})
			b := c.browser(t)
			started := time.Now()
			back := c.startSignIn(t, b)
			require.NotNil(t, c.flowCookie(b), "Start left the flow cookie for the callback")
			status, body := callback(t, b, back)
			t.Logf("sign-in round trip (start, provider, callback, exchange, verify): %s", time.Since(started))
			require.Equal(t, http.StatusOK, status, body)
			assert.Equal(t, "signed in as "+tc.want, body)

			id, err := c.result()
			require.NoError(t, err)
			assert.Equal(t, tc.want, id.Subject)
			assert.WithinDuration(t, time.Now().Add(time.Hour), id.Expiry, time.Minute, "the expiry is the ID token's exp")
			claims := jwt.MapClaims{}
			_, _, err = jwt.NewParser().ParseUnverified(id.Token, claims)
			require.NoError(t, err, "the token is a JWT")
			assert.Equal(t, c.idp.URL, claims["iss"], "the API trusts this issuer (--jwt-issuer)")
			assert.Equal(t, c.idp.ClientID, claims["aud"], "the audience is the client id (--jwt-audience)")
			assert.Nil(t, c.flowCookie(b), "Finish cleared the flow cookie")
		})
	}
}

// Start sends the browser to the provider with a state, a nonce and an S256
// code challenge, and keeps them in an encrypted cookie that is HttpOnly,
// SameSite=Lax, scoped to the callback path, short-lived, and Secure when
// the callback is https.
func TestOIDCStartRedirectAndCookie(t *testing.T) {
	c := startOIDCConsole(t, oidcOptions{})
	for _, tc := range []struct {
		name     string
		redirect string
		secure   bool
	}{
		{name: "loopback http callback", redirect: c.srv.URL + oidcCallbackPath},
		{name: "https callback", redirect: "https://console.example.com/console/callback", secure: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := c.config("")
			cfg.RedirectURL = tc.redirect
			login, err := NewOIDCLogin(context.Background(), cfg)
			require.NoError(t, err)
			rec := httptest.NewRecorder()
			login.Start(rec, httptest.NewRequest(http.MethodGet, oidcLoginPath, nil))
			res := rec.Result()
			require.Equal(t, http.StatusFound, res.StatusCode)
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))

			to, err := res.Location()
			require.NoError(t, err)
			assert.Equal(t, c.idp.URL+"/authorize", to.Scheme+"://"+to.Host+to.Path)
			q := to.Query()
			assert.Equal(t, "code", q.Get("response_type"))
			assert.Equal(t, c.idp.ClientID, q.Get("client_id"))
			assert.Equal(t, tc.redirect, q.Get("redirect_uri"))
			assert.Equal(t, "S256", q.Get("code_challenge_method"))
			assert.Len(t, q.Get("code_challenge"), 43, "a base64url SHA-256")
			assert.Contains(t, strings.Fields(q.Get("scope")), "openid")
			assert.GreaterOrEqual(t, len(q.Get("state")), 26)
			assert.GreaterOrEqual(t, len(q.Get("nonce")), 26)

			cookies := res.Cookies()
			require.Len(t, cookies, 1)
			ck := cookies[0]
			if tc.secure {
				assert.Equal(t, OIDCSecureFlowCookie, ck.Name, "a secure origin's own cookie")
			} else {
				assert.Equal(t, OIDCFlowCookie, ck.Name)
			}
			assert.True(t, ck.HttpOnly)
			assert.Equal(t, http.SameSiteLaxMode, ck.SameSite)
			assert.Equal(t, "/console/callback", ck.Path)
			assert.Equal(t, 600, ck.MaxAge)
			assert.Equal(t, tc.secure, ck.Secure)
			assert.NotContains(t, ck.Value, q.Get("state"), "the cookie is encrypted")
			assert.NotContains(t, ck.Value, q.Get("nonce"))
		})
	}
}

// A code obtained in one browser (with its PKCE challenge) and put in
// another browser's callback is refused by the provider: the second
// browser's verifier does not match. The error names the refusal and
// quotes neither the code nor the provider's description of it.
func TestOIDCRefusesCodeOfAnotherBrowser(t *testing.T) {
	c := startOIDCConsole(t, oidcOptions{})
	attacker, victim := c.browser(t), c.browser(t)
	stolen := c.startSignIn(t, attacker)
	back := c.startSignIn(t, victim)
	code := stolen.Query().Get("code")
	q := back.Query()
	q.Set("code", code)
	back.RawQuery = q.Encode()

	status, body := callback(t, victim, back)
	assert.Equal(t, http.StatusForbidden, status)
	_, err := c.result()
	require.ErrorIs(t, err, ErrSignInRefused)
	assert.Contains(t, err.Error(), "the identity provider refused to exchange the code")
	assert.Contains(t, err.Error(), "invalid_grant")
	assert.NotContains(t, body, code, "the code is not echoed")
	assert.Equal(t, 1, c.idp.exchanges())
}

// The callback is refused, before any exchange, when its state is not the
// cookie's, when the browser has no flow cookie, and when it is replayed
// (the cookie is cleared by the first Finish; the same request with the
// cookie again is refused too).
func TestOIDCRefusesCallbackNotOfThisSignIn(t *testing.T) {
	t.Run("state mismatch", func(t *testing.T) {
		c := startOIDCConsole(t, oidcOptions{})
		b := c.browser(t)
		back := c.startSignIn(t, b)
		q := back.Query()
		q.Set("state", "an-attacker-state")
		back.RawQuery = q.Encode()
		status, body := callback(t, b, back)
		assert.Equal(t, http.StatusForbidden, status)
		assert.Contains(t, body, "the state in the callback is not the one this browser's sign-in sent")
		assert.Nil(t, c.flowCookie(b), "a refused callback ends the sign-in")
		assert.Equal(t, 0, c.idp.exchanges())
	})
	t.Run("missing state", func(t *testing.T) {
		c := startOIDCConsole(t, oidcOptions{})
		b := c.browser(t)
		back := c.startSignIn(t, b)
		q := back.Query()
		q.Del("state")
		back.RawQuery = q.Encode()
		status, body := callback(t, b, back)
		assert.Equal(t, http.StatusForbidden, status)
		assert.Contains(t, body, "the state in the callback is not the one")
	})
	t.Run("no flow cookie", func(t *testing.T) {
		c := startOIDCConsole(t, oidcOptions{})
		back := c.startSignIn(t, c.browser(t))
		status, body := callback(t, c.browser(t), back)
		assert.Equal(t, http.StatusForbidden, status)
		assert.Contains(t, body, "no sign-in is in progress in this browser")
		assert.Equal(t, 0, c.idp.exchanges())
	})
	t.Run("replayed callback", func(t *testing.T) {
		c := startOIDCConsole(t, oidcOptions{})
		b := c.browser(t)
		back := c.startSignIn(t, b)
		flow := c.flowCookie(b)
		status, body := callback(t, b, back)
		require.Equal(t, http.StatusOK, status, body)

		status, body = callback(t, b, back)
		assert.Equal(t, http.StatusForbidden, status)
		assert.Contains(t, body, "no sign-in is in progress in this browser")

		req := httptest.NewRequest(http.MethodGet, back.String(), nil)
		req.AddCookie(&http.Cookie{Name: OIDCFlowCookie, Value: flow.Value})
		_, err := c.login.Finish(httptest.NewRecorder(), req)
		require.ErrorIs(t, err, ErrSignInRefused)
		assert.Contains(t, err.Error(), "this sign-in was already finished")
		assert.Equal(t, 1, c.idp.exchanges(), "a replay never reaches the provider")
	})
}

// An ID token wrong in one way is refused: another nonce, audience or
// issuer, expired, or signed by a key the provider's key set does not hold.
func TestOIDCRefusesBadIDTokens(t *testing.T) {
	for _, tc := range []struct {
		name  string
		knobs idTokenKnobs
		want  string
	}{
		{name: "wrong nonce", knobs: idTokenKnobs{nonce: "another-nonce"}, want: "the ID token's nonce is not the one this sign-in sent"},
		{name: "wrong audience", knobs: idTokenKnobs{audience: "another-client"}, want: "the ID token was refused: expected audience"},
		{name: "wrong issuer", knobs: idTokenKnobs{issuer: "https://evil.example.com"}, want: "the ID token was refused: id token issued by a different provider"},
		{name: "expired", knobs: idTokenKnobs{life: -time.Minute}, want: "the ID token expired at"},
		{name: "unknown signing key", knobs: idTokenKnobs{otherKey: true}, want: "the ID token was refused: failed to verify signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startOIDCConsole(t, oidcOptions{})
			c.idp.set(tc.knobs)
			b := c.browser(t)
			status, body := callback(t, b, c.startSignIn(t, b))
			assert.Equal(t, http.StatusForbidden, status)
			assert.Contains(t, body, tc.want)
			id, err := c.result()
			require.ErrorIs(t, err, ErrSignInRefused)
			assert.Equal(t, Identity{}, id)
			assert.NotContains(t, body, "eyJ", "no token is echoed")
		})
	}
}

// The subject claim must hold a valid gatehouse id, and an email subject
// the provider marks unverified is refused.
func TestOIDCRefusesUnusableSubject(t *testing.T) {
	for _, tc := range []struct {
		name, subjectClaim, want string
		claims                   jwt.MapClaims
	}{
		{name: "unverified email", subjectClaim: "email", claims: jwt.MapClaims{"sub": "1", "email": "eve@example.com", "email_verified": false}, want: "email is not verified"},
		{name: "no such claim", subjectClaim: "email", claims: jwt.MapClaims{"sub": "1"}, want: `no string claim "email"`},
		{name: "not an id", claims: jwt.MapClaims{"sub": "alice smith"}, want: "the ID token's sub claim is not a valid gatehouse id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startOIDCConsole(t, oidcOptions{claims: tc.claims, subjectClaim: tc.subjectClaim})
			b := c.browser(t)
			status, body := callback(t, b, c.startSignIn(t, b))
			assert.Equal(t, http.StatusForbidden, status)
			assert.Contains(t, body, tc.want)
		})
	}
}

// The provider's error redirect (the user declined) is shown as such,
// without its free-text description.
func TestOIDCShowsProviderError(t *testing.T) {
	c := startOIDCConsole(t, oidcOptions{})
	c.idp.denyWith("access_denied")
	b := c.browser(t)
	status, body := callback(t, b, c.startSignIn(t, b))
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, "sign-in refused: the identity provider did not let you sign in (access_denied): you declined, or it refused this account", body)
	assert.Nil(t, c.flowCookie(b))

	c.idp.denyWith("<script>alert(1)</script>")
	status, body = callback(t, b, c.startSignIn(t, b))
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, "sign-in refused: the identity provider answered with an error (an error code that is not well formed)", body)
}

// An altered flow cookie is refused, and so is one past the flow timeout.
func TestOIDCRefusesAlteredOrExpiredFlowCookie(t *testing.T) {
	t.Run("altered", func(t *testing.T) {
		c := startOIDCConsole(t, oidcOptions{})
		b := c.browser(t)
		back := c.startSignIn(t, b)
		flow := c.flowCookie(b)
		sealed, err := base64.RawURLEncoding.DecodeString(flow.Value)
		require.NoError(t, err)
		sealed[len(sealed)/2] ^= 1
		req := httptest.NewRequest(http.MethodGet, back.String(), nil)
		req.AddCookie(&http.Cookie{Name: OIDCFlowCookie, Value: base64.RawURLEncoding.EncodeToString(sealed)})
		_, err = c.login.Finish(httptest.NewRecorder(), req)
		require.ErrorIs(t, err, ErrSignInRefused)
		assert.Contains(t, err.Error(), "the sign-in cookie was altered")

		req = httptest.NewRequest(http.MethodGet, back.String(), nil)
		req.AddCookie(&http.Cookie{Name: OIDCFlowCookie, Value: "not base64!"})
		_, err = c.login.Finish(httptest.NewRecorder(), req)
		assert.ErrorContains(t, err, "the sign-in cookie was altered")

		other, err := NewOIDCLogin(context.Background(), c.config(""))
		require.NoError(t, err)
		req = httptest.NewRequest(http.MethodGet, back.String(), nil)
		req.AddCookie(flow)
		_, err = other.Finish(httptest.NewRecorder(), req)
		assert.ErrorContains(t, err, "the sign-in cookie was altered", "a cookie sealed with another key")
		assert.Equal(t, 0, c.idp.exchanges())
	})
	t.Run("expired", func(t *testing.T) {
		c := startOIDCConsole(t, oidcOptions{})
		b := c.browser(t)
		back := c.startSignIn(t, b)
		flow := c.flowCookie(b)
		c.clock.Add(DefaultOIDCFlowTimeout + time.Second)
		req := httptest.NewRequest(http.MethodGet, back.String(), nil)
		req.AddCookie(flow)
		_, err := c.login.Finish(httptest.NewRecorder(), req)
		require.ErrorIs(t, err, ErrSignInRefused)
		assert.Contains(t, err.Error(), "the sign-in took longer than 10m0s")
	})
}

// With an https callback the flow cookie is __Secure-: a flow cookie of
// the plain name, which anyone on the network path could plant over HTTP
// (sealed by this server for a sign-in the attacker started, with their
// state and code), is not read, so it cannot sign the browser in as them.
func TestOIDCPlantedPlainFlowCookieIgnored(t *testing.T) {
	c := startOIDCConsole(t, oidcOptions{})
	cfg := c.config("")
	cfg.RedirectURL = "https://console.example.com/console/callback"
	login, err := NewOIDCLogin(context.Background(), cfg)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	login.Start(rec, httptest.NewRequest(http.MethodGet, oidcLoginPath, nil))
	res := rec.Result()
	to, err := res.Location()
	require.NoError(t, err)
	require.Len(t, res.Cookies(), 1)
	sealed := res.Cookies()[0]
	require.Equal(t, OIDCSecureFlowCookie, sealed.Name)

	callback := "https://console.example.com/console/callback?code=attackers-code&state=" + url.QueryEscape(to.Query().Get("state"))
	planted := httptest.NewRequest(http.MethodGet, callback, nil)
	planted.AddCookie(&http.Cookie{Name: OIDCFlowCookie, Value: sealed.Value})
	_, err = login.Finish(httptest.NewRecorder(), planted)
	require.ErrorIs(t, err, ErrSignInRefused)
	assert.Contains(t, err.Error(), "no sign-in is in progress in this browser")
	assert.Equal(t, 0, c.idp.exchanges(), "the planted flow never reaches the provider")
}
