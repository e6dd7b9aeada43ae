package engine

import (
	"encoding/json"
	"time"
)

// Actions of audit records (R41).
const (
	ActionUserCreated          = "user.created"
	ActionUserUpdated          = "user.updated"
	ActionAccountCreated       = "account.created"
	ActionAccountUpdated       = "account.updated"
	ActionMemberAdded          = "member.added"
	ActionMemberChanged        = "member.changed"
	ActionMemberRemoved        = "member.removed"
	ActionMemberExpired        = "member.expired"
	ActionRequestCreated       = "request.created"
	ActionRequestGranted       = "request.granted"
	ActionRequestDenied        = "request.denied"
	ActionRequestExpiryChanged = "request.expiry_changed"
	ActionRequestRevoked       = "request.revoked"
	ActionRequestExpired       = "request.expired"
)

// Types of events (R42).
const (
	EventRequestCreated       = "request.created"
	EventRequestGranted       = "request.granted"
	EventRequestDenied        = "request.denied"
	EventRequestExpiryChanged = "request.expiry_changed"
	EventRequestRevoked       = "request.revoked"
	EventMemberAdded          = "member.added"
	EventMemberChanged        = "member.changed"
	EventMemberRemoved        = "member.removed"
	EventAccessExpired        = "access.expired"
	EventUserCreated          = "user.created"
)

// DirectoryAccount is the audit trail of users, who belong to no account:
// only system administrators read it. No account may take this id.
const DirectoryAccount = "_directory"

// SystemActor is the actor of changes gatehouse makes by itself (expiry).
const SystemActor = "gatehouse"

// audit builds one audit record of a change (R41).
func audit(p *Policy, now time.Time, account, actor, action, target string, before, after any, reason string) AuditRecord {
	return AuditRecord{
		ID: newID(), Account: account, Actor: actor, Action: action, Target: target, At: now,
		Before: rawJSON(before), After: rawJSON(after), Reason: reason, PolicyRevision: p.Revision,
	}
}

// event builds one event for the people involved (R42).
func event(now time.Time, typ, account string, to []string, data any) Event {
	return Event{ID: newID(), Type: typ, Account: account, At: now, To: to, Data: rawJSON(data)}
}

// rawJSON encodes v, nil for a nil pointer or nil v. Every value given is a
// domain type or a map of them, which always encode.
func rawJSON(v any) json.RawMessage {
	switch x := v.(type) {
	case nil:
		return nil
	case *Membership:
		if x == nil {
			return nil
		}
	case *AccessRequest:
		if x == nil {
			return nil
		}
	case *User:
		if x == nil {
			return nil
		}
	case *Account:
		if x == nil {
			return nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
