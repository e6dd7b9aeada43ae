package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Approval is how a decider grants a request. For an account request it
// chooses a scope (R22) and may name a contact type and privileges (R23);
// for a tenant request only ExpiresAt and Message apply (R38).
type Approval struct {
	// Scope is "account" or "virtual_accounts" (account requests).
	Scope string
	// Role is an account role (scope account) or a virtual-account role
	// (scope virtual_accounts).
	Role            string
	VirtualAccounts []string
	// Contact is ContactSecondary or ContactNone, which "none" names too
	// (R23). An approval adds access: no contact type keeps the
	// requester's current one.
	Contact    string
	Privileges map[string]string
	// Justification may be given when the request had none (R23).
	Justification string
	// ExpiresAt ends the membership or the tenant grant.
	ExpiresAt *time.Time
	// Message is for the requester.
	Message string
}

// Denial is how a decider refuses a request (R24).
type Denial struct {
	// ReasonCode is one of the configured deny reason codes, required when
	// the account's settings say so.
	ReasonCode string
	Message    string
}

// validateApproval checks the shape of an approval (R44); what it may
// grant is the policy's to say.
func validateApproval(a Approval) error {
	if err := checkEnum("scope", a.Scope); err != nil {
		return err
	}
	if err := checkEnum("role", a.Role); err != nil {
		return err
	}
	for i, va := range a.VirtualAccounts {
		if err := checkEnum(fmt.Sprintf("virtual_accounts[%d]", i), va); err != nil {
			return err
		}
	}
	if err := checkEnum("contact", a.Contact); err != nil {
		return err
	}
	for app, level := range a.Privileges {
		if err := checkEnum("privileges", app); err != nil {
			return err
		}
		if err := checkEnum("privileges."+app, level); err != nil {
			return err
		}
	}
	if err := checkText("justification", a.Justification); err != nil {
		return err
	}
	return checkText("message", a.Message)
}

// loadRequest reads request id and the state of its account, consistently:
// the request as that state holds it, at the state's version.
func (e *Engine) loadRequest(ctx context.Context, id string) (*AccountState, AccessRequest, error) {
	r, err := e.getRequest(ctx, id)
	if err != nil {
		return nil, AccessRequest{}, err
	}
	state, err := e.findState(ctx, r.Account, StatusPending, StatusGranted)
	if err != nil {
		return nil, AccessRequest{}, err
	}
	if state == nil {
		return nil, AccessRequest{}, notFound(nil, "account %s of access request %s not found", r.Account, id)
	}
	for _, sr := range state.Requests {
		if sr.ID == id {
			return state, sr, nil
		}
	}
	// Neither pending nor granted in the state read: it was decided, and
	// denied, expired and revoked are final. Read it again to see which.
	if r, err = e.getRequest(ctx, id); err != nil {
		return nil, AccessRequest{}, err
	}
	if r.Status == StatusPending || r.Status == StatusGranted {
		return nil, AccessRequest{}, conflict(nil, "access request %s changed while it was read: try again", id)
	}
	return state, r, nil
}

// requestInput is the input of a command on one request.
func (e *Engine) requestInput(ctx context.Context, now time.Time, actor string, state *AccountState, r AccessRequest, command doc) (doc, error) {
	in, err := e.memberInput(ctx, now, actor, state, command)
	if err != nil {
		return nil, err
	}
	in["request"] = requestDoc(r)
	return in, nil
}

// requestAttempt is one attempt of a command on a request: the policy, the
// time, the request and its account's state as read, and the policy input.
type requestAttempt struct {
	p     *Policy
	now   time.Time
	state *AccountState
	req   AccessRequest
	in    doc
}

// onRequest runs a command on request id, re-decided on fresh state when a
// commit conflicts (R40): each attempt reads the request and its account,
// builds the input with command, lets prepare add to it (prepare may be
// nil), asks the policy, and commits the change build returns with the
// request as changed. The request comes back as the actor may see it (R37).
func (e *Engine) onRequest(ctx context.Context, actor, id string, command doc,
	prepare func(ctx context.Context, step *requestAttempt) error,
	build func(ctx context.Context, step *requestAttempt) (AccessRequest, Change, error),
) (AccessRequest, error) {
	var (
		out    AccessRequest
		redact []string
	)
	cmd := invocation{actor: actor, result: func() any { return redacted(out, actor, redact) }, home: func(ctx context.Context) (string, error) {
		r, err := e.store.GetRequest(ctx, id)
		return r.Account, err
	}}
	err := e.run(ctx, cmd, func(ctx context.Context, p *Policy, now time.Time) (Change, error) {
		state, req, err := e.loadRequest(ctx, id)
		if err != nil {
			return Change{}, err
		}
		in, err := e.requestInput(ctx, now, actor, state, req, command)
		if err != nil {
			return Change{}, err
		}
		step := &requestAttempt{p: p, now: now, state: state, req: req, in: in}
		if prepare != nil {
			if err := prepare(ctx, step); err != nil {
				return Change{}, err
			}
		}
		v, err := e.ask(ctx, p, step.in)
		if err != nil {
			return Change{}, err
		}
		if v.Hidden {
			// R43: a request the actor may not see is one that does not exist.
			return Change{}, unknownRequest(id)
		}
		if err := v.err(); err != nil {
			return Change{}, err
		}
		r, change, err := build(ctx, step)
		if err != nil {
			return Change{}, err
		}
		out, redact = r, v.Redact
		// R25, R40: the command decided on the request: any other change
		// of it (by its requester's version) makes it decide again.
		if change.RequesterVersions == nil {
			change.RequesterVersions = map[RequesterRef]uint64{}
		}
		change.RequesterVersions[RequesterRef{Account: req.Account, Requester: req.Requester}] = step.state.RequesterVersion(req.Requester)
		return change, nil
	})
	return redacted(out, actor, redact), err
}

// decided returns r as decided by actor at now.
func decided(r AccessRequest, status, actor, message string, now time.Time) AccessRequest {
	r.Status, r.DecidedBy, r.DecidedAt, r.Message = status, actor, &now, message
	return r
}

// Approve grants a pending request (R21-R25, R38). An account request
// creates or changes the requester's membership; a tenant request grants
// each user it names on the tenant, which becomes exclusive (R39). Deciding
// a request that is no longer pending is ErrConflict, even when deciders
// race (R25).
func (e *Engine) Approve(ctx context.Context, actor, id string, a Approval) (AccessRequest, error) {
	if err := checkActor(actor); err != nil {
		return AccessRequest{}, err
	}
	if err := checkID("id", id); err != nil {
		return AccessRequest{}, err
	}
	if err := validateApproval(a); err != nil {
		return AccessRequest{}, err
	}
	a.Contact = normalContact(a.Contact)
	command := doc{
		"type": "approve", "request": id, "scope": a.Scope, "role": a.Role,
		"virtual_accounts": nonNil(a.VirtualAccounts), "contact": a.Contact,
		"privileges": nonNilMap(a.Privileges), "justification": a.Justification, "message": a.Message,
	}
	putTime(command, "expires_at_ns", a.ExpiresAt)
	var (
		current  *Membership
		proposed Membership
	)
	prepare := func(ctx context.Context, step *requestAttempt) error {
		if step.req.Kind != KindAccount {
			return nil
		}
		target, m, err := e.targetDoc(ctx, step.state, step.req.Requester)
		if err != nil {
			return err
		}
		current, proposed = m, approvedMembership(m, step.req, a, actor, step.now)
		target["proposed"] = memberDoc(proposed)
		step.in["target"] = target
		return nil
	}
	return e.onRequest(ctx, actor, id, command, prepare, func(ctx context.Context, step *requestAttempt) (AccessRequest, Change, error) {
		req, p, now := step.req, step.p, step.now
		out := decided(req, StatusGranted, actor, a.Message, now)
		change := Change{Versions: map[string]uint64{req.Account: step.state.Version}}
		switch req.Kind {
		case KindAccount:
			change.Members = []Membership{proposed}
			addMemberRecords(&change, p, now, actor, current, proposed, proposed.Justification)
		case KindTenant:
			out.ExpiresAt = a.ExpiresAt
			grant := Grant{Request: id, GrantedBy: actor, ExpiresAt: a.ExpiresAt}
			grants, err := e.tenantGrants(ctx, out, &grant)
			if err != nil {
				return out, Change{}, err
			}
			change.Grants, change.ExclusiveTenants = grants, []string{req.Account}
		default:
			return out, Change{}, &Error{Kind: ErrInvalid, Message: fmt.Sprintf("access request %s has unknown kind %q", id, req.Kind)}
		}
		change.Requests = []AccessRequest{out}
		change.Audit = append(change.Audit, requestAudit(p, now, actor, ActionRequestGranted, &req, &out, a.Message)...)
		change.Events = append(change.Events, event(now, EventRequestGranted, req.Account, recipients(out), doc{"request": out, "message": a.Message}))
		return out, change, nil
	})
}

// approvedMembership is the membership an approval leaves the requester
// with: their live membership, if any, with the approval's scope, contact
// type and privileges added (R22, R23).
func approvedMembership(current *Membership, r AccessRequest, a Approval, actor string, now time.Time) Membership {
	m := Membership{Account: r.Account, User: r.Requester}
	if current != nil && live(current.ExpiresAt, now) {
		m = *current
		m.Roles = slices.Clone(current.Roles)
		m.VARoles = maps.Clone(current.VARoles)
		m.Privileges = maps.Clone(current.Privileges)
	}
	switch a.Scope {
	case "account":
		if a.Role != "" && !slices.Contains(m.Roles, a.Role) {
			m.Roles = append(m.Roles, a.Role)
		}
	case "virtual_accounts":
		if m.VARoles == nil {
			m.VARoles = map[string]string{}
		}
		for _, va := range a.VirtualAccounts {
			m.VARoles[va] = a.Role
		}
	}
	if a.Contact != "" {
		m.Contact = a.Contact
	}
	if len(a.Privileges) > 0 && m.Privileges == nil {
		m.Privileges = map[string]string{}
	}
	maps.Copy(m.Privileges, a.Privileges)
	switch {
	case a.Justification != "":
		m.Justification = a.Justification
	case r.Justification != "":
		m.Justification = r.Justification
	}
	m.ExpiresAt, m.AddedBy, m.AddedAt, m.Request = a.ExpiresAt, actor, now, r.ID
	return m
}

// tenantGrants are the grants of each user a tenant request names once
// grant replaces the request's own (nil grant: removes it). Grants from
// other requests are kept. The grants on a tenant only change with the
// tenant's version, so reading them after its state is consistent.
func (e *Engine) tenantGrants(ctx context.Context, r AccessRequest, grant *Grant) ([]TenantGrants, error) {
	out := make([]TenantGrants, 0, len(r.Users))
	for _, user := range r.Users {
		snap, err := e.store.Snapshot(ctx, user, r.Account)
		if err != nil {
			return nil, err
		}
		grants := slices.DeleteFunc(slices.Clone(snap.TenantGrants), func(g Grant) bool { return g.Request == r.ID })
		if grant != nil {
			grants = append(grants, *grant)
		}
		out = append(out, TenantGrants{Tenant: r.Account, User: user, Grants: grants})
	}
	return out, nil
}

// Deny refuses a pending request with an optional reason code and message
// (R24, R25; for a tenant request, its rejection, R38).
func (e *Engine) Deny(ctx context.Context, actor, id string, d Denial) (AccessRequest, error) {
	if err := checkActor(actor); err != nil {
		return AccessRequest{}, err
	}
	if err := checkID("id", id); err != nil {
		return AccessRequest{}, err
	}
	if err := checkEnum("reason_code", d.ReasonCode); err != nil {
		return AccessRequest{}, err
	}
	if err := checkText("message", d.Message); err != nil {
		return AccessRequest{}, err
	}
	command := doc{"type": "deny", "request": id, "reason_code": d.ReasonCode, "message": d.Message}
	return e.onRequest(ctx, actor, id, command, nil, func(_ context.Context, step *requestAttempt) (AccessRequest, Change, error) {
		req := step.req
		out := decided(req, StatusDenied, actor, d.Message, step.now)
		out.ReasonCode = d.ReasonCode
		// A denial changes the request only: it checks the account's
		// version (the decider's authority) without moving it (R40).
		return out, Change{
			ReadVersions: map[string]uint64{req.Account: step.state.Version},
			Requests:     []AccessRequest{out},
			Audit:        requestAudit(step.p, step.now, actor, ActionRequestDenied, &req, &out, reasonText(d)),
			Events: []Event{event(step.now, EventRequestDenied, req.Account, recipients(out), doc{
				"request": out, "reason_code": d.ReasonCode, "message": d.Message,
			})},
		}, nil
	})
}

// reasonText is a denial's reason for the audit trail.
func reasonText(d Denial) string {
	switch {
	case d.ReasonCode == "":
		return d.Message
	case d.Message == "":
		return d.ReasonCode
	}
	return d.ReasonCode + ": " + d.Message
}

// SetRequestExpiry adds, changes (at set) or removes (at nil) the expiry of
// a granted tenant request and of the grants it gave (R38).
func (e *Engine) SetRequestExpiry(ctx context.Context, actor, id string, at *time.Time) (AccessRequest, error) {
	if err := checkActor(actor); err != nil {
		return AccessRequest{}, err
	}
	if err := checkID("id", id); err != nil {
		return AccessRequest{}, err
	}
	command := doc{"type": "set_request_expiry", "request": id}
	putTime(command, "expires_at_ns", at)
	return e.onRequest(ctx, actor, id, command, nil, func(ctx context.Context, step *requestAttempt) (AccessRequest, Change, error) {
		req := step.req
		out := req
		out.ExpiresAt = at
		grant := Grant{Request: id, GrantedBy: req.DecidedBy, ExpiresAt: at}
		grants, err := e.tenantGrants(ctx, out, &grant)
		if err != nil {
			return out, Change{}, err
		}
		return out, Change{
			Versions: map[string]uint64{req.Account: step.state.Version},
			Requests: []AccessRequest{out},
			Grants:   grants,
			Audit:    requestAudit(step.p, step.now, actor, ActionRequestExpiryChanged, &req, &out, ""),
			Events: []Event{event(step.now, EventRequestExpiryChanged, req.Account, recipients(out), doc{
				"request": out, "expires_at": at,
			})},
		}, nil
	})
}

// Revoke ends a granted request before its time: a tenant request's grants
// are removed (the tenant stays exclusive, R39); an account request's
// membership, when it still comes from that request, is removed (R12
// applies).
func (e *Engine) Revoke(ctx context.Context, actor, id, message string) (AccessRequest, error) {
	if err := checkActor(actor); err != nil {
		return AccessRequest{}, err
	}
	if err := checkID("id", id); err != nil {
		return AccessRequest{}, err
	}
	if err := checkText("message", message); err != nil {
		return AccessRequest{}, err
	}
	var granted *Membership
	prepare := func(_ context.Context, step *requestAttempt) error {
		req := step.req
		// An account request's membership goes with it while it still comes from it.
		granted = member(step.state, req.Requester)
		if req.Kind != KindAccount || granted == nil || granted.Request != id {
			granted = nil
		}
		if granted != nil {
			step.in["target"] = doc{"id": req.Requester, "membership": memberDoc(*granted)}
		}
		return nil
	}
	command := doc{"type": "revoke", "request": id, "message": message}
	return e.onRequest(ctx, actor, id, command, prepare, func(ctx context.Context, step *requestAttempt) (AccessRequest, Change, error) {
		req, p, now := step.req, step.p, step.now
		out := req
		out.Status = StatusRevoked
		if message != "" {
			out.Message = message
		}
		change := Change{
			Versions: map[string]uint64{req.Account: step.state.Version},
			Requests: []AccessRequest{out},
			Audit:    requestAudit(p, now, actor, ActionRequestRevoked, &req, &out, message),
			Events: []Event{event(now, EventRequestRevoked, req.Account, recipients(out), doc{
				"request": out, "message": message,
			})},
		}
		if req.Kind == KindTenant {
			grants, err := e.tenantGrants(ctx, out, nil)
			if err != nil {
				return out, Change{}, err
			}
			change.Grants = grants
		}
		if granted != nil {
			change.RemovedMembers = []MemberRef{{Account: req.Account, User: req.Requester}}
			change.Audit = append(change.Audit, audit(p, now, req.Account, actor, ActionMemberRemoved, req.Requester, granted, nil, message))
		}
		return out, change, nil
	})
}
