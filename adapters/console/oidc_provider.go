package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The identity provider as the console's sign-in (oidc.go) reaches it:
// discovery, which URLs may be fetched, the bounded client that fetches
// them, and errors of the provider told without what they quote.

// discover reads the provider's discovery document (go-oidc checks that
// its issuer is exactly issuer) and checks the endpoints it names.
func discover(ctx context.Context, issuer string) (*oidc.Provider, oauth2.AuthStyle, error) {
	where := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	provider, err := oidc.NewProvider(ctx, issuer)
	var mismatch *oidc.IssuerMismatchError
	switch {
	case errors.As(err, &mismatch):
		return nil, 0, fmt.Errorf("the OpenID configuration at %s names the issuer %q, not %q: the issuer must be exactly the iss its tokens carry", where, mismatch.Discovered, mismatch.Provided)
	case err != nil:
		return nil, 0, fmt.Errorf("OpenID Connect discovery at %s failed: %s", where, providerProblem(err))
	}
	var doc struct {
		AuthURL     string   `json:"authorization_endpoint"`
		TokenURL    string   `json:"token_endpoint"`
		JWKSURL     string   `json:"jwks_uri"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := provider.Claims(&doc); err != nil {
		return nil, 0, fmt.Errorf("the OpenID configuration at %s is not a JSON object", where)
	}
	var errs []error
	for _, e := range []struct{ name, value string }{
		{"authorization_endpoint", doc.AuthURL}, {"token_endpoint", doc.TokenURL}, {"jwks_uri", doc.JWKSURL},
	} {
		if e.value == "" {
			errs = append(errs, fmt.Errorf("the OpenID configuration at %s has no %s", where, e.name))
		} else if err := checkProviderURL(e.value); err != nil {
			errs = append(errs, fmt.Errorf("the %s of the OpenID configuration at %s: %w", e.name, where, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, 0, err
	}
	return provider, clientAuthStyle(doc.AuthMethods), nil
}

// clientAuthStyle is how the client authenticates at the token endpoint:
// HTTP Basic (client_secret_basic, the default of OpenID Connect Discovery
// 1.0, section 3) unless the provider offers only client_secret_post. It
// is fixed once, so that a refused exchange is not tried again the other
// way with the same code.
func clientAuthStyle(methods []string) oauth2.AuthStyle {
	if len(methods) == 0 || slices.Contains(methods, "client_secret_basic") || !slices.Contains(methods, "client_secret_post") {
		return oauth2.AuthStyleInHeader
	}
	return oauth2.AuthStyleInParams
}

// oauthErrorCode matches an OAuth error code (RFC 6749, section 4.1.2.1,
// whose characters are printable ASCII; real codes are these).
var oauthErrorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// providerError explains the provider's error redirect; only a
// well-formed error code is quoted, never its free-text description.
func providerError(code string) error {
	switch code {
	case "access_denied":
		return errors.New("the identity provider did not let you sign in (access_denied): you declined, or it refused this account")
	case "login_required", "interaction_required", "consent_required":
		return fmt.Errorf("the identity provider needs you to sign in or consent there first (%s)", code)
	}
	if !oauthErrorCode.MatchString(code) {
		code = "an error code that is not well formed"
	}
	return fmt.Errorf("the identity provider answered with an error (%s)", code)
}

// exchangeProblem explains a failed code exchange without quoting the
// provider's answer, which may hold the code.
func exchangeProblem(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if !oauthErrorCode.MatchString(code) {
			code = "no OAuth error code"
		}
		if re.Response != nil {
			return fmt.Errorf("the identity provider refused to exchange the code (%s, %s)", re.Response.Status, code)
		}
		return fmt.Errorf("the identity provider refused to exchange the code (%s)", code)
	}
	return fmt.Errorf("exchanging the code at the identity provider failed: %s", providerProblem(err))
}

// providerProblem renders an error of a request to the provider without
// the URL or body net/http and go-oidc quote.
func providerProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "no answer within the timeout"
		}
		var op *net.OpError
		if errors.As(ue.Err, &op) {
			return "it cannot be reached (" + op.Op + ": " + op.Err.Error() + ")"
		}
		return "it cannot be reached"
	}
	if status := httpStatus.FindString(err.Error()); status != "" {
		// go-oidc's "<status>: <body>": the status only.
		return "it answered " + status
	}
	return "its answer is unusable"
}

// httpStatus matches the HTTP status that starts go-oidc's error for an
// answer other than 200 OK.
var httpStatus = regexp.MustCompile(`^[1-5][0-9][0-9]( [A-Za-z' -]{0,40})?`)

// newProviderClient returns the client of requests to the provider:
// bounded in time, reading at most MaxOIDCAnswerBytes of an answer,
// following at most two redirects, each to a URL checkURL accepts.
func newProviderClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: limitedTransport{base: http.DefaultTransport, max: MaxOIDCAnswerBytes},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 2 {
				return errors.New("too many redirects")
			}
			if err := checkURL(req.URL); err != nil {
				return fmt.Errorf("a redirect to a URL refused: %w", err)
			}
			return nil
		},
	}
}

// limitedTransport cuts every answer body after max bytes: a longer
// discovery document, key set or token answer fails to parse.
type limitedTransport struct {
	base http.RoundTripper
	max  int64
}

func (t limitedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	res.Body = limitedBody{Reader: io.LimitReader(res.Body, t.max), Closer: res.Body}
	return res, nil
}

type limitedBody struct {
	io.Reader
	io.Closer
}

// checkProviderURL parses raw and applies checkURL; the error never quotes
// the URL, which may hold credentials.
func checkProviderURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("it is not a URL")
	}
	return checkURL(u)
}

// checkURL accepts an https URL, or an http one to a loopback host (a
// local identity provider in development): the rule the API applies to
// the identity provider's key set. Over plain http elsewhere the provider's
// answers, and with them every identity, could be replaced on the way.
func checkURL(u *url.URL) error {
	switch {
	case u.Host == "" || u.Opaque != "":
		return errors.New("it must be an absolute https URL")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return errors.New("it must be https: plain http is allowed only to a loopback host (localhost, 127.0.0.1, ::1)")
	default:
		return errors.New("it must be an https URL")
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
