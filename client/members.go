package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Member is a user's membership of an account (API.md Member, R5, R10).
type Member struct {
	Account string `json:"account"`
	User    string `json:"user"`
	// Roles are account roles: account_admin, account_user, account_viewer...
	Roles []string `json:"roles"`
	// VARoles are virtual-account roles: virtual account -> role.
	VARoles map[string]string `json:"va_roles,omitempty"`
	// Contact is primary, secondary or "" (none).
	Contact string `json:"contact,omitempty"`
	// Privileges are application privileges: application -> level.
	Privileges    map[string]string `json:"privileges,omitempty"`
	Justification string            `json:"justification,omitempty"`
	AddedBy       string            `json:"added_by"`
	AddedAt       time.Time         `json:"added_at"`
	ExpiresAt     *time.Time        `json:"expires_at,omitempty"`
	// Request is the access request that granted it, if any.
	Request string `json:"request,omitempty"`
}

// MemberInput is a whole membership, for SetMember (PUT): what it leaves
// out is cleared.
type MemberInput struct {
	Roles      []string          `json:"roles"`
	VARoles    map[string]string `json:"va_roles,omitempty"`
	Contact    string            `json:"contact,omitempty"`
	Privileges map[string]string `json:"privileges,omitempty"`
	// Justification is required for a direct add (R26).
	Justification string     `json:"justification,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
}

// MemberPatch is a JSON merge patch of a membership, for UpdateMember
// (PATCH): a nil field is kept; a non-nil one replaces that part whole.
type MemberPatch struct {
	// Roles replaces the account roles; an empty slice clears them.
	Roles *[]string
	// VARoles replaces the virtual-account roles; a nil or empty map
	// clears them.
	VARoles *map[string]string
	// Contact sets the contact type; "" clears it.
	Contact *string
	// Privileges replaces the privileges; a nil or empty map clears them.
	Privileges    *map[string]string
	Justification *string
	// ExpiresAt sets when the membership ends.
	ExpiresAt *time.Time
	// ClearExpiry removes the expiry (ExpiresAt is then ignored).
	ClearExpiry bool
}

// MarshalJSON writes the merge patch: only the parts given, null for a
// cleared contact or expiry.
func (p MemberPatch) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if p.Roles != nil {
		roles := *p.Roles
		if roles == nil {
			roles = []string{}
		}
		m["roles"] = roles
	}
	if p.VARoles != nil {
		m["va_roles"] = *p.VARoles
	}
	if p.Contact != nil {
		m["contact"] = nullIfEmpty(*p.Contact)
	}
	if p.Privileges != nil {
		m["privileges"] = *p.Privileges
	}
	if p.Justification != nil {
		m["justification"] = *p.Justification
	}
	switch {
	case p.ClearExpiry:
		m["expires_at"] = nil
	case p.ExpiresAt != nil:
		m["expires_at"] = p.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	return json.Marshal(m)
}

// Empty reports whether the patch changes nothing.
func (p MemberPatch) Empty() bool {
	return p.Roles == nil && p.VARoles == nil && p.Contact == nil && p.Privileges == nil &&
		p.Justification == nil && p.ExpiresAt == nil && !p.ClearExpiry
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func memberPath(account, user string) string {
	return "/v1/accounts/" + escape(account) + "/members/" + escape(user)
}

// ListMembers lists the members of account (GET /v1/accounts/{id}/members).
func (c *Client) ListMembers(ctx context.Context, account string) ([]Member, error) {
	var out struct {
		Items []Member `json:"items"`
	}
	err := c.do(ctx, call{method: http.MethodGet, path: "/v1/accounts/" + escape(account) + "/members", idempotent: true}, &out)
	return out.Items, err
}

// GetMember reads one membership (GET /v1/accounts/{id}/members/{user}).
func (c *Client) GetMember(ctx context.Context, account, user string) (Member, error) {
	var m Member
	err := c.do(ctx, call{method: http.MethodGet, path: memberPath(account, user), idempotent: true}, &m)
	return m, err
}

// SetMember adds user to account, or replaces their membership whole with
// in (PUT /v1/accounts/{id}/members/{user}, R26, R30).
func (c *Client) SetMember(ctx context.Context, account, user string, in MemberInput, opts ...CallOption) (Member, error) {
	if in.Roles == nil {
		in.Roles = []string{}
	}
	var m Member
	err := c.do(ctx, call{method: http.MethodPut, path: memberPath(account, user), body: in, write: true}, &m, opts...)
	return m, err
}

// UpdateMember changes only the parts of a membership p gives (PATCH
// /v1/accounts/{id}/members/{user}, a JSON merge patch); a user who is not
// yet a member is added with them.
func (c *Client) UpdateMember(ctx context.Context, account, user string, p MemberPatch, opts ...CallOption) (Member, error) {
	var m Member
	err := c.do(ctx, call{method: http.MethodPatch, path: memberPath(account, user), body: p, write: true}, &m, opts...)
	return m, err
}

// RemoveMember removes user from account (DELETE
// /v1/accounts/{id}/members/{user}); never the last primary contact or
// admin (R12: a 422 *Error).
func (c *Client) RemoveMember(ctx context.Context, account, user string, opts ...CallOption) error {
	return c.do(ctx, call{method: http.MethodDelete, path: memberPath(account, user), write: true}, nil, opts...)
}
