package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Lengths the directory accepts (R44).
const (
	maxNameLength  = 256
	maxEmailLength = 254
)

// validateUser checks the shape of a user record (R44).
func validateUser(u User) error {
	if err := checkID("id", u.ID); err != nil {
		return err
	}
	switch {
	case u.Email == "":
		return Invalid("email", "is required")
	case len(u.Email) > maxEmailLength || strings.Count(u.Email, "@") != 1 || strings.ContainsAny(u.Email, " \t\r\n"):
		return Invalid("email", "must be an e-mail address of at most %d characters", maxEmailLength)
	case len(u.FirstName) > maxNameLength:
		return Invalid("first_name", "must be at most %d characters", maxNameLength)
	case len(u.LastName) > maxNameLength:
		return Invalid("last_name", "must be at most %d characters", maxNameLength)
	case u.Organization != "" && !ValidID(u.Organization):
		return Invalid("organization", "must be 1-128 letters, digits, '.', '_', '-' or '@'")
	}
	return nil
}

// PutUser creates or replaces a user (R32: system administrators only). It
// reports whether the user was created (users belong to no account, so two
// operators creating one user at the same instant may both be told so). A
// created user has no access until granted.
func (e *Engine) PutUser(ctx context.Context, actor string, u User) (User, bool, error) {
	if err := checkActor(actor); err != nil {
		return User{}, false, err
	}
	if err := validateUser(u); err != nil {
		return User{}, false, err
	}
	var (
		out     User
		created bool
	)
	cmd := invocation{actor: actor, home: at(DirectoryAccount), result: func() any { return Put[User]{out, created} }}
	err := e.run(ctx, cmd, func(ctx context.Context, p *Policy, now time.Time) (Change, error) {
		existing, err := e.findUser(ctx, u.ID)
		if err != nil {
			return Change{}, err
		}
		actorDoc, err := e.actorDoc(ctx, actor, nil)
		if err != nil {
			return Change{}, err
		}
		in := commandInput(now, actorDoc, doc{"type": "put_user", "user": userDoc(u)})
		if err := e.putExisting(ctx, in, "organization", u.Organization); err != nil {
			return Change{}, err
		}
		target := doc{"id": u.ID}
		if existing != nil {
			target["user"] = userDoc(*existing)
		}
		in["target"] = target
		if _, err := e.decide(ctx, p, in); err != nil {
			return Change{}, err
		}
		out, created = u, existing == nil
		action := ActionUserUpdated
		out.CreatedAt = now
		if existing != nil {
			out.CreatedAt = existing.CreatedAt
		}
		change := Change{Versions: map[string]uint64{}, Users: []User{out}}
		if created {
			action = ActionUserCreated
			change.Events = []Event{event(now, EventUserCreated, "", []string{u.ID}, doc{"user": out})}
		}
		change.Audit = []AuditRecord{audit(p, now, DirectoryAccount, actor, action, u.ID, existing, out, "")}
		return change, nil
	})
	if err != nil {
		return User{}, false, err
	}
	return out, created, nil
}

// putExisting adds to a directory command's input, under key, the account
// a record names (a user's organization, an account's partner), absent when
// it names none or one that does not exist: the policy refuses a record
// naming an account that does not exist (R35, R44).
func (e *Engine) putExisting(ctx context.Context, in doc, key, account string) error {
	if account == "" {
		return nil
	}
	state, err := e.findState(ctx, account)
	if err != nil {
		return err
	}
	if state != nil {
		in[key] = accountDoc(state.Account)
	}
	return nil
}

// GetUser returns a user to the user themselves, to an account_admin or
// tm_admin of their organization, and to system administrators (R43).
func (e *Engine) GetUser(ctx context.Context, actor, id string) (User, error) {
	if err := checkActor(actor); err != nil {
		return User{}, err
	}
	if err := checkID("id", id); err != nil {
		return User{}, err
	}
	u, err := e.findUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	target := doc{"id": id}
	var snap Snapshot
	if u != nil {
		target["user"] = userDoc(*u)
		if u.Organization != "" {
			if snap, err = e.store.Snapshot(ctx, actor, u.Organization); err != nil {
				return User{}, err
			}
		}
	}
	actorDoc, err := e.actorDoc(ctx, actor, snap.Membership)
	if err != nil {
		return User{}, err
	}
	in := commandInput(e.now(), actorDoc, doc{"type": "get_user", "user": id})
	in["target"] = target
	if snap.Account != nil {
		in["account"] = accountDoc(*snap.Account)
	}
	if _, err := e.decide(ctx, e.policy.Load(), in); err != nil {
		return User{}, err
	}
	if u == nil {
		return User{}, notFound(nil, "user %s does not exist", id)
	}
	return *u, nil
}

// validateAccount checks the shape of an account record (R44).
func validateAccount(a Account) error {
	if err := checkID("id", a.ID); err != nil {
		return err
	}
	if a.ID == DirectoryAccount {
		return Invalid("id", "%s is reserved for the directory's audit trail", DirectoryAccount)
	}
	if a.Name == "" {
		return Invalid("name", "is required")
	}
	if len(a.Name) > maxNameLength {
		return Invalid("name", "must be at most %d characters", maxNameLength)
	}
	seen := map[string]bool{}
	for i, va := range a.VirtualAccounts {
		field := fmt.Sprintf("virtual_accounts[%d]", i)
		if err := checkID(field, va); err != nil {
			return err
		}
		if seen[va] {
			return Invalid(field, "%s is listed twice", va)
		}
		seen[va] = true
	}
	if a.Partner != "" && !ValidID(a.Partner) {
		return Invalid("partner", "must be 1-128 letters, digits, '.', '_', '-' or '@'")
	}
	return nil
}

// PutAccount creates or replaces an account (R32: system administrators
// only). It reports whether the account was created.
func (e *Engine) PutAccount(ctx context.Context, actor string, a Account) (Account, bool, error) {
	if err := checkActor(actor); err != nil {
		return Account{}, false, err
	}
	if err := validateAccount(a); err != nil {
		return Account{}, false, err
	}
	var (
		out     Account
		created bool
	)
	cmd := invocation{actor: actor, home: at(a.ID), result: func() any { return Put[Account]{out, created} }}
	err := e.run(ctx, cmd, func(ctx context.Context, p *Policy, now time.Time) (Change, error) {
		state, err := e.findState(ctx, a.ID, StatusPending)
		if err != nil {
			return Change{}, err
		}
		actorDoc, err := e.actorDoc(ctx, actor, member(state, actor))
		if err != nil {
			return Change{}, err
		}
		in := commandInput(now, actorDoc, doc{"type": "put_account", "account": accountDoc(a)})
		putState(in, state)
		if a.Partner != a.ID {
			if err := e.putExisting(ctx, in, "partner", a.Partner); err != nil {
				return Change{}, err
			}
		}
		if _, err := e.decide(ctx, p, in); err != nil {
			return Change{}, err
		}
		out, created = a, state == nil
		out.CreatedAt = now
		action := ActionAccountCreated
		var before *Account
		if state != nil {
			out.CreatedAt = state.Account.CreatedAt
			action, before = ActionAccountUpdated, &state.Account
		}
		return Change{
			Versions: map[string]uint64{a.ID: version(state)},
			Accounts: []Account{out},
			Audit:    []AuditRecord{audit(p, now, a.ID, actor, action, a.ID, before, out, "")},
		}, nil
	})
	if err != nil {
		return Account{}, false, err
	}
	return out, created, nil
}

// GetAccount returns an account to its members, to the members of its
// partner reseller and to system administrators (R43). Others get
// ErrForbidden whether or not it exists, so existence does not leak.
func (e *Engine) GetAccount(ctx context.Context, actor, id string) (Account, error) {
	if err := checkActor(actor); err != nil {
		return Account{}, err
	}
	if err := checkID("id", id); err != nil {
		return Account{}, err
	}
	snap, err := e.store.Snapshot(ctx, actor, id)
	if err != nil {
		return Account{}, err
	}
	actorDoc, err := e.actorDoc(ctx, actor, snap.Membership)
	if err != nil {
		return Account{}, err
	}
	if snap.PartnerMembership != nil {
		actorDoc["partner_membership"] = memberDoc(*snap.PartnerMembership)
	}
	in := commandInput(e.now(), actorDoc, doc{"type": "get_account", "account": id})
	if snap.Account != nil {
		in["account"] = accountDoc(*snap.Account)
	}
	if _, err := e.decide(ctx, e.policy.Load(), in); err != nil {
		return Account{}, err
	}
	if snap.Account == nil {
		return Account{}, notFound(nil, "account %s does not exist", id)
	}
	return *snap.Account, nil
}
