package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AccessRequest is an access request (API.md AccessRequest): a user's
// request for access to an account (Kind "account", R20), or a reseller's
// for support access to a tenant (Kind "tenant", R35).
type AccessRequest struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Account   string `json:"account"`
	Requester string `json:"requester"`
	// Status is pending, granted, denied, expired or revoked.
	Status        string     `json:"status"`
	Justification string     `json:"justification,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	DecidedBy     string     `json:"decided_by,omitempty"`
	DecidedAt     *time.Time `json:"decided_at,omitempty"`
	ReasonCode    string     `json:"reason_code,omitempty"`
	// Message is the decider's message.
	Message   string     `json:"message,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Name is a tenant request's name; hidden from the tenant (R37).
	Name string `json:"name,omitempty"`
	// RequestMessage is the requester's message (tenant requests).
	RequestMessage string `json:"request_message,omitempty"`
	Partner        string `json:"partner,omitempty"`
	// Users are the users of a tenant request; hidden from the tenant (R37).
	Users []string `json:"users,omitempty"`
}

// TenantRequest asks tenants for support access for a reseller's users
// (POST /v1/tenant-access-requests, R35, R36).
type TenantRequest struct {
	// Name is 1-64 letters and digits.
	Name         string        `json:"name"`
	Message      string        `json:"message,omitempty"`
	Associations []Association `json:"associations"`
}

// Association says which users may act on which tenants.
type Association struct {
	Users   []string `json:"users"`
	Tenants []string `json:"tenants"`
}

// RequestFilter narrows a list of requests; the zero value lists all, up
// to the server's default page (100).
type RequestFilter struct {
	// Status is pending, granted, denied, expired or revoked; "" for all.
	Status string
	// Limit is 1 to 1000; 0 for the server's default.
	Limit int
}

func (f RequestFilter) query() url.Values {
	q := url.Values{}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	return q
}

// Approval is how a request is granted (R21-R23, R38).
type Approval struct {
	// Scope is account or virtual_accounts (account requests).
	Scope string `json:"scope,omitempty"`
	// Role is an account role for scope account, a virtual-account role
	// otherwise.
	Role            string   `json:"role,omitempty"`
	VirtualAccounts []string `json:"virtual_accounts,omitempty"`
	// Contact is secondary, or none ("" keeps the requester's).
	Contact       string            `json:"contact,omitempty"`
	Privileges    map[string]string `json:"privileges,omitempty"`
	Justification string            `json:"justification,omitempty"`
	ExpiresAt     *time.Time        `json:"expires_at,omitempty"`
	Message       string            `json:"message,omitempty"`
}

// Denial is why a request is denied (R24).
type Denial struct {
	// ReasonCode is unknown_requester, access_not_needed,
	// no_business_relationship or other.
	ReasonCode string `json:"reason_code,omitempty"`
	Message    string `json:"message,omitempty"`
}

// RequestAccess asks for access to account (POST
// /v1/accounts/{id}/access-requests, R20) and returns the pending request.
func (c *Client) RequestAccess(ctx context.Context, account, justification string, opts ...CallOption) (AccessRequest, error) {
	body := map[string]string{}
	if justification != "" {
		body["justification"] = justification
	}
	return c.requestCall(ctx, call{method: http.MethodPost, path: "/v1/accounts/" + escape(account) + "/access-requests", body: body, write: true}, opts)
}

// RequestTenantAccess asks tenants for support access (POST
// /v1/tenant-access-requests) and returns one request per tenant.
func (c *Client) RequestTenantAccess(ctx context.Context, r TenantRequest, opts ...CallOption) ([]AccessRequest, error) {
	var out struct {
		Requests []AccessRequest `json:"requests"`
	}
	err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tenant-access-requests", body: r, write: true}, &out, opts...)
	return out.Requests, err
}

// ListRequests lists the requests made to account, for those who decide
// them (GET /v1/access-requests?account=).
func (c *Client) ListRequests(ctx context.Context, account string, f RequestFilter) ([]AccessRequest, error) {
	q := f.query()
	q.Set("account", account)
	return c.requestList(ctx, "/v1/access-requests", q)
}

// ListMyRequests lists the caller's own requests (GET /v1/me/access-requests).
func (c *Client) ListMyRequests(ctx context.Context, f RequestFilter) ([]AccessRequest, error) {
	return c.requestList(ctx, "/v1/me/access-requests", f.query())
}

// GetRequest reads one request (GET /v1/access-requests/{id}); one the
// caller may not see is a 404 (R43).
func (c *Client) GetRequest(ctx context.Context, id string) (AccessRequest, error) {
	return c.requestCall(ctx, call{method: http.MethodGet, path: "/v1/access-requests/" + escape(id), idempotent: true}, nil)
}

// Approve grants a pending request (POST /v1/access-requests/{id}/approve).
func (c *Client) Approve(ctx context.Context, id string, a Approval, opts ...CallOption) (AccessRequest, error) {
	return c.requestCall(ctx, call{method: http.MethodPost, path: "/v1/access-requests/" + escape(id) + "/approve", body: a, write: true}, opts)
}

// Deny denies a pending request (POST /v1/access-requests/{id}/deny).
func (c *Client) Deny(ctx context.Context, id string, d Denial, opts ...CallOption) (AccessRequest, error) {
	return c.requestCall(ctx, call{method: http.MethodPost, path: "/v1/access-requests/" + escape(id) + "/deny", body: d, write: true}, opts)
}

// Revoke revokes a granted request (POST /v1/access-requests/{id}/revoke),
// with a message to the requester ("" for none).
func (c *Client) Revoke(ctx context.Context, id, message string, opts ...CallOption) (AccessRequest, error) {
	body := map[string]string{}
	if message != "" {
		body["message"] = message
	}
	return c.requestCall(ctx, call{method: http.MethodPost, path: "/v1/access-requests/" + escape(id) + "/revoke", body: body, write: true}, opts)
}

// SetExpiry sets or changes the expiry of a granted tenant request, or
// removes it when at is nil (PATCH /v1/access-requests/{id}, R38).
func (c *Client) SetExpiry(ctx context.Context, id string, at *time.Time, opts ...CallOption) (AccessRequest, error) {
	body := map[string]any{"expires_at": nil}
	if at != nil {
		body["expires_at"] = at.UTC().Format(time.RFC3339Nano)
	}
	return c.requestCall(ctx, call{method: http.MethodPatch, path: "/v1/access-requests/" + escape(id), body: body, write: true}, opts)
}

func (c *Client) requestCall(ctx context.Context, cl call, opts []CallOption) (AccessRequest, error) {
	var r AccessRequest
	err := c.do(ctx, cl, &r, opts...)
	return r, err
}

func (c *Client) requestList(ctx context.Context, path string, q url.Values) ([]AccessRequest, error) {
	var out struct {
		Items []AccessRequest `json:"items"`
	}
	err := c.do(ctx, call{method: http.MethodGet, path: path, query: q, idempotent: true}, &out)
	return out.Items, err
}
