package console

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 12, item 2: the configuration of the console's sign-in, and the
// identity provider's discovery document, outages and oversized answers.

// The provider is discovered when the login is made: down, unreachable or
// naming another issuer, NewOIDCLogin fails with a clear error (the server
// does not start, as with the API's discovery at --jwt-issuer). Down at
// the code exchange, Finish says so.
func TestOIDCProviderDown(t *testing.T) {
	c := startOIDCConsole(t, oidcOptions{})

	c.idp.setDown(true)
	_, err := NewOIDCLogin(context.Background(), c.config(""))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OpenID Connect discovery at "+c.idp.URL+"/.well-known/openid-configuration failed: it answered 503 Service Unavailable")
	assert.NotContains(t, err.Error(), "the identity provider is down", "the provider's body is not quoted")
	c.idp.setDown(false)

	b := c.browser(t)
	back := c.startSignIn(t, b)
	c.idp.setDown(true)
	status, body := callback(t, b, back)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, body, "the identity provider refused to exchange the code (503 Service Unavailable")
	assert.NotContains(t, body, back.Query().Get("code"))

	c.idp.setDown(false)
	cfg := c.config("")
	cfg.IssuerURL = c.idp.URL + "/tenant"
	_, err = NewOIDCLogin(context.Background(), cfg)
	assert.ErrorContains(t, err, "failed: it answered 404 Not Found")

	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	cfg.IssuerURL = gone.URL
	_, err = NewOIDCLogin(context.Background(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed: it cannot be reached")
	t.Logf("unreachable provider: %v", err)
}

// Discovery must name exactly the configured issuer.
func TestOIDCDiscoveryIssuerMustMatch(t *testing.T) {
	c := startOIDCConsole(t, oidcOptions{})
	cfg := c.config("")
	cfg.IssuerURL = strings.Replace(c.idp.URL, "127.0.0.1", "localhost", 1)
	_, err := NewOIDCLogin(context.Background(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "names the issuer \""+c.idp.URL+"\", not \""+cfg.IssuerURL+"\"")
}

// A configuration error names the field and changes nothing; no URL may be
// plain http to another host than loopback.
func TestOIDCConfigErrors(t *testing.T) {
	good := OIDCConfig{
		IssuerURL: "https://idp.example.com", ClientID: "console", ClientSecret: "a-secret-of-the-console",
		RedirectURL: "https://gatehouse.example.com/console/callback", CookieKey: make([]byte, OIDCCookieKeySize),
	}
	for _, tc := range []struct {
		name string
		edit func(*OIDCConfig)
		want string
	}{
		{name: "http issuer", edit: func(c *OIDCConfig) { c.IssuerURL = "http://idp.example.com" }, want: "the issuer URL: it must be https: plain http is allowed only to a loopback host"},
		{name: "issuer with a query", edit: func(c *OIDCConfig) { c.IssuerURL = "https://idp.example.com?tenant=acme" }, want: "the issuer URL must have no user info, query or fragment"},
		{name: "relative issuer", edit: func(c *OIDCConfig) { c.IssuerURL = "idp.example.com" }, want: "the issuer URL: it must be an absolute https URL"},
		{name: "http redirect", edit: func(c *OIDCConfig) { c.RedirectURL = "http://gatehouse.example.com/console/callback" }, want: "the redirect URL: it must be https"},
		{name: "no client id", edit: func(c *OIDCConfig) { c.ClientID = "" }, want: "the client id is empty"},
		{name: "no client secret", edit: func(c *OIDCConfig) { c.ClientSecret = "" }, want: "the client secret is empty"},
		{name: "short cookie key", edit: func(c *OIDCConfig) { c.CookieKey = []byte("short") }, want: "the cookie key must be 32 bytes (it is 5)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			_, err := NewOIDCLogin(context.Background(), cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), good.ClientSecret)
			assert.False(t, errors.Is(err, ErrSignInRefused))
		})
	}
}

// An endpoint of the discovery document that is plain http to another host
// than loopback, or missing, is refused when the login is made.
func TestOIDCDiscoveryEndpointsMustBeHTTPS(t *testing.T) {
	var issuer string
	doc := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := map[string]string{"issuer": issuer}
		for k, v := range doc {
			out[k] = v
		}
		idpWriteJSON(w, http.StatusOK, out)
	}))
	t.Cleanup(srv.Close)
	issuer = srv.URL
	doc["authorization_endpoint"] = "http://idp.example.com/authorize"
	doc["token_endpoint"] = issuer + "/token"
	cfg := OIDCConfig{
		IssuerURL: issuer, ClientID: "console", ClientSecret: "a-secret-of-the-console",
		RedirectURL: "https://gatehouse.example.com/console/callback", CookieKey: make([]byte, OIDCCookieKeySize),
	}
	_, err := NewOIDCLogin(context.Background(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the authorization_endpoint of the OpenID configuration at "+issuer+"/.well-known/openid-configuration: it must be https")
	assert.Contains(t, err.Error(), "has no jwks_uri")

	doc["padding"] = strings.Repeat("x", MaxOIDCAnswerBytes)
	_, err = NewOIDCLogin(context.Background(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "failed: its answer is unusable", "a document over 1 MiB is cut and does not parse")
}
