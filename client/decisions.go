package client

import (
	"context"
	"net/http"
)

// DecisionRequest is a question: may Subject do Action on Resource?
// (API.md DecisionRequest, R7.)
type DecisionRequest struct {
	// Subject is the user asking; the application names them.
	Subject string `json:"subject"`
	// Action is what they want to do: manage, view, use, an application
	// privilege (entitlements.update), impersonate.support...
	Action   string   `json:"action"`
	Resource Resource `json:"resource"`
	// Context is free-form; json.Number values reach the policy exact.
	Context map[string]any `json:"context,omitempty"`
	// Consistency, when set, asks for state at least as fresh as a write
	// left (WithConsistencyToken); nil: what the replica holds.
	Consistency *Consistency `json:"consistency,omitempty"`
}

// Consistency is how fresh a decision's state must be.
type Consistency struct {
	// AtLeast is a write's Consistency-Token.
	AtLeast string `json:"at_least"`
}

// Resource is what a decision is about: an account, or a virtual account
// of it.
type Resource struct {
	Account        string `json:"account"`
	VirtualAccount string `json:"virtual_account,omitempty"`
}

// Decision is the answer to a DecisionRequest. It never fails open: when
// the store or the policy could not answer, Allow is false and Error says
// why (store_unavailable, timeout, policy_error).
type Decision struct {
	Allow bool `json:"allow"`
	// Reasons say why, in the policy's words.
	Reasons []string `json:"reasons"`
	// DecisionID names the decision in the decision log.
	DecisionID string `json:"decision_id"`
	// PolicyRevision is the policy revision that decided.
	PolicyRevision string `json:"policy_revision"`
	// Grant is what allowed the decision; nil on a deny.
	Grant *Grant `json:"grant,omitempty"`
	// Error is why the decision failed closed; "" when the policy answered.
	Error string `json:"error,omitempty"`
}

// Grant is what allowed a decision.
type Grant struct {
	// Kind is membership, partner_role or tenant_grant.
	Kind       string `json:"kind"`
	Account    string `json:"account,omitempty"`
	Request    string `json:"request,omitempty"`
	ApprovedBy string `json:"approved_by,omitempty"`
}

// Decide asks one decision (POST /v1/decisions). A deny is a Decision
// with Allow false, not an error; an error is a question the server could
// not read (a *Error, 400) or no answer. Retried under WithRetries: a
// decision changes nothing.
func (c *Client) Decide(ctx context.Context, q DecisionRequest) (Decision, error) {
	var d Decision
	err := c.do(ctx, call{method: http.MethodPost, path: "/v1/decisions", body: q, idempotent: true}, &d)
	return d, err
}

// DecideBatch asks 1 to 100 decisions at once (POST /v1/decisions/batch)
// and returns their answers in the order of qs; more or fewer is a 422
// *Error. Retried as Decide is.
func (c *Client) DecideBatch(ctx context.Context, qs []DecisionRequest) ([]Decision, error) {
	body := struct {
		Checks []DecisionRequest `json:"checks"`
	}{Checks: qs}
	if body.Checks == nil {
		body.Checks = []DecisionRequest{}
	}
	var out struct {
		Results []Decision `json:"results"`
	}
	err := c.do(ctx, call{method: http.MethodPost, path: "/v1/decisions/batch", body: body, idempotent: true}, &out)
	return out.Results, err
}
