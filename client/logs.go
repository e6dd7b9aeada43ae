package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Order is the order of a listing: Ascending (oldest first, the API's
// default) or Descending (newest first).
type Order string

// The orders of GET /v1/audit and GET /v1/events.
const (
	Ascending  Order = "asc"
	Descending Order = "desc"
)

// Page asks for one page of a log.
type Page struct {
	// Limit is 1 to 1000; 0 for the server's default (100).
	Limit int
	// After is the Next of the previous page, or an item's Cursor.
	After string
	// Order is Ascending or Descending; "" is the server's default
	// (ascending). After pages on in the same order.
	Order Order
}

func (p Page) query() url.Values {
	q := url.Values{}
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.After != "" {
		q.Set("after", p.After)
	}
	if p.Order != "" {
		q.Set("order", string(p.Order))
	}
	return q
}

// AuditRecord is one change to an account (R41).
type AuditRecord struct {
	// Cursor is its position in the trail: pass it as Page.After.
	Cursor  string `json:"cursor,omitempty"`
	ID      string `json:"id"`
	Account string `json:"account"`
	// Actor made the change (the token's subject).
	Actor string `json:"actor"`
	// Action is what changed: account.created, member.added, request.granted...
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	At     time.Time `json:"at"`
	// Before and After are the object before and after the change, as JSON.
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
	// Reason is the justification or message given.
	Reason         string `json:"reason,omitempty"`
	PolicyRevision string `json:"policy_revision"`
}

// AuditPage is one page of an audit trail.
type AuditPage struct {
	Items []AuditRecord `json:"items"`
	// Next is set when the page is full: pass it as Page.After.
	Next string `json:"next,omitempty"`
}

// Event is one announcement of a change (R42).
type Event struct {
	Cursor  string    `json:"cursor,omitempty"`
	ID      string    `json:"id"`
	Type    string    `json:"type"`
	Account string    `json:"account,omitempty"`
	At      time.Time `json:"at"`
	// To are the users it is addressed to.
	To []string `json:"to,omitempty"`
	// Data are the objects concerned, as JSON.
	Data json.RawMessage `json:"data,omitempty"`
}

// EventPage is one page of events.
type EventPage struct {
	Items []Event `json:"items"`
	Next  string  `json:"next,omitempty"`
}

// ListAudit reads a page of account's audit trail (GET /v1/audit), for
// those who may decide its requests and system administrators (R43).
func (c *Client) ListAudit(ctx context.Context, account string, p Page) (AuditPage, error) {
	q := p.query()
	q.Set("account", account)
	var page AuditPage
	err := c.do(ctx, call{method: http.MethodGet, path: "/v1/audit", query: q, idempotent: true}, &page)
	return page, err
}

// ListEvents reads a page of the events addressed to the caller (every
// event, for a system administrator) (GET /v1/events).
func (c *Client) ListEvents(ctx context.Context, p Page) (EventPage, error) {
	var page EventPage
	err := c.do(ctx, call{method: http.MethodGet, path: "/v1/events", query: p.query(), idempotent: true}, &page)
	return page, err
}
