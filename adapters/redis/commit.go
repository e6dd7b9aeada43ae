package redis

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

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

// Commit applies change in one Lua script, so that the version checks, the
// state, the audit records, the events and the commit and idempotency
// records are one atomic unit (R40): when any version differs from the one
// read, or the idempotency record exists, nothing is written and the error
// wraps engine.ErrConflict. go-redis sends the script by EVALSHA and falls
// back to EVAL when Redis does not know it (after a restart, say).
//
// A change with an ID leaves a commit record (engine.CommitRetention) under
// its home account: when go-redis retries the script after a lost reply,
// or the engine sends the change again, the script finds it, writes nothing
// and Commit returns nil. A failure to reach Redis once the script may have
// been sent wraps engine.ErrOutcomeUnknown (and engine.ErrUnavailable): only
// sending the change again can tell whether it was applied.
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
	ctx, cancel := s.writing(ctx)
	defer cancel()
	defer s.syncCache(ctx)
	var record string
	if change.ID != "" {
		record = s.keys.commit(home(change), change.ID)
	}
	reply, err := s.runCommit(ctx, b.keys, b.args, record)
	if err != nil {
		return err
	}
	if len(reply) == 3 && reply[0] == "conflict" {
		return fmt.Errorf("redis: commit: %s is at %s, not the version read: %w",
			reply[1], reply[2], engine.ErrConflict)
	}
	return nil
}

// wrapSent is wrap for a write that may have reached Redis: a failure to
// reach Redis may have come after Redis applied it (the reply was lost, or
// go-redis retried after a lost reply), so it wraps engine.ErrOutcomeUnknown
// as well as engine.ErrUnavailable, and is never reported as "nothing was
// changed" (R45). An error reply (READONLY, NOREPLICAS, LOADING ...) is
// Redis refusing the write: nothing was applied, and it stays unavailable.
func wrapSent(op string, err error) error {
	wrapped := wrap(op, err)
	var refused redis.Error
	if errors.Is(wrapped, engine.ErrUnavailable) && !errors.As(err, &refused) {
		return fmt.Errorf("redis: %s: %w (%w): %w", op, engine.ErrOutcomeUnknown, engine.ErrUnavailable, err)
	}
	return wrapped
}

// batch is the arguments of one run of commit.lua.
type batch struct {
	keys  []string
	index map[string]int // key -> its 1-based index in keys
	args  []any
}

// key returns the 1-based index of key in keys, adding it when new.
func (b *batch) key(key string) int {
	i, ok := b.index[key]
	if !ok {
		b.keys = append(b.keys, key)
		i = len(b.keys)
		b.index[key] = i
	}
	return i
}

// write appends one Redis command on key.
func (b *batch) write(command, key string, args ...any) {
	b.args = append(b.args, command, b.key(key), len(args))
	b.args = append(b.args, args...)
}

// check appends one version check: key (a string, or field of a hash) is
// expected at version.
func (b *batch) check(key, field string, version uint64) {
	b.args = append(b.args, b.key(key), field, strconv.FormatUint(version, 10))
}

// home is the account under whose keys a change's commit and idempotency
// records are kept: engine.Change.Home, else its first account.
func home(change engine.Change) string {
	switch {
	case change.Home != "":
		return change.Home
	case len(change.Versions) > 0:
		return slices.Min(slices.Collect(maps.Keys(change.Versions)))
	case len(change.ReadVersions) > 0:
		return slices.Min(slices.Collect(maps.Keys(change.ReadVersions)))
	}
	return engine.DirectoryAccount
}

// batch encodes change for commit.lua: the record header, the version
// checks, then every write in the order of the Change's fields, then the
// version increments.
func (s *Store) batch(change engine.Change) (*batch, error) {
	if err := validate(change); err != nil {
		return nil, err
	}
	k := s.keys
	b := &batch{index: map[string]int{}}
	w := writer{b: b, k: k}
	homeAccount := home(change)
	if change.ID != "" {
		b.args = append(b.args, b.key(k.commit(homeAccount, change.ID)), engine.CommitRetention.Milliseconds())
	} else {
		b.args = append(b.args, 0, 0)
	}
	if rec := change.Idempotency; rec != nil {
		retention := max(rec.Retention, time.Millisecond)
		b.args = append(b.args, b.key(k.idempotency(homeAccount, rec.Actor, rec.Key)), w.encode(rec), retention.Milliseconds())
	} else {
		b.args = append(b.args, 0, "", 0)
	}

	versions := slices.Sorted(maps.Keys(change.Versions))
	reads := slices.Sorted(maps.Keys(change.ReadVersions))
	requesters := slices.SortedFunc(maps.Keys(change.RequesterVersions), compareRequesters)
	b.args = append(b.args, len(versions)+len(reads)+len(requesters))
	for _, id := range versions {
		b.check(k.version(id), "", change.Versions[id])
	}
	for _, id := range reads {
		b.check(k.version(id), "", change.ReadVersions[id])
	}
	for _, r := range requesters {
		b.check(k.requesterVersions(r.Account), r.Requester, change.RequesterVersions[r])
	}

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
	bumped := map[engine.RequesterRef]bool{}
	for _, r := range change.Requests {
		b.write("HSET", k.requests(r.Account), r.ID, w.encode(r))
		b.write("HSET", k.requestIndex(), r.ID, r.Account)
		b.write("HSET", k.userRequests(r.Requester), r.ID, r.Account)
		expires := r.ExpiresAt
		if r.Status != engine.StatusGranted {
			expires = nil
		}
		w.expiry(expiryMember(expiryRequest, r.Account, r.ID), expires)
		if ref := (engine.RequesterRef{Account: r.Account, Requester: r.Requester}); !bumped[ref] {
			bumped[ref] = true
			b.write("HINCRBY", k.requesterVersions(r.Account), r.Requester, 1)
		}
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
	for _, id := range versions {
		b.write("INCR", k.version(id))
	}
	if w.err != nil {
		return nil, w.err
	}
	return b, nil
}

// compareRequesters orders requester refs by account, then requester.
func compareRequesters(a, b engine.RequesterRef) int {
	if c := strings.Compare(a.Account, b.Account); c != 0 {
		return c
	}
	return strings.Compare(a.Requester, b.Requester)
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
	for a := range change.ReadVersions {
		ids = append(ids, id{"read_versions", a})
	}
	for r := range change.RequesterVersions {
		ids = append(ids, id{"requester_versions.account", r.Account}, id{"requester_versions.requester", r.Requester})
	}
	if rec := change.Idempotency; rec != nil {
		ids = append(ids, id{"idempotency.actor", rec.Actor}, id{"idempotency.key", rec.Key})
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
