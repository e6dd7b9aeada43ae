package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// doc is one object of an admission input, as POLICIES.md ("Admission")
// describes it. Commands are not the hot path: the input is built as plain
// maps and converted once.
type doc = map[string]any

// verdict is the admission policy's answer for one command
// (data.gatehouse.admission.result).
type verdict struct {
	Entitled   bool
	Denials    []string
	Violations []string
	Missing    []string
	Conflicts  []string
	// Deciders maps an account id to the users told of its new requests.
	Deciders map[string][]string
	// Redact names the fields of tenant requests hidden from the actor (R37).
	Redact []string
	// SeeAll lets the actor see every event, not only theirs.
	SeeAll bool
	// Hidden: the command is about an object the actor may not see; it is
	// answered exactly as for an unknown id (R43).
	Hidden bool
}

// err is the command's error for the verdict, nil when it may go on: not
// entitled (403), then missing things (404), then conflicts (409), then
// rule violations (422).
func (v verdict) err() error {
	switch {
	case !v.Entitled:
		return &ViolationError{Forbidden: true, Violations: v.Denials}
	case len(v.Missing) > 0:
		return notFound(nil, "%s", strings.Join(v.Missing, "; "))
	case len(v.Conflicts) > 0:
		return conflict(nil, "%s", strings.Join(v.Conflicts, "; "))
	case len(v.Violations) > 0:
		return &ViolationError{Violations: v.Violations}
	}
	return nil
}

// ask evaluates the admission policy of p for one command input. A policy
// without an admission rule, or one that fails or answers out of shape,
// refuses every command: fail closed.
func (e *Engine) ask(ctx context.Context, p *Policy, input doc) (verdict, error) {
	if p.admission == nil {
		return verdict{}, &ViolationError{Forbidden: true, Violations: []string{
			"the active policy defines no " + admissionQuery + ": every command is refused",
		}}
	}
	value, err := ast.InterfaceToValue(input)
	if err != nil {
		return verdict{}, fmt.Errorf("admission input: %w", err)
	}
	rs, err := p.admission.Eval(ctx, rego.EvalParsedInput(value))
	if err != nil && ctx.Err() != nil {
		// The command ran out of time (or its caller left) while the policy ran.
		return verdict{}, fmt.Errorf("admission policy (revision %s): %w", p.Revision, ctx.Err())
	}
	if err != nil {
		return verdict{}, fmt.Errorf("admission policy (revision %s): %w", p.Revision, err)
	}
	v, err := readVerdict(rs)
	if err != nil {
		return verdict{}, fmt.Errorf("admission policy (revision %s): %w", p.Revision, err)
	}
	return v, nil
}

// decide asks the policy and returns the verdict's error when it refuses.
func (e *Engine) decide(ctx context.Context, p *Policy, input doc) (verdict, error) {
	v, err := e.ask(ctx, p, input)
	if err != nil {
		return v, err
	}
	return v, v.err()
}

// readVerdict reads data.gatehouse.admission.result; anything but the
// documented shape is an error.
func readVerdict(rs rego.ResultSet) (verdict, error) {
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return verdict{}, errors.New("no result (" + admissionQuery + " is undefined)")
	}
	obj, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return verdict{}, errors.New("the result is not an object")
	}
	var v verdict
	if v.Entitled, ok = obj["entitled"].(bool); !ok {
		return verdict{}, errors.New("the result has no boolean entitled")
	}
	var err error
	lists := []struct {
		key string
		out *[]string
	}{
		{"denials", &v.Denials}, {"violations", &v.Violations}, {"missing", &v.Missing},
		{"conflicts", &v.Conflicts}, {"redact", &v.Redact},
	}
	for _, l := range lists {
		if *l.out, err = stringList(obj[l.key]); err != nil {
			return verdict{}, fmt.Errorf("result.%s: %w", l.key, err)
		}
	}
	if !v.Entitled && len(v.Denials) == 0 {
		return verdict{}, errors.New("the result refuses the command without a denial")
	}
	if raw, ok := obj["deciders"].(map[string]any); ok {
		v.Deciders = make(map[string][]string, len(raw))
		for account, users := range raw {
			if v.Deciders[account], err = stringList(users); err != nil {
				return verdict{}, fmt.Errorf("result.deciders[%q]: %w", account, err)
			}
		}
	}
	v.SeeAll, _ = obj["see_all"].(bool)
	v.Hidden, _ = obj["hidden"].(bool)
	return v, nil
}

// stringList reads an optional array of strings.
func stringList(raw any) ([]string, error) {
	if raw == nil {
		return nil, nil
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("is not an array: %v", raw)
	}
	out := make([]string, 0, len(items))
	for _, item := range items {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("holds a non-string: %v", item)
		}
		out = append(out, s)
	}
	return out, nil
}

// The documents of an admission input. Times are nanoseconds since the
// epoch (..._ns), absent when unset, as in the decision input.

func userDoc(u User) doc {
	return doc{
		"id": u.ID, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
		"organization": u.Organization,
	}
}

func accountDoc(a Account) doc {
	settings := a.Settings
	if settings == nil {
		settings = map[string]any{}
	}
	return doc{
		"id": a.ID, "name": a.Name, "virtual_accounts": nonNil(a.VirtualAccounts),
		"partner": a.Partner, "settings": settings,
	}
}

func memberDoc(m Membership) doc {
	d := doc{
		"account": m.Account, "user": m.User, "roles": nonNil(m.Roles),
		"va_roles": nonNilMap(m.VARoles), "contact": m.Contact, "privileges": nonNilMap(m.Privileges),
		"justification": m.Justification, "added_by": m.AddedBy, "request": m.Request,
	}
	putTime(d, "expires_at_ns", m.ExpiresAt)
	return d
}

func membersDoc(members []Membership) doc {
	d := make(doc, len(members))
	for _, m := range members {
		d[m.User] = memberDoc(m)
	}
	return d
}

func requestDoc(r AccessRequest) doc {
	d := doc{
		"id": r.ID, "kind": r.Kind, "account": r.Account, "requester": r.Requester,
		"status": r.Status, "justification": r.Justification, "decided_by": r.DecidedBy,
		"reason_code": r.ReasonCode, "message": r.Message, "name": r.Name,
		"request_message": r.RequestMessage, "partner": r.Partner, "users": nonNil(r.Users),
		"created_at_ns": r.CreatedAt.UnixNano(),
	}
	putTime(d, "decided_at_ns", r.DecidedAt)
	putTime(d, "expires_at_ns", r.ExpiresAt)
	return d
}

func putTime(d doc, key string, t *time.Time) {
	if t != nil {
		d[key] = t.UnixNano()
	}
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// actorDoc describes the actor: id, system administrator flag, user record
// (absent when unknown) and membership in the account the command is about
// (absent when none).
func (e *Engine) actorDoc(ctx context.Context, actor string, membership *Membership) (doc, error) {
	d := doc{"id": actor, "system_admin": e.IsSystemAdmin(actor)}
	u, err := e.findUser(ctx, actor)
	if err != nil {
		return nil, err
	}
	if u != nil {
		d["user"] = userDoc(*u)
	}
	if membership != nil {
		d["membership"] = memberDoc(*membership)
	}
	return d, nil
}

// commandInput starts the input of one command.
func commandInput(now time.Time, actor doc, command doc) doc {
	return doc{"now_ns": now.UnixNano(), "actor": actor, "command": command}
}

// putState adds the account, its members and the actor's membership in it
// to an input; nothing when the account does not exist.
func putState(in doc, state *AccountState) {
	if state == nil {
		in["members"] = doc{}
		return
	}
	in["account"] = accountDoc(state.Account)
	in["members"] = membersDoc(state.Members)
}
