package engine

import "context"

// Page sizes of audit and event listings.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// listLimit turns a requested page size into one the engine serves.
func listLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultListLimit
	case limit > MaxListLimit:
		return MaxListLimit
	}
	return limit
}

// Order is the direction of an audit or event listing: the "order" query
// parameter of GET /v1/audit and GET /v1/events.
type Order string

// The orders of a listing.
const (
	// Ascending lists oldest first; it is the default.
	Ascending Order = "asc"
	// Descending lists newest first.
	Descending Order = "desc"
)

// ParseOrder reads an order as the API takes it: "asc" or "desc", "" for
// the default Ascending. Another value is a *FieldError on "order" naming
// the allowed values.
func ParseOrder(s string) (Order, error) {
	switch Order(s) {
	case "", Ascending:
		return Ascending, nil
	case Descending:
		return Descending, nil
	}
	return "", Invalid("order", "must be asc (oldest first, the default) or desc (newest first) (it is %q)", s)
}

// ListAudit lists an account's audit trail in order (Ascending: oldest
// first; Descending: newest first), after the cursor in that order (R41),
// to those who may decide its requests and to system administrators
// (R43). The directory's trail (DirectoryAccount) is for system
// administrators only.
func (e *Engine) ListAudit(ctx context.Context, actor, account, after string, limit int, order Order) ([]AuditRecord, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if _, err := ParseOrder(string(order)); err != nil {
		return nil, err
	}
	if err := checkID("account", account); err != nil {
		return nil, err
	}
	in, err := e.readInput(ctx, actor, account, doc{"type": "list_audit", "account": account})
	if err != nil {
		return nil, err
	}
	if _, err := e.decide(ctx, e.policy.Load(), in); err != nil {
		return nil, err
	}
	return e.store.ListAudit(ctx, account, after, listLimit(limit), order)
}

// ListEvents lists events in order (Ascending: oldest first; Descending:
// newest first), after the cursor in that order: every event to
// system administrators, the events addressed to them to everyone else
// (R42, R43). The cursor of the last event returned is where to go on; a
// user's listing reads the store's index of their events, so its cost does
// not grow with the events addressed to others.
func (e *Engine) ListEvents(ctx context.Context, actor, after string, limit int, order Order) ([]Event, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if _, err := ParseOrder(string(order)); err != nil {
		return nil, err
	}
	actorDoc, err := e.actorDoc(ctx, actor, nil)
	if err != nil {
		return nil, err
	}
	v, err := e.decide(ctx, e.policy.Load(), commandInput(e.now(), actorDoc, doc{"type": "list_events"}))
	if err != nil {
		return nil, err
	}
	limit = listLimit(limit)
	if v.SeeAll {
		return e.store.ListEvents(ctx, after, limit, order)
	}
	return e.store.ListEventsFor(ctx, actor, after, limit, order)
}
