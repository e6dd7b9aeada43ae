package engine

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Bounds of a tenant request's shape (R44).
const (
	maxAssociations       = 100
	maxAssociationEntries = 1000
)

// Association links users of a reseller to tenants they may support (R35).
type Association struct {
	Users   []string
	Tenants []string
}

// TenantRequest is what a reseller's tm_admin submits (R35): a name, an
// optional message for the tenants, and associations of users to tenants.
type TenantRequest struct {
	Name         string
	Message      string
	Associations []Association
}

// validateTenantRequest checks the shape of a tenant request (R44); the
// rules of R35 are the policy's.
func validateTenantRequest(r TenantRequest) error {
	if err := checkText("name", r.Name); err != nil {
		return err
	}
	if err := checkText("message", r.Message); err != nil {
		return err
	}
	if len(r.Associations) > maxAssociations {
		return Invalid("associations", "must hold at most %d associations", maxAssociations)
	}
	for i, a := range r.Associations {
		if len(a.Users) > maxAssociationEntries || len(a.Tenants) > maxAssociationEntries {
			return Invalid(fmt.Sprintf("associations[%d]", i), "must name at most %d users and %d tenants", maxAssociationEntries, maxAssociationEntries)
		}
		for j, u := range a.Users {
			if err := checkID(fmt.Sprintf("associations[%d].users[%d]", i, j), u); err != nil {
				return err
			}
		}
		for j, t := range a.Tenants {
			if err := checkID(fmt.Sprintf("associations[%d].tenants[%d]", i, j), t); err != nil {
				return err
			}
		}
	}
	return nil
}

// usersByTenant lists the tenants of the associations in the order they
// are first named, each with the users associated with it (R36).
func usersByTenant(r TenantRequest) ([]string, map[string][]string) {
	var tenants []string
	users := map[string][]string{}
	for _, a := range r.Associations {
		for _, t := range a.Tenants {
			if _, ok := users[t]; !ok {
				tenants = append(tenants, t)
				users[t] = []string{}
			}
			for _, u := range a.Users {
				if !slices.Contains(users[t], u) {
					users[t] = append(users[t], u)
				}
			}
		}
	}
	return tenants, users
}

// RequestTenantAccess submits a tenant request for the reseller the actor
// works for (their organization): one request per tenant, holding exactly
// the users associated with that tenant (R35, R36), all committed together
// and announced to each tenant's account_admins (R42).
func (e *Engine) RequestTenantAccess(ctx context.Context, actor string, r TenantRequest) ([]AccessRequest, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if err := validateTenantRequest(r); err != nil {
		return nil, err
	}
	var out []AccessRequest
	home := DirectoryAccount
	if tenants, _ := usersByTenant(r); len(tenants) > 0 {
		home = tenants[0]
	}
	cmd := invocation{actor: actor, home: at(home), result: func() any { return out }}
	err := e.run(ctx, cmd, func(ctx context.Context, p *Policy, now time.Time) (Change, error) {
		in, reseller, versions, err := e.tenantRequestInput(ctx, now, actor, r)
		if err != nil {
			return Change{}, err
		}
		v, err := e.decide(ctx, p, in)
		if err != nil {
			return Change{}, err
		}
		tenants, users := usersByTenant(r)
		change := Change{Versions: versions}
		out = make([]AccessRequest, 0, len(tenants))
		for _, t := range tenants {
			req := AccessRequest{
				ID: newID(), Kind: KindTenant, Account: t, Requester: actor, Status: StatusPending,
				CreatedAt: now, Name: r.Name, RequestMessage: r.Message, Partner: reseller, Users: users[t],
			}
			out = append(out, req)
			change.Requests = append(change.Requests, req)
			change.Audit = append(change.Audit, requestAudit(p, now, actor, ActionRequestCreated, nil, &req, r.Message)...)
			change.Events = append(change.Events, event(now, EventRequestCreated, t, v.Deciders[t], doc{"request": tenantView(&req)}))
		}
		return change, nil
	})
	return out, err
}

// tenantRequestInput is the input of request_tenant_access: the reseller
// (the actor's organization) as the account, the users and tenants named
// (absent when they do not exist), each tenant's members, and the versions
// of every account involved.
func (e *Engine) tenantRequestInput(ctx context.Context, now time.Time, actor string, r TenantRequest) (doc, string, map[string]uint64, error) {
	user, err := e.findUser(ctx, actor)
	if err != nil {
		return nil, "", nil, err
	}
	var (
		reseller      string
		resellerState *AccountState
	)
	versions := map[string]uint64{}
	if user != nil && user.Organization != "" {
		reseller = user.Organization
		if resellerState, err = e.findState(ctx, reseller, StatusPending); err != nil {
			return nil, "", nil, err
		}
		versions[reseller] = version(resellerState)
	}
	associations := make([]any, 0, len(r.Associations))
	users, tenants, tenantMembers := doc{}, doc{}, doc{}
	seen := map[string]bool{}
	for _, a := range r.Associations {
		associations = append(associations, doc{"users": nonNil(a.Users), "tenants": nonNil(a.Tenants)})
		for _, id := range a.Users {
			if seen[id] {
				continue
			}
			seen[id] = true
			u, err := e.findUser(ctx, id)
			if err != nil {
				return nil, "", nil, err
			}
			if u != nil {
				users[id] = userDoc(*u)
			}
		}
		for _, id := range a.Tenants {
			if _, done := versions[id]; done {
				continue
			}
			state, err := e.findState(ctx, id, StatusPending)
			if err != nil {
				return nil, "", nil, err
			}
			versions[id] = version(state)
			if state != nil {
				tenants[id] = accountDoc(state.Account)
				tenantMembers[id] = membersDoc(state.Members)
			}
		}
	}
	actorDoc, err := e.actorDoc(ctx, actor, member(resellerState, actor))
	if err != nil {
		return nil, "", nil, err
	}
	in := commandInput(now, actorDoc, doc{
		"type": "request_tenant_access", "name": r.Name, "message": r.Message, "associations": associations,
	})
	putState(in, resellerState)
	in["users"], in["tenants"], in["tenant_members"] = users, tenants, tenantMembers
	return in, reseller, versions, nil
}
