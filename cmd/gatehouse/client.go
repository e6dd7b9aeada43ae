package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// apiClient is the client side of the HTTP API, for the commands that talk
// to a running gatehouse.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newAPIClient(cfg *Config) *apiClient {
	return &apiClient{base: strings.TrimRight(cfg.Server, "/"), token: cfg.Token, http: &http.Client{Timeout: 30 * time.Second}}
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
