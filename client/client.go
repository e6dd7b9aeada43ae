package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxAnswer is the largest answer body read: bigger ones are an error.
const maxAnswer = 64 << 20

// Client calls one gatehouse. It is safe for concurrent use.
type Client struct {
	base       string
	http       *http.Client
	token      TokenSource
	retries    int
	backoff    time.Duration
	maxBackoff time.Duration
	autoKey    bool
}

// TokenSource returns the bearer token (a JWT) of a call; "" sends none.
// It is called once per attempt, so it may refresh an expiring token.
type TokenSource func(ctx context.Context) (string, error)

// Option configures a Client.
type Option func(*Client)

// WithToken sends token as "Authorization: Bearer <token>" on every call.
// The decisions need none; every other call needs one (API.md
// "Authentication").
func WithToken(token string) Option {
	return WithTokenSource(func(context.Context) (string, error) { return token, nil })
}

// WithTokenSource asks src for the bearer token of each attempt.
func WithTokenSource(src TokenSource) Option { return func(c *Client) { c.token = src } }

// WithHTTPClient sends the calls with hc (its transport, TLS and timeout)
// instead of a client with a 30-second timeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithRetries retries a call up to n more times when that is safe: a read
// or a decision, or a write carrying an idempotency key, that failed on
// the network or got a 502, 503 or 504 (never a 503 outcome_unknown of a
// write without a key). The waits grow exponentially from 100ms, capped at
// 2s, with jitter, and end early when the call's context ends. n < 0 is 0.
func WithRetries(n int) Option { return func(c *Client) { c.retries = max(n, 0) } }

// WithBackoff sets the first wait between attempts and the cap of the
// waits (defaults 100ms and 2s).
func WithBackoff(first, limit time.Duration) Option {
	return func(c *Client) { c.backoff, c.maxBackoff = first, max(limit, first) }
}

// WithAutoIdempotency gives every write call that has no IdempotencyKey a
// random one, the same for all the attempts of that call, so that with
// WithRetries its retries are applied at most once (R40).
func WithAutoIdempotency() Option { return func(c *Client) { c.autoKey = true } }

// New returns a client of the gatehouse at baseURL, an http or https URL
// such as "http://127.0.0.1:8280" (a trailing slash is dropped). An error
// says why baseURL is not one.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	switch {
	case err != nil:
		return nil, fmt.Errorf("gatehouse client: base URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("gatehouse client: base URL %q: want an http or https URL", baseURL)
	case u.Host == "":
		return nil, fmt.Errorf("gatehouse client: base URL %q has no host", baseURL)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("gatehouse client: base URL %q has a query or fragment", baseURL)
	}
	c := &Client{
		base:       strings.TrimRight(u.String(), "/"),
		http:       &http.Client{Timeout: 30 * time.Second},
		backoff:    100 * time.Millisecond,
		maxBackoff: 2 * time.Second,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// CallOption configures one write call.
type CallOption func(*call)

// IdempotencyKey sends key as the call's Idempotency-Key (1-255 printable
// ASCII characters without spaces): the server applies the write at most
// once per key, and answers a retry with the first answer (R40). A write
// with a key is retried under WithRetries.
func IdempotencyKey(key string) CallOption { return func(c *call) { c.key = key } }

// WithConsistencyToken stores in dst the Consistency-Token the write
// answers: the state it left. A decision carrying it (DecisionRequest's
// Consistency) is made on state at least that fresh, on any replica. dst
// is left alone when the answer has none (the write changed nothing).
func WithConsistencyToken(dst *string) CallOption { return func(c *call) { c.token = dst } }

// call is one API call: its request, and whether it may be retried.
type call struct {
	method string
	path   string
	query  url.Values
	body   any
	// idempotent is set for reads and decisions: they change nothing.
	idempotent bool
	// write is set for calls an idempotency key applies to.
	write bool
	key   string
	// token, when set, receives the answer's Consistency-Token.
	token *string
}

// newKey returns a random idempotency key.
func newKey() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// do sends the call, retrying it when that is safe, and decodes a 2xx
// answer into out (nil to discard).
func (c *Client) do(ctx context.Context, cl call, out any, opts ...CallOption) error {
	for _, o := range opts {
		o(&cl)
	}
	if cl.write && cl.key == "" && c.autoKey {
		cl.key = newKey()
	}
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("gatehouse client: encode the body of %s %s: %w", cl.method, cl.path, err)
		}
	}
	retriable := cl.idempotent || cl.key != ""
	for attempt := 0; ; attempt++ {
		raw, err := c.attempt(ctx, cl, body)
		if err == nil {
			if out == nil || len(raw) == 0 {
				return nil
			}
			if err := jsonUnmarshal(raw, out); err != nil {
				return fmt.Errorf("gatehouse client: the answer of %s %s: %w", cl.method, cl.path, err)
			}
			return nil
		}
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			return errors.Join(ctx.Err(), err) // the caller gave up: say so, with the last answer
		}
		if !retriable || attempt >= c.retries || !transient(ctx, err) {
			return err
		}
		if cl.key == "" && IsOutcomeUnknown(err) {
			return err // it may have been applied: only a key makes a second attempt safe
		}
		if werr := c.wait(ctx, attempt); werr != nil {
			return errors.Join(werr, err) // the caller gave up waiting: say so, with the last answer
		}
	}
}

// transient reports whether a failed attempt may succeed if made again:
// a network error (not the caller's context ending), or a 502, 503 or 504.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		switch apiErr.Status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var ue *url.Error
	return errors.As(err, &ue)
}

// wait sleeps before the retry after attempt (0 for the first): the
// backoff doubles each time up to its cap, and a random half of it is
// jitter. It returns the context's error if it ends first.
func (c *Client) wait(ctx context.Context, attempt int) error {
	d := c.backoff << min(attempt, 30)
	if d > c.maxBackoff || d <= 0 {
		d = c.maxBackoff
	}
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// attempt sends the request once and returns the body of a 2xx answer,
// or a *Error, or the transport's error (a *url.Error).
func (c *Client) attempt(ctx context.Context, cl call, body []byte) ([]byte, error) {
	target := c.base + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("gatehouse client: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if cl.key != "" {
		req.Header.Set("Idempotency-Key", cl.key)
	}
	if c.token != nil {
		tok, err := c.token(ctx)
		if err != nil {
			return nil, fmt.Errorf("gatehouse client: token: %w", err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, &url.Error{Op: cl.method, URL: target, Err: err}
	}
	if len(raw) > maxAnswer {
		return nil, fmt.Errorf("gatehouse client: the answer of %s %s is larger than %d bytes", cl.method, cl.path, maxAnswer)
	}
	if resp.StatusCode >= 300 {
		return nil, decodeError(resp.StatusCode, raw)
	}
	if t := resp.Header.Get("Consistency-Token"); t != "" && cl.token != nil {
		*cl.token = t
	}
	return raw, nil
}

// jsonUnmarshal decodes raw into v.
func jsonUnmarshal(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// escape escapes one path segment.
func escape(s string) string { return url.PathEscape(s) }
