package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/adapters/console"
	"github.com/gatehouse/gatehouse/adapters/httpapi"
)

// consoleCallbackPath is where the console receives the identity
// provider's redirect: --console-oidc-redirect-url must end with it.
const consoleCallbackPath = "/console/callback"

// ConsoleOIDCConfig is the console's client registration at the identity
// provider of --jwt-issuer (issue 12): all empty, the console has no
// sign-in through an identity provider.
type ConsoleOIDCConfig struct {
	ClientID         string
	ClientSecretFile string
	RedirectURL      string
}

// enabled reports whether any of the console's OIDC flags is given.
func (o ConsoleOIDCConfig) enabled() bool {
	return o.ClientID != "" || o.ClientSecretFile != "" || o.RedirectURL != ""
}

// validateConsoleOIDC checks the console's sign-in with the identity
// provider: the three flags together, with --jwt-issuer naming the
// provider; a redirect URL that is https (or http to loopback) ending in
// /console/callback; and an API that accepts the ID tokens the console
// calls it with: keys from the provider (not the HS256 secret) and
// --jwt-audience, when set, equal to the client id (their aud).
func (c *Config) validateConsoleOIDC() []error {
	o := c.ConsoleOIDC
	if !o.enabled() {
		return nil
	}
	var errs []error
	var given, missing []string
	for _, f := range []struct{ flag, value string }{
		{"--console-oidc-client-id", o.ClientID},
		{"--console-oidc-client-secret-file", o.ClientSecretFile},
		{"--console-oidc-redirect-url", o.RedirectURL},
	} {
		if f.value == "" {
			missing = append(missing, f.flag)
		} else {
			given = append(given, f.flag)
		}
	}
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("%s needs %s: the console's sign-in with an identity provider takes --console-oidc-client-id, --console-oidc-client-secret-file and --console-oidc-redirect-url together", strings.Join(given, " and "), strings.Join(missing, " and ")))
	}
	if c.JWTIssuer == "" {
		errs = append(errs, fmt.Errorf("%s needs --jwt-issuer: the console signs users in with the identity provider whose tokens the API trusts", given[0]))
	} else if err := httpapi.CheckKeySetURL(c.JWTIssuer); err != nil {
		errs = append(errs, fmt.Errorf("--jwt-issuer %s: the console signs users in there, and %v", redactURL(c.JWTIssuer), err))
	}
	if c.JWTSecretFile != "" {
		errs = append(errs, fmt.Errorf("%s needs the API to verify the identity provider's tokens, and --jwt-hs256-secret-file verifies only tokens signed with that secret: drop it (the keys are then found at --jwt-issuer) or give --jwt-jwks-url", given[0]))
	}
	if c.JWTAudience != "" && o.ClientID != "" && c.JWTAudience != o.ClientID {
		errs = append(errs, fmt.Errorf("--jwt-audience %q is not --console-oidc-client-id %q: the API would refuse the ID tokens the console calls it with (their aud is the client id)", c.JWTAudience, o.ClientID))
	}
	if o.RedirectURL != "" {
		u, err := url.Parse(o.RedirectURL)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("--console-oidc-redirect-url is not a URL: %s", urlProblem(err)))
		case httpapi.CheckKeySetURL(o.RedirectURL) != nil:
			errs = append(errs, fmt.Errorf("--console-oidc-redirect-url %s: %v", redactURL(o.RedirectURL), httpapi.CheckKeySetURL(o.RedirectURL)))
		case !strings.HasSuffix(u.Path, consoleCallbackPath) || u.RawQuery != "" || u.Fragment != "":
			errs = append(errs, fmt.Errorf("--console-oidc-redirect-url %s must be the public URL of the console's %s, with no query or fragment", redactURL(o.RedirectURL), consoleCallbackPath))
		}
	}
	return errs
}

// consoleOIDC returns the console's sign-in through the identity provider
// of --jwt-issuer (console.OIDCLogin), or nil when
// --console-oidc-client-id is not given. The client secret is read from
// --console-oidc-client-secret-file; the key of the flow cookie is derived
// from it (HKDF-SHA256), so that every replica sharing the registration
// reads the others' cookies. The subject is read from --jwt-subject-claim,
// as the API reads it. The provider is discovered now: when it cannot be
// reached, or its discovery document is unusable, the error says so and the
// server does not start.
func consoleOIDC(ctx context.Context, cfg *Config) (console.LoginFlow, error) {
	o := cfg.ConsoleOIDC
	if !o.enabled() {
		return nil, nil
	}
	secret, err := readSecret(o.ClientSecretFile)
	if err != nil {
		return nil, fmt.Errorf("--console-oidc-client-secret-file: %w", err)
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "gatehouse console OIDC flow cookie", console.OIDCCookieKeySize)
	if err != nil {
		return nil, fmt.Errorf("derive the console's cookie key: %w", err)
	}
	login, err := console.NewOIDCLogin(ctx, console.OIDCConfig{
		IssuerURL:    cfg.JWTIssuer,
		ClientID:     o.ClientID,
		ClientSecret: string(secret),
		RedirectURL:  o.RedirectURL,
		SubjectClaim: cfg.JWTSubjectClaim,
		CookieKey:    key,
	})
	if err != nil {
		return nil, fmt.Errorf("the console's sign-in at --jwt-issuer's identity provider: %w", err)
	}
	return login, nil
}
