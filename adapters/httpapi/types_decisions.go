package httpapi

import (
	"encoding/json"

	"github.com/gatehouse/gatehouse/engine"
)

// decisionRequest is the body of POST /v1/decisions and one check of a batch.
type decisionRequest struct {
	Subject  string         `json:"subject"`
	Action   string         `json:"action"`
	Resource resourceRef    `json:"resource"`
	Context  map[string]any `json:"context"`
	// Consistency asks for state at least as fresh as a write's token.
	Consistency *consistencyRef `json:"consistency"`
}

type resourceRef struct {
	Account        string `json:"account"`
	VirtualAccount string `json:"virtual_account"`
}

func (r *decisionRequest) toEngine() engine.DecisionRequest {
	return engine.DecisionRequest{
		Subject: r.Subject,
		Action:  r.Action,
		Resource: engine.Resource{
			Account:        r.Resource.Account,
			VirtualAccount: r.Resource.VirtualAccount,
		},
		Context: r.Context,
	}
}

// decisionResponse is the answer to one decision (R7).
type decisionResponse struct {
	Allow          bool           `json:"allow"`
	Reasons        []string       `json:"reasons"`
	DecisionID     string         `json:"decision_id"`
	PolicyRevision string         `json:"policy_revision"`
	Grant          *decisionGrant `json:"grant,omitempty"`
	// Error says why a decision failed closed: "store_unavailable",
	// "timeout" or "policy_error" (R45).
	Error string `json:"error,omitempty"`
}

// decisionGrant names what allowed an allow.
type decisionGrant struct {
	Kind       string `json:"kind"`
	Account    string `json:"account,omitempty"`
	Request    string `json:"request,omitempty"`
	ApprovedBy string `json:"approved_by,omitempty"`
}

func newDecisionResponse(d engine.Decision) decisionResponse {
	out := decisionResponse{
		Allow:          d.Allow,
		Reasons:        d.Reasons,
		DecisionID:     d.DecisionID,
		PolicyRevision: d.PolicyRevision,
		Error:          d.Error,
	}
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	if d.Grant != nil {
		out.Grant = &decisionGrant{
			Kind:       d.Grant.Kind,
			Account:    d.Grant.Account,
			Request:    d.Grant.Request,
			ApprovedBy: d.Grant.ApprovedBy,
		}
	}
	return out
}

type batchRequest struct {
	Checks []decisionRequest `json:"checks"`
	// Consistency applies to every check that names none of its own.
	Consistency *consistencyRef `json:"consistency"`
}

type batchResponse struct {
	Results []decisionResponse `json:"results"`
}

// dataRequest is the body of POST /v1/data/{path}: the input is kept raw,
// to be read strictly and with exact numbers as the decision question.
type dataRequest struct {
	Input json.RawMessage `json:"input"`
}

// dataResponse is OPA's answer to a defined document.
type dataResponse struct {
	Result     any    `json:"result"`
	DecisionID string `json:"decision_id"`
}

// dataUndefinedResponse is OPA's answer to an undefined document below an
// entry point (e.g. the grant of a deny): no result.
type dataUndefinedResponse struct {
	DecisionID string `json:"decision_id"`
}

// opaError is OPA's error body on /v1/data paths: {"code", "message"},
// with OPA's codes (opaCode...).
type opaError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
