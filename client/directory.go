package client

import (
	"context"
	"net/http"
	"time"
)

// Account is an account of the directory (API.md Account): a Smart
// Account, a site, a tenant or a reseller.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// VirtualAccounts are the ids of its virtual accounts (R2, R22).
	VirtualAccounts []string `json:"virtual_accounts"`
	// Partner is the reseller account allowed to support it (R35).
	Partner string `json:"partner,omitempty"`
	// Settings override policy defaults (R10, R24).
	Settings  map[string]any `json:"settings,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
}

// GetAccount reads an account (GET /v1/accounts/{id}): its members, its
// partner reseller's members and system administrators may (R43); for
// anyone else it is a 403 *Error.
func (c *Client) GetAccount(ctx context.Context, id string) (Account, error) {
	var a Account
	err := c.do(ctx, call{method: http.MethodGet, path: "/v1/accounts/" + escape(id), idempotent: true}, &a)
	return a, err
}
