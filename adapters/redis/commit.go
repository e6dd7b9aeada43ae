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

// Stream fields holding the JSON of an audit record, of an event and of an
// outbox entry.
const (
	auditField  = "record"
	eventField  = "event"
	outboxField = "entry"
)

// Commit applies change: atomically in its home account's hash slot
// (R40), then, in order, on every other slot it touches (relay.go).
//
// The home slot is the one of the home account (engine.Change.Home, else
// the first account of Versions, else of ReadVersions, else
// engine.DirectoryAccount). One Lua script (commit.lua) checks the versions
// of that slot, and when none differs from the one read and the
// idempotency record does not exist, writes the slot's state, audit records,
// the commit and idempotency records, increments the versions, and appends
// to the home account's outbox one entry holding every write on other slots
// (other accounts, users, the global event stream and indexes). A version of
// another account is checked before the script in its own slot, which the
// change then fences until its writes there are applied (fence.go; doc.go,
// "Atomicity", says what that guarantees), unless the change's commit
// record shows it applied already. When a version differs, the idempotency
// record exists or another change fences an account, nothing is written and
// the error wraps engine.ErrConflict.
//
// Commit then applies the home account's outbox, oldest entry first, each
// step once (a marker in the step's slot), and copies new events to their
// recipients' streams, so that on return every write of the change is
// visible. A failure there, like a failure to reach Redis once the script
// may have been sent, wraps engine.ErrOutcomeUnknown (and
// engine.ErrUnavailable): sending the change again finds its commit record,
// writes nothing, finishes the outbox and returns nil. A replica that dies
// meanwhile leaves the outbox to the relay (RunRelay) or the account's next
// commit.
//
// Ids that would name a key (user, account, member, request, tenant, audit
// account) must not be empty: that is an error wrapping engine.ErrInvalid
// and nothing is written.
func (s *Store) Commit(ctx context.Context, change engine.Change) error {
	p, err := s.plan(change)
	if err != nil {
		return err
	}
	ctx, cancel := s.writing(ctx)
	defer cancel()
	defer s.syncCache(ctx)
	if err := s.holdFences(ctx, p); err != nil {
		return err
	}
	if p.outboxed {
		if err := s.register(ctx, p.home); err != nil {
			s.releaseFences(ctx, p)
			return err
		}
	}
	reply, err := s.commit.Run(ctx, s.client, p.b.keys, p.b.args...).StringSlice()
	if err != nil {
		return wrapSent("commit", err)
	}
	switch {
	case len(reply) == 3 && reply[0] == "conflict":
		s.releaseFences(ctx, p)
		return conflictError(reply)
	case reply[0] == "applied":
		// An earlier attempt landed meanwhile, with its own entry and
		// fences: this attempt's fences guard nothing.
		s.releaseFences(ctx, p)
	}
	if err := s.relayEntries(ctx, p.home, reply[1:]); err != nil {
		return wrapSent("commit: apply the outbox", err)
	}
	return s.confirm(ctx, "commit", s.keys.commit(p.home, change.ID))
}

// conflictError is the error of commit.lua's reply {"conflict", key, current}.
func conflictError(reply []string) error {
	return fmt.Errorf("redis: commit: %s is at %s, not the version read: %w", reply[1], reply[2], engine.ErrConflict)
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

func newBatch() *batch { return &batch{index: map[string]int{}} }

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
func (b *batch) write(w write) {
	b.args = append(b.args, w.Command, b.key(w.Key), len(w.Args))
	for _, a := range w.Args {
		b.args = append(b.args, a)
	}
}

// write is one Redis command of a change on one key; it is stored as JSON
// in outbox entries.
type write struct {
	Command string   `json:"c"`
	Key     string   `json:"k"`
	Args    []string `json:"a"`
}

// check is one version check: key (a string, or Field of a hash) is
// expected at Version.
type check struct {
	Account, Key, Field string
	Version             uint64
}

// plan is how one change is committed.
type plan struct {
	home string
	// commitKey is the key of the change's commit record, "" without ID.
	commitKey string
	// b is the home slot's run of commit.lua.
	b *batch
	// entryID names the change's outbox entry and its fences.
	entryID string
	// fences are the other accounts whose versions the change checks.
	fences []fenceRun
	// outboxed is set when b appends an outbox entry.
	outboxed bool
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

// plan encodes change: the checks and writes of its home slot for
// commit.lua, the checks of other accounts (fences), and an outbox entry,
// appended by the home script, with the writes of every other slot grouped
// by slot in the order they first appear, and the release of each fence.
func (s *Store) plan(change engine.Change) (plan, error) {
	writes, checks, err := s.writes(change)
	if err != nil {
		return plan{}, err
	}
	k := s.keys
	p := plan{home: home(change), b: newBatch(), entryID: newEntryID()}
	b := p.b
	homeTag := hashTag(k.version(p.home))
	if change.ID != "" {
		p.commitKey = k.commit(p.home, change.ID)
		b.args = append(b.args, b.key(p.commitKey), engine.CommitRetention.Milliseconds())
	} else {
		b.args = append(b.args, 0, 0)
	}
	if rec := change.Idempotency; rec != nil {
		retention := max(rec.Retention, time.Millisecond)
		data, err := json.Marshal(rec)
		if err != nil {
			return plan{}, fmt.Errorf("redis: commit: encode %T: %w: %w", rec, engine.ErrInvalid, err)
		}
		b.args = append(b.args, b.key(k.idempotency(p.home, rec.Actor, rec.Key)), data, retention.Milliseconds())
	} else {
		b.args = append(b.args, 0, "", 0)
	}
	b.args = append(b.args, b.key(k.outbox(p.home)), b.key(k.fence(p.home)), fenceCheck, p.entryID, 0)

	var local []check
	fenced := map[string]int{} // account -> index in p.fences
	for _, c := range checks {
		if hashTag(c.Key) == homeTag {
			local = append(local, c)
			continue
		}
		i, ok := fenced[c.Account]
		if !ok {
			i = len(p.fences)
			fenced[c.Account] = i
			p.fences = append(p.fences, fenceRun{account: c.Account})
		}
		p.fences[i].checks = append(p.fences[i].checks, c)
	}
	b.args = append(b.args, len(local))
	for _, c := range local {
		b.args = append(b.args, b.key(c.Key), c.Field, strconv.FormatUint(c.Version, 10))
	}

	entry := outboxEntry{ID: p.entryID}
	steps := map[string]int{} // hash tag -> index in entry.Steps
	stepOf := func(tag string) *step {
		i, ok := steps[tag]
		if !ok {
			i = len(entry.Steps)
			steps[tag] = i
			entry.Steps = append(entry.Steps, step{})
		}
		return &entry.Steps[i]
	}
	for _, w := range writes {
		if tag := hashTag(w.Key); tag == homeTag {
			b.write(w)
		} else {
			st := stepOf(tag)
			st.Writes = append(st.Writes, w)
		}
	}
	// A fenced account's step releases its fence, atomically with the
	// change's writes there.
	for _, f := range p.fences {
		stepOf(hashTag(k.version(f.account))).Fence = k.fence(f.account)
	}
	if len(entry.Steps) > 0 {
		data, err := json.Marshal(entry)
		if err != nil {
			return plan{}, fmt.Errorf("redis: commit: encode the outbox entry: %w: %w", engine.ErrInvalid, err)
		}
		b.write(write{Command: "XADD", Key: k.outbox(p.home), Args: []string{"*", outboxField, string(data)}})
		p.outboxed = true
	}
	return p, nil
}

// writes lists every write of change, wherever its key, and every version
// check: the events first (so that the global stream has a change's events
// before any other slot shows its effects), then the state in the order of
// the Change's fields, then the version increments.
func (s *Store) writes(change engine.Change) ([]write, []check, error) {
	if err := validate(change); err != nil {
		return nil, nil, err
	}
	k := s.keys
	w := writer{k: k}

	var checks []check
	for _, id := range slices.Sorted(maps.Keys(change.Versions)) {
		checks = append(checks, check{Account: id, Key: k.version(id), Version: change.Versions[id]})
	}
	for _, id := range slices.Sorted(maps.Keys(change.ReadVersions)) {
		checks = append(checks, check{Account: id, Key: k.version(id), Version: change.ReadVersions[id]})
	}
	for _, r := range slices.SortedFunc(maps.Keys(change.RequesterVersions), compareRequesters) {
		checks = append(checks, check{
			Account: r.Account, Key: k.requesterVersions(r.Account), Field: r.Requester, Version: change.RequesterVersions[r],
		})
	}

	for _, ev := range change.Events {
		ev.Cursor = ""
		w.add("XADD", k.events(), "*", eventField, w.encode(ev))
	}
	for _, u := range change.Users {
		w.add("SET", k.user(u.ID), w.encode(u))
	}
	for _, a := range change.Accounts {
		w.add("SET", k.account(a.ID), w.encode(a))
	}
	for _, m := range change.Members {
		w.add("HSET", k.members(m.Account), m.User, w.encode(m))
		w.expiry(expiryMember(expiryMembership, m.Account, m.User), m.ExpiresAt)
	}
	for _, m := range change.RemovedMembers {
		w.add("HDEL", k.members(m.Account), m.User)
		w.expiry(expiryMember(expiryMembership, m.Account, m.User), nil)
	}
	bumped := map[engine.RequesterRef]bool{}
	for _, r := range change.Requests {
		w.add("HSET", k.requests(r.Account), r.ID, w.encode(r))
		w.add("HSET", k.requestIndex(), r.ID, r.Account)
		w.add("HSET", k.userRequests(r.Requester), r.ID, r.Account)
		expires := r.ExpiresAt
		if r.Status != engine.StatusGranted {
			expires = nil
		}
		w.expiry(expiryMember(expiryRequest, r.Account, r.ID), expires)
		if ref := (engine.RequesterRef{Account: r.Account, Requester: r.Requester}); !bumped[ref] {
			bumped[ref] = true
			w.add("HINCRBY", k.requesterVersions(r.Account), r.Requester, "1")
		}
	}
	for _, g := range change.Grants {
		if len(g.Grants) == 0 {
			w.add("HDEL", k.grants(g.Tenant), g.User)
			continue
		}
		w.add("HSET", k.grants(g.Tenant), g.User, w.encode(g.Grants))
	}
	for _, tenant := range change.ExclusiveTenants {
		w.add("SET", k.exclusive(tenant), "1")
	}
	for _, rec := range change.Audit {
		rec.Cursor = ""
		w.add("XADD", k.audit(rec.Account), "*", auditField, w.encode(rec))
	}
	for _, id := range slices.Sorted(maps.Keys(change.Versions)) {
		w.add("INCR", k.version(id))
	}
	if w.err != nil {
		return nil, nil, w.err
	}
	return w.writes, checks, nil
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

// writer lists writes and keeps the first encoding error.
type writer struct {
	k      keys
	writes []write
	err    error
}

func (w *writer) add(command, key string, args ...string) {
	w.writes = append(w.writes, write{Command: command, Key: key, Args: args})
}

// encode returns the JSON of v. On failure it keeps the error, which
// discards the change, and returns "".
func (w *writer) encode(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		w.fail(fmt.Errorf("redis: commit: encode %T: %w: %w", v, engine.ErrInvalid, err))
	}
	return string(data)
}

// expiry adds member to the expiry index at at, or removes it when at is nil.
func (w *writer) expiry(member string, at *time.Time) {
	if at == nil {
		w.add("ZREM", w.k.expiries(), member)
		w.add("HDEL", w.k.expiryAt(), member)
		return
	}
	text, err := at.MarshalText()
	if err != nil {
		w.fail(fmt.Errorf("redis: commit: expiry of %s: %w: %w", member, engine.ErrInvalid, err))
		return
	}
	w.add("ZADD", w.k.expiries(), expiryScore(*at), member)
	w.add("HSET", w.k.expiryAt(), member, string(text))
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
