package redis

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/engine"
)

//go:embed commit.lua
var commitLua string

// Stream fields holding the JSON of an audit record and of an event.
const (
	auditField = "record"
	eventField = "event"
)

// xaddSameID is commit.lua's XADD with the entry id the previous XADD got:
// it copies an event to a recipient's stream under its global cursor.
const xaddSameID = "XADDSAMEID"

// Commit applies change in one Lua script, so that the version check, the
// state, the audit records and the events are one atomic unit (R40): when
// any version differs from change.Versions nothing is written and the error
// wraps engine.ErrConflict. go-redis sends the script by EVALSHA and falls
// back to EVAL when Redis does not know it (after a restart, say).
//
// Audit records and events are appended to their streams by XADD inside the
// script; the stream entry id becomes their Cursor. Each event is also
// appended, under the same id, to the stream of each of its recipients. Ids that would name a
// key (user, account, member, request, tenant, audit account) must not be
// empty: that is an error wrapping engine.ErrInvalid and nothing is written.
func (s *Store) Commit(ctx context.Context, change engine.Change) error {
	b, err := s.batch(change)
	if err != nil {
		return err
	}
	reply, err := s.commit.Run(ctx, s.client, b.keys, b.args...).StringSlice()
	if err != nil {
		return wrap("commit", err)
	}
	if len(reply) == 3 && reply[0] == "conflict" {
		return fmt.Errorf("redis: commit: %s is at version %s, not the one read: %w",
			reply[1], reply[2], engine.ErrConflict)
	}
	return nil
}

// batch is the arguments of one run of commit.lua.
type batch struct {
	keys  []string
	index map[string]int // key -> its 1-based index in keys
	args  []any
}

// write appends one Redis command on key.
func (b *batch) write(command, key string, args ...any) {
	i, ok := b.index[key]
	if !ok {
		b.keys = append(b.keys, key)
		i = len(b.keys)
		b.index[key] = i
	}
	b.args = append(b.args, command, i, len(args))
	b.args = append(b.args, args...)
}

// batch encodes change for commit.lua: the version keys first, then every
// write in the order of the Change's fields.
func (s *Store) batch(change engine.Change) (*batch, error) {
	if err := validate(change); err != nil {
		return nil, err
	}
	k := s.keys
	b := &batch{index: map[string]int{}}
	accounts := slices.Sorted(maps.Keys(change.Versions))
	b.args = append(b.args, len(accounts))
	for _, id := range accounts {
		b.keys = append(b.keys, k.version(id))
		b.index[k.version(id)] = len(b.keys)
		b.args = append(b.args, strconv.FormatUint(change.Versions[id], 10))
	}

	w := writer{b: b, k: k}
	for _, u := range change.Users {
		b.write("SET", k.user(u.ID), w.encode(u))
	}
	for _, a := range change.Accounts {
		b.write("SET", k.account(a.ID), w.encode(a))
	}
	for _, m := range change.Members {
		b.write("HSET", k.members(m.Account), m.User, w.encode(m))
		w.expiry(expiryMember(expiryMembership, m.Account, m.User), m.ExpiresAt)
	}
	for _, m := range change.RemovedMembers {
		b.write("HDEL", k.members(m.Account), m.User)
		w.expiry(expiryMember(expiryMembership, m.Account, m.User), nil)
	}
	for _, r := range change.Requests {
		b.write("HSET", k.requests(r.Account), r.ID, w.encode(r))
		b.write("HSET", k.requestIndex(), r.ID, r.Account)
		b.write("HSET", k.userRequests(r.Requester), r.ID, r.Account)
		expires := r.ExpiresAt
		if r.Status != engine.StatusGranted {
			expires = nil
		}
		w.expiry(expiryMember(expiryRequest, r.Account, r.ID), expires)
	}
	for _, g := range change.Grants {
		if len(g.Grants) == 0 {
			b.write("HDEL", k.grants(g.Tenant), g.User)
			continue
		}
		b.write("HSET", k.grants(g.Tenant), g.User, w.encode(g.Grants))
	}
	for _, tenant := range change.ExclusiveTenants {
		b.write("SET", k.exclusive(tenant), "1")
	}
	for _, rec := range change.Audit {
		rec.Cursor = ""
		b.write("XADD", k.audit(rec.Account), "*", auditField, w.encode(rec))
	}
	for _, ev := range change.Events {
		ev.Cursor = ""
		data := w.encode(ev)
		b.write("XADD", k.events(), "*", eventField, data)
		for _, to := range distinct(ev.To) {
			b.write(xaddSameID, k.userEvents(to), eventField, data)
		}
	}
	if w.err != nil {
		return nil, w.err
	}
	return b, nil
}

// distinct returns ids without repeats, in the order they first appear.
func distinct(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// writer appends writes to a batch and keeps the first encoding error.
type writer struct {
	b   *batch
	k   keys
	err error
}

// encode returns the JSON of v. On failure it keeps the error, which
// discards the batch, and returns nil.
func (w *writer) encode(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		w.fail(fmt.Errorf("redis: commit: encode %T: %w: %w", v, engine.ErrInvalid, err))
	}
	return data
}

// expiry adds member to the expiry index at at, or removes it when at is nil.
func (w *writer) expiry(member string, at *time.Time) {
	if at == nil {
		w.b.write("ZREM", w.k.expiries(), member)
		w.b.write("HDEL", w.k.expiryAt(), member)
		return
	}
	text, err := at.MarshalText()
	if err != nil {
		w.fail(fmt.Errorf("redis: commit: expiry of %s: %w: %w", member, engine.ErrInvalid, err))
		return
	}
	w.b.write("ZADD", w.k.expiries(), expiryScore(*at), member)
	w.b.write("HSET", w.k.expiryAt(), member, text)
}

func (w *writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// validate refuses a change whose ids would name keys with an empty id.
func validate(change engine.Change) error {
	type id struct{ field, value string }
	var ids []id
	for a := range change.Versions {
		ids = append(ids, id{"versions", a})
	}
	for _, u := range change.Users {
		ids = append(ids, id{"users.id", u.ID})
	}
	for _, a := range change.Accounts {
		ids = append(ids, id{"accounts.id", a.ID})
	}
	for _, m := range change.Members {
		ids = append(ids, id{"members.account", m.Account}, id{"members.user", m.User})
	}
	for _, m := range change.RemovedMembers {
		ids = append(ids, id{"removed_members.account", m.Account}, id{"removed_members.user", m.User})
	}
	for _, r := range change.Requests {
		ids = append(ids, id{"requests.id", r.ID}, id{"requests.account", r.Account},
			id{"requests.requester", r.Requester})
	}
	for _, g := range change.Grants {
		ids = append(ids, id{"grants.tenant", g.Tenant}, id{"grants.user", g.User})
	}
	for _, t := range change.ExclusiveTenants {
		ids = append(ids, id{"exclusive_tenants", t})
	}
	for _, rec := range change.Audit {
		ids = append(ids, id{"audit.account", rec.Account})
	}
	for _, i := range ids {
		if i.value == "" {
			return engine.Invalid(i.field, "must not be empty")
		}
	}
	return nil
}
