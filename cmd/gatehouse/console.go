package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/adapters/console"
	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/spf13/pflag"
)

// ConsoleConfig configures the admin console `serve` mounts at /console/
// (issue 12). Each field is a flag, also read from GATEHOUSE_<FLAG>.
type ConsoleConfig struct {
	// DevSignIn offers a sign-in as any user, with a token the server
	// mints from --jwt-hs256-secret-file: development servers only
	// (`make run`). It requires that secret.
	DevSignIn bool
	// SessionKeyFile holds the key (32 bytes, base64) that seals session
	// cookies, so that sessions survive a restart and are shared by
	// replicas; empty: a random key per process.
	SessionKeyFile string
	// SecureCookie marks the session cookie Secure on plain HTTP too, for
	// a server behind a proxy that terminates TLS.
	SecureCookie bool
}

// devTokenTTL is the lifetime of a token minted by the development
// sign-in: the console session ends with it.
const devTokenTTL = time.Hour

func (c *Config) bindConsoleFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.Console.DevSignIn, "console-dev-sign-in", c.Console.DevSignIn,
		"offer a sign-in as any user at /console/login, with a token minted from --jwt-hs256-secret-file (development servers only)")
	fs.StringVar(&c.Console.SessionKeyFile, "console-session-key-file", c.Console.SessionKeyFile,
		"file holding the key (32 bytes, base64) that seals console session cookies; by default a random key per process")
	fs.BoolVar(&c.Console.SecureCookie, "console-secure-cookie", c.Console.SecureCookie,
		"mark the console's session cookie Secure even on plain HTTP: a proxy in front terminates TLS (with --tls-cert-file it always is)")
}

// validateConsole checks the console flags: the development sign-in needs
// the development secret it mints tokens with.
func (c *Config) validateConsole() []error {
	if c.Console.DevSignIn && c.JWTSecretFile == "" {
		return []error{errors.New("--console-dev-sign-in needs --jwt-hs256-secret-file: it mints development tokens with that secret")}
	}
	return nil
}

// withConsole returns the server's handler: the console at /console/,
// calling api in process with the signed-in user's token, and api
// everywhere else. With --console-oidc-client-id the console offers the
// sign-in at --jwt-issuer's identity provider (consoleOIDC), discovered
// now: a provider that cannot be reached stops the server from starting.
func withConsole(ctx context.Context, cfg *Config, api http.Handler, tls bool, log *slog.Logger) (http.Handler, error) {
	opts := console.Options{API: api, Logger: log, SecureCookie: tls || cfg.Console.SecureCookie}
	if cfg.Console.SessionKeyFile != "" {
		key, err := readSessionKey(cfg.Console.SessionKeyFile)
		if err != nil {
			return nil, err
		}
		opts.SessionKey = key
	}
	if cfg.Console.DevSignIn {
		secret, err := readSecret(cfg.JWTSecretFile)
		if err != nil {
			return nil, err
		}
		opts.DevSignIn = devSignIn(secret, cfg.JWTAudience, cfg.JWTIssuer)
		log.Warn("--console-dev-sign-in: anyone who reaches /console/login may sign in as any user; development only")
	}
	login, err := consoleOIDC(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if login != nil {
		opts.OIDC, opts.OIDCName = login, providerName(cfg.JWTIssuer)
	}
	con, err := console.New(opts)
	if err != nil {
		return nil, err
	}
	// Every path under /console goes to the console as it came, so that
	// even the redirect of an unclean one ("/console/static/../login")
	// carries the console's security headers.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/console" || strings.HasPrefix(r.URL.Path, console.Prefix) {
			con.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}), nil
}

// providerName names the identity provider on the sign-in page: the
// host of its issuer URL (Validate has parsed it).
func providerName(issuer string) string {
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		return u.Host
	}
	return "your identity provider"
}

// devSignIn mints an HS256 token for a subject, with the claims the
// server requires.
func devSignIn(secret []byte, aud, iss string) console.DevSignIn {
	return func(subject string) (console.Identity, error) {
		if !engine.ValidID(subject) {
			return console.Identity{}, fmt.Errorf("user id %q must be 1-128 letters, digits, '.', '_', '-' or '@'", subject)
		}
		tok, err := httpapi.MintHS256(secret, subject, devTokenTTL, httpapi.MintAudience(aud), httpapi.MintIssuer(iss))
		if err != nil {
			return console.Identity{}, err
		}
		return console.Identity{Subject: subject, Token: tok, Expiry: time.Now().Add(devTokenTTL)}, nil
	}
}

// readSessionKey reads the console's session key: 32 bytes in base64.
func readSessionKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--console-session-key-file: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("--console-session-key-file %s must hold 32 bytes in base64 (head -c 32 /dev/urandom | base64)", path)
	}
	return key, nil
}
