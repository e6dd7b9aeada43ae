package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// PolicyRevision is a stored policy revision.
type PolicyRevision struct {
	// Revision is the content hash of the policy files.
	Revision  string    `json:"revision"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
	Source    string    `json:"source,omitempty"`
	Active    bool      `json:"active"`
}

// Status is the server's state (GET /v1/status).
type Status struct {
	Policy PolicyStatus `json:"policy"`
	// Store is "ok" or why the store does not answer.
	Store string `json:"store"`
}

// PolicyStatus is the active policy, where and when it was loaded, and the
// last reload error.
type PolicyStatus struct {
	Revision        string     `json:"revision"`
	Source          string     `json:"source"`
	LoadedAt        time.Time  `json:"loaded_at"`
	FollowsStore    bool       `json:"follows_store"`
	LastError       string     `json:"last_error,omitempty"`
	LastErrorAt     *time.Time `json:"last_error_at,omitempty"`
	LastErrorSource string     `json:"last_error_source,omitempty"`
	Reloads         int        `json:"reloads"`
	Failures        int        `json:"failures"`
	// Evaluator is how decisions evaluate the active revision: "plan" or
	// "topdown"; EvaluatorFallback says why topdown when plan was asked.
	Evaluator         string `json:"evaluator"`
	EvaluatorFallback string `json:"evaluator_fallback,omitempty"`
}

// PushPolicy sends policy files (path -> content of each .rego and .json
// file) to PUT /v1/policies: the server compiles them, runs their tests,
// stores the revision and activates it on every replica; a policy that
// fails is a 422 *Error whose Violations say why. Needs policy_admin or a
// system administrator.
func (c *Client) PushPolicy(ctx context.Context, files map[string]string, opts ...CallOption) (PolicyRevision, error) {
	body := struct {
		Files map[string]string `json:"files"`
	}{Files: files}
	var p PolicyRevision
	err := c.do(ctx, call{method: http.MethodPut, path: "/v1/policies", body: body, write: true}, &p, opts...)
	return p, err
}

// ListPolicies lists the stored revisions, newest first (GET
// /v1/policies); limit is 1 to 1000, 0 for the server's default.
func (c *Client) ListPolicies(ctx context.Context, limit int) ([]PolicyRevision, error) {
	q := url.Values{}
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Items []PolicyRevision `json:"items"`
	}
	err := c.do(ctx, call{method: http.MethodGet, path: "/v1/policies", query: q, idempotent: true}, &out)
	return out.Items, err
}

// ActivatePolicy makes a stored revision the active one again on every
// replica (POST /v1/policies/{revision}/activate): a rollback.
func (c *Client) ActivatePolicy(ctx context.Context, revision string, opts ...CallOption) (PolicyRevision, error) {
	var p PolicyRevision
	err := c.do(ctx, call{method: http.MethodPost, path: "/v1/policies/" + escape(revision) + "/activate", write: true}, &p, opts...)
	return p, err
}

// Status reads the server's state (GET /v1/status).
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	err := c.do(ctx, call{method: http.MethodGet, path: "/v1/status", idempotent: true}, &s)
	return s, err
}
