package engine

import (
	"context"
	"errors"
	"time"
)

// expiryBatch is how many due expiries ExpireDue reads at a time.
const expiryBatch = 100

// errNothingDue: the expiry was already recorded, or moved, since it was
// listed.
var errNothingDue = errors.New("nothing due")

// ExpireDue records every granted tenant request and membership whose
// expiry has passed (R7, R38): the request's status becomes expired and its
// grants are removed; the membership is removed (and the account request
// that created it, if still granted, is expired). Each one commits with its
// audit record and an access.expired event (R40-R42), checked against its
// account's version. It returns how many it expired.
//
// Access already ended at the expiry instant (R7): this records it, so the
// policy is not asked; the actor of the records is SystemActor.
func (e *Engine) ExpireDue(ctx context.Context) (int, error) {
	total := 0
	for {
		due, err := e.store.DueExpiries(ctx, e.now(), expiryBatch)
		if err != nil {
			return total, err
		}
		done := 0
		for _, x := range due {
			var err error
			if x.Request != "" {
				err = e.run(ctx, invocation{actor: SystemActor}, e.expireRequest(x))
			} else {
				err = e.run(ctx, invocation{actor: SystemActor}, e.expireMember(x))
			}
			switch {
			case errors.Is(err, errNothingDue):
			case err != nil:
				return total + done, err
			default:
				done++
			}
		}
		total += done
		if len(due) < expiryBatch || done == 0 {
			return total, nil
		}
	}
}

// expireRequest plans the expiry of a granted tenant request.
func (e *Engine) expireRequest(x Expiry) plan {
	return func(ctx context.Context, p *Policy, now time.Time) (Change, error) {
		state, err := e.findState(ctx, x.Account, StatusGranted)
		if err != nil {
			return Change{}, err
		}
		if state == nil {
			return Change{}, errNothingDue
		}
		var req *AccessRequest
		for i := range state.Requests {
			if r := state.Requests[i]; r.ID == x.Request && r.Status == StatusGranted && !live(r.ExpiresAt, now) {
				req = &r
			}
		}
		if req == nil {
			return Change{}, errNothingDue
		}
		out := *req
		out.Status = StatusExpired
		change := Change{
			Versions:          map[string]uint64{x.Account: state.Version},
			RequesterVersions: requesterVersion(state, x.Account, req.Requester),
			Requests:          []AccessRequest{out},
			Audit:             requestAudit(p, now, SystemActor, ActionRequestExpired, req, &out, ""),
			Events:            []Event{event(now, EventAccessExpired, x.Account, recipients(out), doc{"request": out})},
		}
		if out.Kind == KindTenant {
			if change.Grants, err = e.tenantGrants(ctx, out, nil); err != nil {
				return Change{}, err
			}
		}
		return change, nil
	}
}

// expireMember plans the removal of an expired membership.
func (e *Engine) expireMember(x Expiry) plan {
	return func(ctx context.Context, p *Policy, now time.Time) (Change, error) {
		state, err := e.findState(ctx, x.Account, StatusGranted)
		if err != nil {
			return Change{}, err
		}
		if state == nil {
			return Change{}, errNothingDue
		}
		m := member(state, x.User)
		if m == nil || live(m.ExpiresAt, now) {
			return Change{}, errNothingDue
		}
		change := Change{
			Versions:       map[string]uint64{x.Account: state.Version},
			RemovedMembers: []MemberRef{{Account: x.Account, User: x.User}},
			Audit:          []AuditRecord{audit(p, now, x.Account, SystemActor, ActionMemberExpired, x.User, m, nil, "")},
			Events:         []Event{event(now, EventAccessExpired, x.Account, []string{x.User}, doc{"membership": m})},
		}
		for _, r := range state.Requests {
			if r.ID == m.Request && r.Kind == KindAccount {
				out := r
				out.Status = StatusExpired
				change.Requests = []AccessRequest{out}
				change.RequesterVersions = requesterVersion(state, x.Account, r.Requester)
				change.Audit = append(change.Audit, audit(p, now, x.Account, SystemActor, ActionRequestExpired, r.ID, &r, &out, ""))
			}
		}
		return change, nil
	}
}
