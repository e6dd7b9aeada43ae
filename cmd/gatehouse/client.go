package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/client"
)

// apiClient is the Go client of the HTTP API (package client) as the
// commands that talk to a running gatehouse use it: configured from
// --server and --token, its errors told in the CLI's words.
type apiClient struct {
	gh    *client.Client
	base  string
	token string
	err   error // a --server that is not a URL: every call returns it
}

func newAPIClient(cfg *Config) *apiClient {
	base, err := serverURL(cfg.Server)
	c := &apiClient{base: base, token: cfg.Token, err: err}
	if err == nil {
		opts := []client.Option{client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second})}
		if cfg.Token != "" {
			opts = append(opts, client.WithToken(cfg.Token))
		}
		c.gh, c.err = client.New(base, opts...)
	}
	return c
}

// run calls the API through fn, and tells its error for the person at the
// terminal: an error answer as an *apiError (with a hint on a 401), no
// answer as "no gatehouse answers at ...".
func (c *apiClient) run(fn func(gh *client.Client) error) error {
	if c.err != nil {
		return c.err
	}
	return c.explain(fn(c.gh))
}

// explain turns an error of the client into the CLI's message.
func (c *apiClient) explain(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		e := &apiError{Status: ce.Status, Code: ce.Code, Message: ce.Message, Violations: ce.Violations}
		if ce.Status == http.StatusUnauthorized {
			e.Hint = c.tokenHint(time.Now())
		}
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The method and URL again say nothing new, and the URL may carry credentials.
		return fmt.Errorf("no gatehouse answers at %s (--server or GATEHOUSE_SERVER): %w", redactURL(c.base), ue.Err)
	}
	return err
}

// serverURL turns --server into the base URL of the API: http:// is assumed
// when no scheme is given (localhost:8280, 127.0.0.1:8280, [::1]:8280), a
// trailing slash is dropped. Anything but an http(s) URL with a host, no
// credentials and no query is an error naming the flag.
func serverURL(raw string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("--server %q (or GATEHOUSE_SERVER) %s: give the URL of a running gatehouse, e.g. http://127.0.0.1:8280", raw, why)
	}
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return "", bad("is empty")
	case strings.Contains(s, "@"):
		// Not quoted: the part before the @ may be a password.
		return "", errors.New("--server (or GATEHOUSE_SERVER) carries user@ credentials: give the token with --token and the server as e.g. http://127.0.0.1:8280")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", bad("is not a URL (" + err.Error() + ")")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", bad("has scheme " + u.Scheme + ", not http or https")
	case u.Hostname() == "":
		return "", bad("has no host")
	case u.Port() != "" && !validPort(u.Port()):
		return "", bad("has port " + u.Port() + ", not 1-65535")
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", bad("has a query or fragment")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// apiError is an error answer of the API (API.md "Errors").
type apiError struct {
	Status     int
	Code       string   `json:"code"`
	Message    string   `json:"message"`
	Violations []string `json:"violations"`
	// Hint says what to do about it, for the person at the terminal.
	Hint string `json:"-"`
}

// Error is the status and the server's message; several violations are
// listed one a line rather than repeated after the message that joins them.
func (e *apiError) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if len(e.Violations) > 1 {
		msg = fmt.Sprintf("%d %s:", e.Status, e.Code)
		for _, v := range e.Violations {
			msg += "\n  - " + v
		}
	}
	if e.Hint != "" {
		msg += "\n" + e.Hint
	}
	return msg
}

// mintHint is how to get a development token.
const mintHint = "gatehouse token --sub NAME --jwt-hs256-secret-file PATH (the file of the server's secret)"

// tokenHint explains a 401 answer: which flag or variable to set, and,
// read from the token itself (its signature is the server's to check),
// when it expired.
func (c *apiClient) tokenHint(now time.Time) string {
	if c.token == "" {
		return "no API token was given: set --token or GATEHOUSE_TOKEN; mint a development one with " + mintHint
	}
	claims, ok := peekClaims(c.token)
	mint := mintHint
	if ok && claims.Sub != "" {
		mint = strings.Replace(mintHint, "NAME", claims.Sub, 1)
	}
	if ok && claims.Exp != 0 {
		exp := time.Unix(int64(claims.Exp), 0).UTC()
		if !exp.After(now) {
			return fmt.Sprintf("the API token of --token (or GATEHOUSE_TOKEN) expired at %s (%s ago): mint a new one with %s",
				exp.Format(time.RFC3339), now.Sub(exp).Round(time.Second), mint)
		}
	}
	return "the server refused the API token of --token (or GATEHOUSE_TOKEN): mint one it accepts with " + mint
}

// tokenClaims are the claims of a JWT that tokenHint reads.
type tokenClaims struct {
	Sub string  `json:"sub"`
	Exp float64 `json:"exp"`
}

// peekClaims decodes the claims of a JWT without checking its signature:
// only to explain a refusal, never to trust it.
func peekClaims(token string) (tokenClaims, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return tokenClaims{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return tokenClaims{}, false
	}
	var claims tokenClaims
	if json.Unmarshal(raw, &claims) != nil {
		return tokenClaims{}, false
	}
	return claims, true
}
