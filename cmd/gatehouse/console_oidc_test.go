package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/console"
	"github.com/gatehouse/gatehouse/adapters/httpapi/idptest"
)

// Issue 12, item 2: the console's sign-in with the identity provider of
// --jwt-issuer is configured by --console-oidc-client-id,
// --console-oidc-client-secret-file and --console-oidc-redirect-url
// (each also GATEHOUSE_<FLAG>); Validate names what is missing or wrong.
func TestConsoleOIDCFlagsValidate(t *testing.T) {
	complete := func(c *Config) {
		c.JWTIssuer = "https://idp.example.com"
		c.ConsoleOIDC = ConsoleOIDCConfig{
			ClientID: "gatehouse-console", ClientSecretFile: "/run/secrets/console-oidc",
			RedirectURL: "https://gatehouse.example.com/console/callback",
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{name: "none: no sign-in with an identity provider", change: func(*Config) {}},
		{name: "complete", change: complete},
		{name: "complete, audience the client id", change: func(c *Config) { complete(c); c.JWTAudience = "gatehouse-console" }},
		{name: "complete, loopback http", change: func(c *Config) {
			complete(c)
			c.JWTIssuer, c.ConsoleOIDC.RedirectURL = "http://127.0.0.1:5556/dex", "http://localhost:8280/console/callback"
		}},
		{name: "client id alone", change: func(c *Config) { c.JWTIssuer, c.ConsoleOIDC.ClientID = "https://idp.example.com", "gatehouse-console" },
			want: "--console-oidc-client-id needs --console-oidc-client-secret-file and --console-oidc-redirect-url"},
		{name: "secret file alone", change: func(c *Config) { c.JWTIssuer, c.ConsoleOIDC.ClientSecretFile = "https://idp.example.com", "/s" },
			want: "--console-oidc-client-secret-file needs --console-oidc-client-id and --console-oidc-redirect-url"},
		{name: "no redirect url", change: func(c *Config) { complete(c); c.ConsoleOIDC.RedirectURL = "" },
			want: "--console-oidc-client-id and --console-oidc-client-secret-file needs --console-oidc-redirect-url"},
		{name: "no issuer", change: func(c *Config) { complete(c); c.JWTIssuer = "" },
			want: "--console-oidc-client-id needs --jwt-issuer"},
		{name: "http issuer", change: func(c *Config) { complete(c); c.JWTIssuer = "http://idp.example.com" },
			want: "plain http is allowed only to a loopback host"},
		{name: "HS256 secret", change: func(c *Config) { complete(c); c.JWTSecretFile = "/dev.secret" },
			want: "--jwt-hs256-secret-file verifies only tokens signed with that secret"},
		{name: "audience not the client id", change: func(c *Config) { complete(c); c.JWTAudience = "gatehouse" },
			want: `--jwt-audience "gatehouse" is not --console-oidc-client-id "gatehouse-console"`},
		{name: "http redirect", change: func(c *Config) {
			complete(c)
			c.ConsoleOIDC.RedirectURL = "http://gatehouse.example.com/console/callback"
		}, want: "--console-oidc-redirect-url http://gatehouse.example.com/***: it must be https"},
		{name: "redirect elsewhere", change: func(c *Config) { complete(c); c.ConsoleOIDC.RedirectURL = "https://gatehouse.example.com/callback" },
			want: "must be the public URL of the console's /console/callback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.change(cfg)
			err := cfg.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// The flags are serve's and read GATEHOUSE_<FLAG>.
func TestConsoleOIDCFlagsFromEnvironment(t *testing.T) {
	t.Setenv("GATEHOUSE_CONSOLE_OIDC_CLIENT_ID", "from-env")
	t.Setenv("GATEHOUSE_CONSOLE_OIDC_REDIRECT_URL", "https://gatehouse.example.com/console/callback")
	cmd := newRootCommand()
	serve, _, err := cmd.Find([]string{"serve"})
	require.NoError(t, err)
	require.NoError(t, serve.ParseFlags([]string{"--console-oidc-client-secret-file", "/s"}))
	require.NoError(t, applyEnv(serve.Flags()))
	for name, want := range map[string]string{
		"console-oidc-client-id":          "from-env",
		"console-oidc-redirect-url":       "https://gatehouse.example.com/console/callback",
		"console-oidc-client-secret-file": "/s",
	} {
		assert.Equal(t, want, serve.Flags().Lookup(name).Value.String(), name)
	}
}

// consoleOIDC returns nil when the console has no identity provider, and
// otherwise an OIDC sign-in discovered at --jwt-issuer, reading the client
// secret from its file; Start sends the browser to the provider with the
// client id, the redirect URL and a PKCE challenge.
func TestConsoleOIDCLoginFlow(t *testing.T) {
	flow, err := consoleOIDC(context.Background(), DefaultConfig())
	require.NoError(t, err)
	assert.Nil(t, flow, "not configured: no identity provider sign-in")

	var issuer string
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer": issuer, "authorization_endpoint": issuer + "/authorize",
			"token_endpoint": issuer + "/token", "jwks_uri": issuer + "/jwks",
		})
	}))
	t.Cleanup(idp.Close)
	issuer = idp.URL

	cfg := DefaultConfig()
	cfg.JWTIssuer = issuer
	cfg.JWTSubjectClaim = "email"
	cfg.ConsoleOIDC = ConsoleOIDCConfig{
		ClientID: "gatehouse-console", ClientSecretFile: writeFile(t, "console-oidc", "a-console-client-secret\n"),
		RedirectURL: "http://127.0.0.1:8280/console/callback",
	}
	require.NoError(t, cfg.Validate())
	flow, err = consoleOIDC(context.Background(), cfg)
	require.NoError(t, err)
	require.IsType(t, &console.OIDCLogin{}, flow)

	rec := httptest.NewRecorder()
	flow.Start(rec, httptest.NewRequest(http.MethodGet, "/console/login", nil))
	require.Equal(t, http.StatusFound, rec.Code)
	to, err := rec.Result().Location()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(to.String(), issuer+"/authorize?"), to.String())
	assert.Equal(t, "gatehouse-console", to.Query().Get("client_id"))
	assert.Equal(t, cfg.ConsoleOIDC.RedirectURL, to.Query().Get("redirect_uri"))
	assert.Equal(t, "S256", to.Query().Get("code_challenge_method"))
	assert.NotContains(t, to.String(), "a-console-client-secret")

	// serve's handler offers it on the console's sign-in page and starts
	// it at /console/login/oidc.
	handler, err := withConsole(context.Background(), cfg, http.NotFoundHandler(), false, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/login", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `href="/console/login/oidc">Sign in with `+strings.TrimPrefix(issuer, "http://")+`</a>`)
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/login/oidc", nil))
	require.Equal(t, http.StatusFound, rec.Code)
	to, err = rec.Result().Location()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(to.String(), issuer+"/authorize?"), to.String())

	short := *cfg
	short.ConsoleOIDC.ClientSecretFile = writeFile(t, "short", "short")
	_, err = consoleOIDC(context.Background(), &short)
	assert.ErrorContains(t, err, "--console-oidc-client-secret-file: secret in")

	idp.Close()
	flow, err = consoleOIDC(context.Background(), cfg)
	require.Error(t, err, "the provider is discovered when serve starts")
	assert.Nil(t, flow)
	assert.Contains(t, err.Error(), "the console's sign-in at --jwt-issuer's identity provider: OpenID Connect discovery at "+issuer+"/.well-known/openid-configuration failed: it cannot be reached")
	assert.NotContains(t, err.Error(), "a-console-client-secret")
}

// The token the console calls the API with is the provider's ID token: a
// server configured as Validate lets it be (--jwt-issuer the provider,
// --jwt-audience the client id, --jwt-subject-claim email) accepts one,
// nonce, azp and at_hash included, and reads the same user from it as the
// console does.
func TestAPIAcceptsTheConsoleIDToken(t *testing.T) {
	key := idptest.NewRSAKey(t, "idp-2026-11")
	idp := idptest.Start(t, key)
	cfg := DefaultConfig()
	cfg.JWTIssuer, cfg.JWTAudience, cfg.JWTSubjectClaim = idp.URL, "gatehouse-console", "email"
	cfg.ConsoleOIDC = ConsoleOIDCConfig{
		ClientID: "gatehouse-console", ClientSecretFile: "/run/secrets/console-oidc",
		RedirectURL: "http://localhost:8280/console/callback",
	}
	require.NoError(t, cfg.Validate())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := newVerifier(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)

	now := time.Now()
	idToken := key.Sign(t, jwt.MapClaims{
		"iss": idp.URL, "aud": "gatehouse-console", "azp": "gatehouse-console", "sub": "248289761001",
		"email": "bob@example.com", "email_verified": true, "nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
		"iat": now.Unix(), "auth_time": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	subject, err := v.Verify(idToken)
	require.NoError(t, err)
	assert.Equal(t, "bob@example.com", subject)
}
