package engine

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Statuses a request filter may name (R39a).
var requestStatuses = []string{StatusPending, StatusGranted, StatusDenied, StatusExpired, StatusRevoked}

// tenantHidden are the fields of a tenant request the tenant side never
// sees (R37): in its audit trail, its events and its reads.
var tenantHidden = []string{"name", "users"}

// RequestAccess records actor's request for access to account, with an
// optional business justification (R20), and tells the account's deciders
// (R42).
func (e *Engine) RequestAccess(ctx context.Context, actor, account, justification string) (AccessRequest, error) {
	if err := checkActor(actor); err != nil {
		return AccessRequest{}, err
	}
	if err := checkID("account", account); err != nil {
		return AccessRequest{}, err
	}
	if err := checkText("justification", justification); err != nil {
		return AccessRequest{}, err
	}
	var out AccessRequest
	cmd := invocation{actor: actor, home: at(account), result: func() any { return out }}
	err := e.run(ctx, cmd, func(ctx context.Context, p *Policy, now time.Time) (Change, error) {
		state, err := e.findState(ctx, account, StatusPending)
		if err != nil {
			return Change{}, err
		}
		in, err := e.memberInput(ctx, now, actor, state, doc{
			"type": "request_access", "account": account, "justification": justification,
		})
		if err != nil {
			return Change{}, err
		}
		open := []any{}
		if state != nil {
			for _, r := range state.Requests {
				if r.Requester == actor && r.Status == StatusPending {
					open = append(open, requestDoc(r))
				}
			}
		}
		in["open_requests"] = open
		v, err := e.decide(ctx, p, in)
		if err != nil {
			return Change{}, err
		}
		out = AccessRequest{
			ID: newID(), Kind: KindAccount, Account: account, Requester: actor, Status: StatusPending,
			Justification: justification, CreatedAt: now,
		}
		// R20, R40: a new request changes only its requester's requests:
		// it checks the account's version without moving it, so that
		// requests by other users do not conflict with it.
		return Change{
			ReadVersions:      map[string]uint64{account: version(state)},
			RequesterVersions: requesterVersion(state, account, actor),
			Requests:          []AccessRequest{out},
			Audit:             requestAudit(p, now, actor, ActionRequestCreated, nil, &out, justification),
			Events:            []Event{event(now, EventRequestCreated, account, v.Deciders[account], doc{"request": out})},
		}, nil
	})
	return out, err
}

// unknownRequest is the error of a request id that does not exist, and of
// one the actor may not see: the two answers are the same, so that request
// ids say nothing across accounts (R43).
func unknownRequest(id string) error {
	return notFound(nil, "access request %s not found", id)
}

// getRequest reads request id from the store; a missing one is
// unknownRequest, whatever the store says of it.
func (e *Engine) getRequest(ctx context.Context, id string) (AccessRequest, error) {
	r, err := e.store.GetRequest(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return AccessRequest{}, unknownRequest(id)
	}
	return r, err
}

// GetRequest returns a request to its requester, the users it names, those
// who may decide it and system administrators; the tenant side does not see
// a tenant request's name and users (R37). Anyone else gets the answer of
// an unknown id, ErrNotFound, so that request ids say nothing across
// accounts (R43).
func (e *Engine) GetRequest(ctx context.Context, actor, id string) (AccessRequest, error) {
	if err := checkActor(actor); err != nil {
		return AccessRequest{}, err
	}
	if err := checkID("id", id); err != nil {
		return AccessRequest{}, err
	}
	r, err := e.getRequest(ctx, id)
	if err != nil {
		return AccessRequest{}, err
	}
	in, err := e.readInput(ctx, actor, r.Account, doc{"type": "get_request", "request": id})
	if err != nil {
		return AccessRequest{}, err
	}
	in["request"] = requestDoc(r)
	v, err := e.ask(ctx, e.policy.Load(), in)
	if err != nil {
		return AccessRequest{}, err
	}
	if v.Hidden || !v.Entitled {
		return AccessRequest{}, unknownRequest(id)
	}
	if err := v.err(); err != nil {
		return AccessRequest{}, err
	}
	return redacted(effective(r, e.now()), actor, v.Redact), nil
}

// oneOf lists choices for a sentence, as the policy's one_of does: "a, b
// or c".
func oneOf(choices []string) string {
	if len(choices) < 2 {
		return strings.Join(choices, "")
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}

// validateFilter checks a request filter (R44).
func validateFilter(f RequestFilter) error {
	switch {
	case f.Account == "" && f.Requester == "":
		return Invalid("account", "give an account or a requester")
	case f.Account != "" && f.Requester != "":
		return Invalid("requester", "give an account or a requester, not both")
	case f.Account != "" && !ValidID(f.Account):
		return checkID("account", f.Account)
	case f.Requester != "" && !ValidID(f.Requester):
		return checkID("requester", f.Requester)
	case f.Status != "" && !slices.Contains(requestStatuses, f.Status):
		return Invalid("status", "must be %s (it is %q)", oneOf(requestStatuses), f.Status)
	case f.Limit < 0:
		return Invalid("limit", "must not be negative")
	}
	return nil
}

// ListRequests lists requests newest first: an account's, to those who may
// decide them (with R37 applied to tenant requests), or a requester's own,
// to that requester (R39a). A granted request whose expiry passed is listed
// as expired.
func (e *Engine) ListRequests(ctx context.Context, actor string, filter RequestFilter) ([]AccessRequest, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if err := validateFilter(filter); err != nil {
		return nil, err
	}
	var (
		in  doc
		err error
	)
	if filter.Account != "" {
		in, err = e.readInput(ctx, actor, filter.Account, doc{"type": "list_requests", "account": filter.Account})
	} else {
		var actorDoc doc
		if actorDoc, err = e.actorDoc(ctx, actor, nil); err == nil {
			in = commandInput(e.now(), actorDoc, doc{"type": "list_requests", "requester": filter.Requester})
		}
	}
	if err != nil {
		return nil, err
	}
	v, err := e.decide(ctx, e.policy.Load(), in)
	if err != nil {
		return nil, err
	}
	query := filter
	if filter.Status == StatusGranted || filter.Status == StatusExpired {
		// Granted requests may have expired since they were stored.
		query.Status, query.Limit = "", 0
	}
	found, err := e.store.ListRequests(ctx, query)
	if err != nil {
		return nil, err
	}
	now := e.now()
	out := make([]AccessRequest, 0, len(found))
	for _, r := range found {
		r = effective(r, now)
		if filter.Status != "" && r.Status != filter.Status {
			continue
		}
		out = append(out, redacted(r, actor, v.Redact))
		if filter.Limit > 0 && len(out) == filter.Limit {
			break
		}
	}
	return out, nil
}

// effective returns r as it stands at now: a granted request whose expiry
// passed is expired (R7, R38), whether or not ExpireDue recorded it yet.
func effective(r AccessRequest, now time.Time) AccessRequest {
	if r.Status == StatusGranted && !live(r.ExpiresAt, now) {
		r.Status = StatusExpired
	}
	return r
}

// redacted hides the fields of a tenant request from an actor who neither
// made it nor is named in it (R37).
func redacted(r AccessRequest, actor string, fields []string) AccessRequest {
	if r.Kind != KindTenant || r.Requester == actor || slices.Contains(r.Users, actor) {
		return r
	}
	for _, f := range fields {
		switch f {
		case "name":
			r.Name = ""
		case "users":
			r.Users = nil
		case "request_message":
			r.RequestMessage = ""
		}
	}
	return r
}

// tenantView is what the tenant side of a tenant request sees (R37).
func tenantView(r *AccessRequest) *AccessRequest {
	if r == nil {
		return nil
	}
	v := redacted(*r, "", tenantHidden)
	return &v
}

// requestAudit records a change of a request (R41): in its account's
// trail, and for a tenant request also in the reseller's, where the
// requester sees all of it; the tenant's record hides the name and users
// (R37).
func requestAudit(p *Policy, now time.Time, actor, action string, before, after *AccessRequest, reason string) []AuditRecord {
	if after.Kind != KindTenant {
		return []AuditRecord{audit(p, now, after.Account, actor, action, after.ID, before, after, reason)}
	}
	recs := []AuditRecord{audit(p, now, after.Account, actor, action, after.ID, tenantView(before), tenantView(after), reason)}
	if after.Partner != "" {
		recs = append(recs, audit(p, now, after.Partner, actor, action, after.ID, before, after, reason))
	}
	return recs
}

// recipients are the people a decision on r is for: the requester and, for
// a tenant request, the users it names (R42).
func recipients(r AccessRequest) []string {
	to := []string{r.Requester}
	for _, u := range r.Users {
		if !slices.Contains(to, u) {
			to = append(to, u)
		}
	}
	return to
}
