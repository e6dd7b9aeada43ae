package storetest

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse/engine"
)

// The norm functions bring a record to one canonical form before comparing:
// times in UTC without monotonic reading, and nil for empty maps, slices and
// raw JSON in the fields the types mark omitempty (the only places where nil
// and empty may differ after a round trip). Cursors are cleared.

func normUser(u engine.User) engine.User {
	u.CreatedAt = u.CreatedAt.UTC()
	return u
}

func normAccount(a engine.Account) engine.Account {
	a.Settings = emptyToNil(a.Settings)
	a.CreatedAt = a.CreatedAt.UTC()
	return a
}

func normMember(m engine.Membership) engine.Membership {
	m.VARoles = emptyToNil(m.VARoles)
	m.Privileges = emptyToNil(m.Privileges)
	m.AddedAt = m.AddedAt.UTC()
	m.ExpiresAt = utcPtr(m.ExpiresAt)
	return m
}

func normRequest(r engine.AccessRequest) engine.AccessRequest {
	r.CreatedAt = r.CreatedAt.UTC()
	r.DecidedAt = utcPtr(r.DecidedAt)
	r.ExpiresAt = utcPtr(r.ExpiresAt)
	if len(r.Users) == 0 {
		r.Users = nil
	}
	return r
}

func normGrant(g engine.Grant) engine.Grant {
	g.ExpiresAt = utcPtr(g.ExpiresAt)
	return g
}

func normAudit(a engine.AuditRecord) engine.AuditRecord {
	a.Cursor = ""
	a.At = a.At.UTC()
	a.Before = compact(a.Before)
	a.After = compact(a.After)
	return a
}

func normEvent(e engine.Event) engine.Event {
	e.Cursor = ""
	e.At = e.At.UTC()
	e.Data = compact(e.Data)
	if len(e.To) == 0 {
		e.To = nil
	}
	return e
}

func normExpiry(e engine.Expiry) engine.Expiry {
	e.At = e.At.UTC()
	return e
}

func normSnapshot(s engine.Snapshot) engine.Snapshot {
	s.User = mapPtr(s.User, normUser)
	s.Account = mapPtr(s.Account, normAccount)
	s.Membership = mapPtr(s.Membership, normMember)
	s.PartnerMembership = mapPtr(s.PartnerMembership, normMember)
	s.TenantGrants = normAll(s.TenantGrants, normGrant)
	return s
}

// normAll normalizes every element; an empty slice becomes nil.
func normAll[T any](in []T, norm func(T) T) []T {
	if len(in) == 0 {
		return nil
	}
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = norm(v)
	}
	return out
}

func mapPtr[T any](p *T, norm func(T) T) *T {
	if p == nil {
		return nil
	}
	v := norm(*p)
	return &v
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func emptyToNil[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}

// compact removes insignificant white space from raw JSON; empty is nil.
func compact(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}
