package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Fetching from an identity provider (R43): which URLs may be fetched, the
// bounded HTTP client that fetches them, and OpenID Connect discovery of
// the key set.

// CheckKeySetURL says whether raw may be fetched for keys or discovery: an
// https URL, or an http one whose host is the loopback interface (a local
// identity provider in development or a sidecar). Keys fetched over plain
// http from elsewhere could be replaced on the way, and with them every
// identity. The error never quotes the URL, which may hold credentials.
func CheckKeySetURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("it is not a URL")
	}
	return checkFetchURL(u)
}

func checkFetchURL(u *url.URL) error {
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

// shownURL renders a URL for a log line: scheme and host; whatever else
// it holds (user info, path, query) may be a credential and is hidden.
func shownURL(u *url.URL) string {
	s := u.Scheme + "://" + u.Host
	if u.User != nil {
		s = u.Scheme + "://***@" + u.Host
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		s += "/***"
	}
	return s
}

// newFetchClient returns the HTTP client of key set and discovery fetches:
// bounded in time, following at most two redirects, each to a URL
// CheckKeySetURL accepts.
func newFetchClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 2 {
				return errors.New("too many redirects")
			}
			if err := checkFetchURL(req.URL); err != nil {
				return fmt.Errorf("a redirect to a URL refused: %w", err)
			}
			return nil
		},
	}
}

// readLimited reads a fetched body, refusing one beyond MaxKeySetBytes.
func readLimited(body io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, MaxKeySetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", scrubURL(err))
	}
	if len(data) > MaxKeySetBytes {
		return nil, fmt.Errorf("the answer is larger than %d bytes", MaxKeySetBytes)
	}
	return data, nil
}

// scrubURL drops the URL a *url.Error quotes (net/http's errors quote the
// whole URL, credentials included).
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("no answer within the fetch timeout")
		}
		return ue.Err
	}
	return err
}

// discoveryDocument is the part of an OpenID Provider's configuration
// (OpenID Connect Discovery 1.0, section 3) gatehouse reads.
type discoveryDocument struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// DiscoverKeySetURL reads the OpenID configuration of issuer at
// <issuer>/.well-known/openid-configuration and returns its jwks_uri. The
// document's issuer must equal issuer exactly (OpenID Connect Discovery
// 1.0, section 4.3), and both issuer and jwks_uri must be URLs
// CheckKeySetURL accepts. The fetch has the fetch timeout of opts and the
// size limit of a key set.
func DiscoverKeySetURL(ctx context.Context, issuer string, opts ...KeySetOption) (string, error) {
	cfg, err := newKeySetConfig(opts)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(issuer)
	if err != nil {
		return "", errors.New("the issuer is not a URL")
	}
	if err := checkFetchURL(u); err != nil {
		return "", fmt.Errorf("the issuer: %w", err)
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", errors.New("the issuer must be a URL without user info, query or fragment (OpenID Connect Discovery)")
	}
	where := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return "", errors.New("the issuer is not a usable URL")
	}
	req.Header.Set("Accept", "application/json")
	res, err := newFetchClient(cfg.timeout).Do(req)
	if err != nil {
		return "", fmt.Errorf("fetch the OpenID configuration at %s: %w", where, scrubURL(err))
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetch the OpenID configuration at %s: the server answered %s", where, res.Status)
	}
	body, err := readLimited(res.Body)
	if err != nil {
		return "", fmt.Errorf("fetch the OpenID configuration at %s: %w", where, err)
	}
	var doc discoveryDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("the OpenID configuration at %s is not a JSON object with issuer and jwks_uri", where)
	}
	if doc.Issuer != issuer {
		return "", fmt.Errorf("the OpenID configuration at %s names the issuer %q, not %q: the issuer must be exactly the iss its tokens carry", where, doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("the OpenID configuration at %s has no jwks_uri", where)
	}
	if err := CheckKeySetURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("the jwks_uri of the OpenID configuration at %s: %w", where, err)
	}
	return doc.JWKSURI, nil
}
