package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

// outboxEntry is what one commit writes on hash slots other than its home
// account's: one step per slot, applied in order, each exactly once.
type outboxEntry struct {
	// ID names the entry in the applied markers of its steps.
	ID    string `json:"id"`
	Steps []step `json:"steps"`
}

// step is the writes of one outbox entry on one hash slot.
type step struct {
	Writes []write `json:"writes"`
}

// appliedRetention is how long the marker of an applied step is kept: far
// longer than an entry can wait in its outbox while replicas relay it.
const appliedRetention = 24 * time.Hour

// newEntryID returns 128 random bits in hex.
func newEntryID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b)
}

// unregisterScript drops an account from a registry shard when its score
// is still the one the relay read and older than the cutoff, so that a
// commit registered since, or registered but maybe not yet run, keeps it.
// KEYS: the shard. ARGV: account, score read, cutoff (Unix milliseconds).
var unregisterScript = redis.NewScript(`
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) and tonumber(score) < tonumber(ARGV[3]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
`)

// advanceScript moves the fan-out cursor forward, never back. KEYS: the
// cursor. ARGV: the stream id reached.
var advanceScript = redis.NewScript(`
local function id(s)
  local ms, seq = string.match(s, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local current = redis.call('GET', KEYS[1])
if current then
  local cm, cs = id(current)
  local nm, ns = id(ARGV[1])
  if cm > nm or (cm == nm and cs >= ns) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`)

// register lists home in the registry of outboxes the relay reads, before
// the commit that may append to its outbox runs: ZADD GT, scored with this
// replica's clock in Unix milliseconds.
func (s *Store) register(ctx context.Context, home string) error {
	err := s.client.ZAddGT(ctx, s.keys.pendingOutboxes(home), redis.Z{Score: float64(time.Now().UnixMilli()), Member: home}).Err()
	return wrap("commit: register the outbox", err)
}

// checkElsewhere checks the versions of other hash slots than the home
// account's, each read in its own slot, after applying what the outboxes
// of their accounts still hold (so that a version read reflects every
// commit made before). A version that differs wraps engine.ErrConflict.
// A change whose commit record (commitKey) exists was applied, and its
// outbox may have moved those versions since: it is not checked, and the
// home script answers "applied". Nothing has been written yet: failures
// wrap engine.ErrUnavailable only.
func (s *Store) checkElsewhere(ctx context.Context, commitKey string, checks []check) error {
	if len(checks) == 0 {
		return nil
	}
	if commitKey != "" {
		applied, err := s.client.Exists(ctx, commitKey).Result()
		if err != nil {
			return wrap("commit: read the commit record", err)
		}
		if applied == 1 {
			return nil
		}
	}
	var accounts []string
	for _, c := range checks {
		if !slices.Contains(accounts, c.Account) {
			accounts = append(accounts, c.Account)
		}
	}
	for _, a := range accounts {
		if err := s.relayAccount(ctx, a); err != nil {
			return wrap("commit: apply the outbox of "+a, err)
		}
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.StringCmd, len(checks))
	for i, c := range checks {
		if c.Field == "" {
			cmds[i] = pipe.Get(ctx, c.Key)
		} else {
			cmds[i] = pipe.HGet(ctx, c.Key, c.Field)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return wrap("commit: read versions", err)
	}
	for i, c := range checks {
		current, err := optionalUint(cmds[i])
		if err != nil {
			return wrap("commit: read versions", err)
		}
		if current != c.Version {
			name := c.Key
			if c.Field != "" {
				name += " " + c.Field
			}
			return fmt.Errorf("redis: commit: %s is at %d, not the version read: %w", name, current, engine.ErrConflict)
		}
	}
	return nil
}

// relayPage is how many outbox entries one round trip reads, fanoutPage how
// many events.
const (
	relayPage  = 64
	fanoutPage = 256
)

// relayAccount applies account's outbox, oldest entry first: each step of
// an entry in order, then the entry is deleted; then new events are copied
// to their recipients' streams. Any number of replicas may relay one
// outbox at once: a step applied before is recognised by its marker and
// skipped, and each replica goes in order, so the steps on one slot land
// in the order of the account's commits.
func (s *Store) relayAccount(ctx context.Context, account string) error {
	key := s.keys.outbox(account)
	events := false
	for {
		entries, err := s.client.XRangeN(ctx, key, "-", "+", relayPage).Result()
		if err != nil {
			return wrap("relay "+account, err)
		}
		for _, e := range entries {
			data, _ := e.Values[outboxField].(string) // a missing field fails to decode below
			var entry outboxEntry
			if err := json.Unmarshal([]byte(data), &entry); err != nil {
				return fmt.Errorf("redis: relay %s: decode outbox entry %s: %w", account, e.ID, err)
			}
			for _, st := range entry.Steps {
				if err := s.applyStep(ctx, entry.ID, st); err != nil {
					return err
				}
				events = events || slices.ContainsFunc(st.Writes, func(w write) bool { return w.Key == s.keys.events() })
			}
			if err := s.client.XDel(ctx, key, e.ID).Err(); err != nil {
				return wrap("relay "+account, err)
			}
		}
		if len(entries) < relayPage {
			break
		}
	}
	if events {
		return s.fanout(ctx)
	}
	return nil
}

// applyStep applies one step of entry id with commit.lua, its marker in
// place of a commit record: a step applied before writes nothing.
func (s *Store) applyStep(ctx context.Context, id string, st step) error {
	if len(st.Writes) == 0 {
		return nil
	}
	b := newBatch()
	b.args = append(b.args, b.key(s.keys.applied(st.Writes[0].Key, id)), appliedRetention.Milliseconds(), 0, "", 0, 0)
	for _, w := range st.Writes {
		b.write(w)
	}
	return wrap("relay: apply a step", s.commit.Run(ctx, s.client, b.keys, b.args...).Err())
}

// fanout copies the events of the global stream after the fan-out cursor
// to the stream of each recipient, under the id they have in the global
// stream, then moves the cursor. Every copier goes through the global
// stream in order from a cursor below which every event was copied, so a
// recipient's stream whose last id is at or above an event's already holds
// it: Redis refuses that XADD, and the copy is skipped.
func (s *Store) fanout(ctx context.Context) error {
	for {
		from, err := s.client.Get(ctx, s.keys.fanout()).Result()
		switch {
		case errors.Is(err, redis.Nil):
			from = "-"
		case err != nil:
			return wrap("fan out events", err)
		default:
			from = "(" + from
		}
		entries, err := s.client.XRangeN(ctx, s.keys.events(), from, "+", fanoutPage).Result()
		if err != nil {
			return wrap("fan out events", err)
		}
		if len(entries) == 0 {
			return nil
		}
		// One pipeline per page: the client sends each node its commands in
		// order, so each recipient's stream still gets them in order.
		pipe := s.client.Pipeline()
		for _, e := range entries {
			data, _ := e.Values[eventField].(string)
			var ev struct {
				To []string `json:"to"`
			}
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				return fmt.Errorf("redis: fan out event %s: %w", e.ID, err)
			}
			for _, to := range distinct(ev.To) {
				pipe.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.userEvents(to), ID: e.ID, Values: []any{eventField, data}})
			}
		}
		cmds, err := pipe.Exec(ctx)
		for _, cmd := range cmds {
			if err := cmd.Err(); err != nil && !strings.Contains(err.Error(), "equal or smaller than the target stream top item") {
				return wrap("fan out events", err)
			}
		}
		if err != nil && len(cmds) == 0 {
			return wrap("fan out events", err)
		}
		last := entries[len(entries)-1].ID
		if err := advanceScript.Run(ctx, s.client, []string{s.keys.fanout()}, last).Err(); err != nil {
			return wrap("fan out events", err)
		}
		if len(entries) < fanoutPage {
			return nil
		}
	}
}

// registryGrace is how long an account stays in the registry after its
// last registration: longer than a commit can take between registering and
// running its script, plus the clock skew between replicas.
const registryGrace = time.Minute

// Relay applies, once, every outbox of the registry: what commits left
// behind when their replica died between their script and the end of
// their outbox (or lost Redis then). Accounts whose outbox is empty and
// whose last registration is older than a minute leave the registry. Any
// number of replicas may relay at once (see relayAccount); RunRelay lets
// one at a time do it.
func (s *Store) Relay(ctx context.Context) error {
	ctx, cancel := s.writing(ctx)
	defer cancel()
	for n := range outboxShards {
		shard := s.keys.pendingShard(n)
		pending, err := s.client.ZRangeWithScores(ctx, shard, 0, -1).Result()
		if err != nil {
			return wrap("relay", err)
		}
		for _, z := range pending {
			account, _ := z.Member.(string)
			if err := s.relayAccount(ctx, account); err != nil {
				return err
			}
			cutoff := time.Now().Add(-registryGrace).UnixMilli()
			err := unregisterScript.Run(ctx, s.client, []string{shard}, account,
				strconv.FormatFloat(z.Score, 'f', -1, 64), cutoff).Err()
			if err != nil {
				return wrap("relay", err)
			}
		}
	}
	return s.fanout(ctx)
}

// relayLease is the name of the lease RunRelay takes.
const relayLease = "outbox-relay"

// RunRelay runs Relay every interval while holder holds the outbox-relay
// lease (taken for three intervals, renewed each time), until ctx ends.
// Each failure is passed to report; the next interval tries again.
func (s *Store) RunRelay(ctx context.Context, holder string, every time.Duration, report func(error)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		held, err := s.AcquireLease(ctx, relayLease, holder, 3*every)
		if err == nil && held {
			err = s.Relay(ctx)
		}
		if err != nil && ctx.Err() == nil {
			report(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
