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

// ListAudit lists an account's audit trail, oldest first, after the cursor
// (R41), to those who may decide its requests and to system administrators
// (R43). The directory's trail (DirectoryAccount) is for system
// administrators only.
func (e *Engine) ListAudit(ctx context.Context, actor, account, after string, limit int) ([]AuditRecord, error) {
	if err := checkActor(actor); err != nil {
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
	return e.store.ListAudit(ctx, account, after, listLimit(limit))
}

// ListEvents lists events, oldest first, after the cursor: every event to
// system administrators, the events addressed to them to everyone else
// (R42, R43). The cursor of the last event returned is where to go on; a
// user's listing reads the store's index of their events, so its cost does
// not grow with the events addressed to others.
func (e *Engine) ListEvents(ctx context.Context, actor, after string, limit int) ([]Event, error) {
	if err := checkActor(actor); err != nil {
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
		return e.store.ListEvents(ctx, after, limit)
	}
	return e.store.ListEventsFor(ctx, actor, after, limit)
}
