package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
	"unicode/utf8"
)

// ContactNoneName names no contact type in the API, as "" does (API.md:
// "primary", "secondary" or none). Commands store it as ContactNone.
const ContactNoneName = "none"

// normalContact returns the contact type a command stores: ContactNone for
// "" and "none", the value given otherwise.
func normalContact(contact string) string {
	if contact == ContactNoneName {
		return ContactNone
	}
	return contact
}

// checkEnum bounds a value the policy checks against one of its
// enumerations (roles, contact types, applications, levels, scopes, reason
// codes): whether it is one of them is the policy's to say, in a 422 that
// names the field, the value and the values allowed.
func checkEnum(field, value string) error {
	if len(value) > MaxIDLength || !utf8.ValidString(value) {
		return Invalid(field, "must be at most %d bytes of valid UTF-8: one of the values the policy names", MaxIDLength)
	}
	return nil
}

// validateMembership checks the shape of a membership a command sets (R44);
// whether its roles, contact type and privileges are allowed is the
// policy's to say.
func validateMembership(m Membership) error {
	if err := checkID("account", m.Account); err != nil {
		return err
	}
	if err := checkID("user", m.User); err != nil {
		return err
	}
	for i, role := range m.Roles {
		if err := checkEnum(fmt.Sprintf("roles[%d]", i), role); err != nil {
			return err
		}
	}
	for va, role := range m.VARoles {
		if err := checkEnum("va_roles", va); err != nil {
			return err
		}
		if err := checkEnum("va_roles."+va, role); err != nil {
			return err
		}
	}
	if err := checkEnum("contact", m.Contact); err != nil {
		return err
	}
	for app, level := range m.Privileges {
		if err := checkEnum("privileges", app); err != nil {
			return err
		}
		if err := checkEnum("privileges."+app, level); err != nil {
			return err
		}
	}
	return checkText("justification", m.Justification)
}

// memberInput is the input of a command on one account's members.
func (e *Engine) memberInput(ctx context.Context, now time.Time, actor string, state *AccountState, command doc) (doc, error) {
	actorDoc, err := e.actorDoc(ctx, actor, member(state, actor))
	if err != nil {
		return nil, err
	}
	in := commandInput(now, actorDoc, command)
	putState(in, state)
	return in, nil
}

// targetDoc describes the user a member command is about: their user
// record and current membership, each absent when there is none (R31).
func (e *Engine) targetDoc(ctx context.Context, state *AccountState, user string) (doc, *Membership, error) {
	d := doc{"id": user}
	u, err := e.findUser(ctx, user)
	if err != nil {
		return nil, nil, err
	}
	if u != nil {
		d["user"] = userDoc(*u)
	}
	current := member(state, user)
	if current != nil {
		d["membership"] = memberDoc(*current)
	}
	return d, current, nil
}

// SetMember adds m.User to m.Account or changes their access (R26): roles,
// virtual-account roles, contact type, privileges, justification and expiry
// are taken from m; AddedBy and AddedAt are set here. The policy decides it
// on the account's current state (R10, R12, R30, R31) and it commits
// atomically with its audit record and event (R40-R42).
func (e *Engine) SetMember(ctx context.Context, actor string, m Membership) (Membership, error) {
	if err := checkActor(actor); err != nil {
		return Membership{}, err
	}
	if err := validateMembership(m); err != nil {
		return Membership{}, err
	}
	return e.setMember(ctx, actor, m.Account, m.User, func(*Membership) (Membership, error) { return m, nil })
}

// setMember is SetMember and UpdateMember: build makes the membership to
// set from the current one (nil when the user is no member), read in the
// same state the policy decides on and the commit checks the version of.
func (e *Engine) setMember(ctx context.Context, actor, account, user string, build func(current *Membership) (Membership, error)) (Membership, error) {
	var out Membership
	cmd := invocation{actor: actor, home: at(account), result: func() any { return out }}
	err := e.run(ctx, cmd, func(ctx context.Context, p *Policy, now time.Time) (Change, error) {
		state, err := e.findState(ctx, account, StatusPending)
		if err != nil {
			return Change{}, err
		}
		target, current, err := e.targetDoc(ctx, state, user)
		if err != nil {
			return Change{}, err
		}
		m, err := build(current)
		if err != nil {
			return Change{}, err
		}
		m.Contact = normalContact(m.Contact)
		proposed := m
		proposed.AddedBy, proposed.AddedAt, proposed.Request = actor, now, ""
		if current != nil {
			proposed.Request = current.Request
		}
		target["proposed"] = memberDoc(proposed)
		command := doc{
			"type": "set_member", "account": m.Account, "user": m.User, "roles": nonNil(m.Roles),
			"va_roles": nonNilMap(m.VARoles), "contact": m.Contact, "privileges": nonNilMap(m.Privileges),
			"justification": m.Justification,
		}
		putTime(command, "expires_at_ns", m.ExpiresAt)
		in, err := e.memberInput(ctx, now, actor, state, command)
		if err != nil {
			return Change{}, err
		}
		in["target"] = target
		if _, err := e.decide(ctx, p, in); err != nil {
			return Change{}, err
		}
		out = proposed
		change := Change{Versions: map[string]uint64{m.Account: version(state)}, Members: []Membership{proposed}}
		addMemberRecords(&change, p, now, actor, current, proposed, m.Justification)
		return change, nil
	})
	return out, err
}

// MemberPatch is a change to some fields of a membership (JSON merge
// patch, RFC 7396): a nil field keeps the current value. Set a field to
// an empty value to clear it.
type MemberPatch struct {
	Roles      *[]string
	VARoles    *map[string]string
	Contact    *string
	Privileges *map[string]string
	// Justification is the reason for this change; nil keeps the current one.
	Justification *string
	// SetExpiresAt makes ExpiresAt replace the current expiry (nil: none).
	SetExpiresAt bool
	ExpiresAt    *time.Time
}

// Apply returns m with the fields of p that are set.
func (p MemberPatch) Apply(m Membership) Membership {
	if p.Roles != nil {
		m.Roles = *p.Roles
	}
	if p.VARoles != nil {
		m.VARoles = *p.VARoles
	}
	if p.Contact != nil {
		m.Contact = *p.Contact
	}
	if p.Privileges != nil {
		m.Privileges = *p.Privileges
	}
	if p.Justification != nil {
		m.Justification = *p.Justification
	}
	if p.SetExpiresAt {
		m.ExpiresAt = p.ExpiresAt
	}
	return m
}

// UpdateMember changes only the fields of user's membership in account
// that patch sets, keeping the others (a secondary contact whose role
// changes stays a secondary contact with their privileges); a user who is
// no member is added with the fields given, as SetMember would. It reads
// the current membership, merges, and is then decided and committed
// exactly as SetMember with the merged membership, on the state read (R10,
// R12, R26, R30, R31, R40-R42): should the account change before the
// commit, it is read, merged and decided again.
func (e *Engine) UpdateMember(ctx context.Context, actor, account, user string, patch MemberPatch) (Membership, error) {
	if err := checkActor(actor); err != nil {
		return Membership{}, err
	}
	if err := checkID("account", account); err != nil {
		return Membership{}, err
	}
	if err := checkID("user", user); err != nil {
		return Membership{}, err
	}
	return e.setMember(ctx, actor, account, user, func(current *Membership) (Membership, error) {
		base := Membership{Account: account, User: user}
		if current != nil {
			base = *current
			base.Roles = slices.Clone(current.Roles)
			base.VARoles = maps.Clone(current.VARoles)
			base.Privileges = maps.Clone(current.Privileges)
		}
		m := patch.Apply(base)
		if m.Roles == nil {
			m.Roles = []string{}
		}
		return m, validateMembership(m)
	})
}

// addMemberRecords adds the audit record and event of a membership written
// by a command: added (a welcome, R42) when the user held no live
// membership, changed otherwise.
func addMemberRecords(c *Change, p *Policy, now time.Time, actor string, current *Membership, m Membership, reason string) {
	action, typ := ActionMemberAdded, EventMemberAdded
	if current != nil && live(current.ExpiresAt, now) {
		action, typ = ActionMemberChanged, EventMemberChanged
	}
	c.Audit = append(c.Audit, audit(p, now, m.Account, actor, action, m.User, current, m, reason))
	c.Events = append(c.Events, event(now, typ, m.Account, []string{m.User}, doc{"membership": m}))
}

// RemoveMember removes user from account (R26); the account keeps its last
// primary contact and last account_admin (R12).
func (e *Engine) RemoveMember(ctx context.Context, actor, account, user string) error {
	if err := checkActor(actor); err != nil {
		return err
	}
	if err := checkID("account", account); err != nil {
		return err
	}
	if err := checkID("user", user); err != nil {
		return err
	}
	cmd := invocation{actor: actor, home: at(account), result: func() any { return nil }}
	return e.run(ctx, cmd, func(ctx context.Context, p *Policy, now time.Time) (Change, error) {
		state, err := e.findState(ctx, account, StatusPending)
		if err != nil {
			return Change{}, err
		}
		target, current, err := e.targetDoc(ctx, state, user)
		if err != nil {
			return Change{}, err
		}
		in, err := e.memberInput(ctx, now, actor, state, doc{"type": "remove_member", "account": account, "user": user})
		if err != nil {
			return Change{}, err
		}
		in["target"] = target
		if _, err := e.decide(ctx, p, in); err != nil {
			return Change{}, err
		}
		if current == nil {
			return Change{}, notFound(nil, "%s is not a member of %s", user, account)
		}
		return Change{
			Versions:       map[string]uint64{account: version(state)},
			RemovedMembers: []MemberRef{{Account: account, User: user}},
			Audit:          []AuditRecord{audit(p, now, account, actor, ActionMemberRemoved, user, current, nil, "")},
			Events:         []Event{event(now, EventMemberRemoved, account, []string{user}, doc{"membership": current})},
		}, nil
	})
}

// readInput is the input of a read about one account: the actor's
// membership in it and the account, from one snapshot.
func (e *Engine) readInput(ctx context.Context, actor, account string, command doc) (doc, error) {
	snap, err := e.store.Snapshot(ctx, actor, account)
	if err != nil {
		return nil, err
	}
	actorDoc, err := e.actorDoc(ctx, actor, snap.Membership)
	if err != nil {
		return nil, err
	}
	in := commandInput(e.now(), actorDoc, command)
	if snap.Account != nil {
		in["account"] = accountDoc(*snap.Account)
	}
	return in, nil
}

// ListMembers lists an account's members to those the policy lets see them
// (R43); others get ErrForbidden, whether or not the account exists.
func (e *Engine) ListMembers(ctx context.Context, actor, account string) ([]Membership, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if err := checkID("account", account); err != nil {
		return nil, err
	}
	in, err := e.readInput(ctx, actor, account, doc{"type": "list_members", "account": account})
	if err != nil {
		return nil, err
	}
	if _, err := e.decide(ctx, e.policy.Load(), in); err != nil {
		return nil, err
	}
	return e.store.ListMembers(ctx, account)
}

// GetMember returns user's membership in account to those who may see the
// account's members, and to the user themselves (R43).
func (e *Engine) GetMember(ctx context.Context, actor, account, user string) (Membership, error) {
	if err := checkActor(actor); err != nil {
		return Membership{}, err
	}
	if err := checkID("account", account); err != nil {
		return Membership{}, err
	}
	if err := checkID("user", user); err != nil {
		return Membership{}, err
	}
	in, err := e.readInput(ctx, actor, account, doc{"type": "get_member", "account": account, "user": user})
	if err != nil {
		return Membership{}, err
	}
	m, err := e.store.GetMember(ctx, account, user)
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Membership{}, err
	}
	target := doc{"id": user}
	if found {
		target["membership"] = memberDoc(m)
	}
	in["target"] = target
	if _, err := e.decide(ctx, e.policy.Load(), in); err != nil {
		return Membership{}, err
	}
	if !found {
		return Membership{}, notFound(nil, "%s is not a member of %s", user, account)
	}
	return m, nil
}
