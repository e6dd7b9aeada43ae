package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiClient is the client side of the HTTP API, for the commands that talk
// to a running gatehouse.
type apiClient struct {
	base  string
	token string
	http  *http.Client
	err   error // a --server that is not a URL: every call returns it
}

func newAPIClient(cfg *Config) *apiClient {
	base, err := serverURL(cfg.Server)
	return &apiClient{base: base, token: cfg.Token, http: &http.Client{Timeout: 30 * time.Second}, err: err}
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
}

func (e *apiError) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	for _, v := range e.Violations {
		if v != e.Message {
			msg += "\n  - " + v
		}
	}
	return msg
}

// do sends body (nil for none) as JSON and decodes a 2xx answer into out
// (nil to discard). Error answers come back as *apiError.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	if c.err != nil {
		return c.err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return scrubURLError(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("is gatehouse running at %s? %w", redactURL(c.base), scrubURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var env struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(raw, &env) != nil || env.Error.Code == "" {
			return &apiError{Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(raw))}
		}
		env.Error.Status = resp.StatusCode
		return &env.Error
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, out)
}
