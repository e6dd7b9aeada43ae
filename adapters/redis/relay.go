package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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

// step is the writes of one outbox entry on one hash slot, and the
// release of the fence the change holds on that slot's account, if any.
type step struct {
	Writes []write `json:"writes,omitempty"`
	Fence  string  `json:"fence,omitempty"`
}

// key is a key of the step's slot.
func (st step) key() string {
	if len(st.Writes) > 0 {
		return st.Writes[0].Key
	}
	return st.Fence
}

// appliedRetention is how long the marker of an applied step is kept: as
// long as a commit record (engine.CommitRetention), far longer than a
// replica that read an entry before it left the outbox can take to send
// one of its steps (its write timeout) and the network to deliver it.
const appliedRetention = engine.CommitRetention

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

// relayPage is how many outbox entries one round trip reads (commit.lua
// returns as many), fanoutPage how many events.
const (
	relayPage  = 64
	fanoutPage = 256
)

// relayAccount applies account's outbox (see relay), from its first entry.
func (s *Store) relayAccount(ctx context.Context, account string) error {
	entries, err := s.client.XRangeN(ctx, s.keys.outbox(account), "-", "+", relayPage).Result()
	if err != nil {
		return wrap("relay "+account, err)
	}
	return s.relay(ctx, account, entries)
}

// relayEntries applies account's outbox (see relay), from the entries
// commit.lua returned: ids and "entry" fields in turn.
func (s *Store) relayEntries(ctx context.Context, account string, pairs []string) error {
	entries := make([]redis.XMessage, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		entries = append(entries, redis.XMessage{ID: pairs[i], Values: map[string]any{outboxField: pairs[i+1]}})
	}
	return s.relay(ctx, account, entries)
}

// relay applies account's outbox, entries being its first page: the steps
// of every entry in order, each once, then it deletes the entries, and so
// on, page by page, until the outbox is empty. Any number of replicas may
// relay one outbox at once: a step applied before is recognised by its
// marker and skipped, and each replica sends a slot its steps in the
// order of the outbox, so the steps on one slot land in the order of the
// account's commits.
func (s *Store) relay(ctx context.Context, account string, entries []redis.XMessage) error {
	for len(entries) > 0 {
		if err := s.applyEntries(ctx, account, entries); err != nil {
			return err
		}
		if len(entries) < relayPage {
			return nil
		}
		var err error
		if entries, err = s.client.XRangeN(ctx, s.keys.outbox(account), "-", "+", relayPage).Result(); err != nil {
			return wrap("relay "+account, err)
		}
	}
	return nil
}

// stepRun is one step of one outbox entry.
type stepRun struct {
	entry string
	step  step
}

// applyEntries applies the steps of entries in three pipelines (round trips
// when every slot is on one node): first the steps on gh:events, with a read
// of the events not yet fanned out, so that the events of a change reach
// their stream before any other slot shows its effects; then every other
// step, in the order of the outbox, with the copy of those events to their
// recipients' streams; then, all that done, the fan-out cursor moves and
// the entries leave the outbox. A client pipeline sends each node its
// commands in order, so each slot gets its steps in the order of the
// outbox.
func (s *Store) applyEntries(ctx context.Context, account string, entries []redis.XMessage) error {
	var events, others []stepRun
	ids := make([]string, len(entries))
	for i, e := range entries {
		data, _ := e.Values[outboxField].(string) // a missing field fails to decode below
		var entry outboxEntry
		if err := json.Unmarshal([]byte(data), &entry); err != nil {
			return fmt.Errorf("redis: relay %s: decode outbox entry %s: %w", account, e.ID, err)
		}
		ids[i] = e.ID
		for _, st := range entry.Steps {
			if st.key() == "" {
				continue
			}
			if st.key() == s.keys.events() {
				events = append(events, stepRun{entry.ID, st})
			} else {
				others = append(others, stepRun{entry.ID, st})
			}
		}
	}

	var fanned []fanEvent
	if len(events) > 0 {
		var read *redis.Cmd
		err := s.pipeline(ctx, func(pipe redis.Pipeliner) []redis.Cmder {
			cmds := s.queueSteps(ctx, pipe, events)
			read = fanoutReadScript.EvalSha(ctx, pipe, []string{s.keys.fanout(), s.keys.events()}, fanoutPage)
			return append(cmds, read)
		})
		if err != nil {
			return err
		}
		if fanned, err = fanEvents(read); err != nil {
			return err
		}
	}
	err := s.pipeline(ctx, func(pipe redis.Pipeliner) []redis.Cmder {
		cmds := s.queueSteps(ctx, pipe, others)
		for _, c := range s.queueCopies(ctx, pipe, fanned) {
			cmds = append(cmds, ignoreCopied{c})
		}
		return cmds
	})
	if err != nil {
		return err
	}
	err = s.pipeline(ctx, func(pipe redis.Pipeliner) []redis.Cmder {
		var cmds []redis.Cmder
		if len(fanned) > 0 {
			cmds = append(cmds, advanceScript.EvalSha(ctx, pipe, []string{s.keys.fanout()}, fanned[len(fanned)-1].id))
		}
		return append(cmds, pipe.XDel(ctx, s.keys.outbox(account), ids...))
	})
	if err != nil {
		return err
	}
	if len(fanned) == fanoutPage {
		return s.fanout(ctx)
	}
	return nil
}

// queueSteps queues each step on pipe: commit.lua on the step's slot, its
// applied marker in place of a commit record, so that a step applied
// before writes nothing, releasing the change's fence there.
func (s *Store) queueSteps(ctx context.Context, pipe redis.Pipeliner, runs []stepRun) []redis.Cmder {
	cmds := make([]redis.Cmder, 0, len(runs))
	for _, r := range runs {
		b := newBatch()
		b.args = append(b.args, b.key(s.keys.applied(r.step.key(), r.entry)), appliedRetention.Milliseconds(), 0, "", 0, 0)
		if r.step.Fence != "" {
			b.args = append(b.args, b.key(r.step.Fence), fenceRelease, r.entry, 0, 0)
		} else {
			b.args = append(b.args, 0, "", r.entry, 0, 0)
		}
		for _, w := range r.step.Writes {
			b.write(w)
		}
		cmds = append(cmds, s.commit.EvalSha(ctx, pipe, b.keys, b.args...))
	}
	return cmds
}

// fanEvent is one event of gh:events to copy to its recipients' streams.
type fanEvent struct {
	id, data string
}

// fanoutReadScript reads the events after the fan-out cursor. KEYS: the
// cursor, gh:events (one slot: the cursor's hash tag is gh:events's name).
// ARGV: how many. Returns the ids and "event" fields in turn.
var fanoutReadScript = redis.NewScript(`
local cursor = redis.call('GET', KEYS[1])
local from = '-'
if cursor then
  from = '(' .. cursor
end
local out = {}
for _, e in ipairs(redis.call('XRANGE', KEYS[2], from, '+', 'COUNT', ARGV[1])) do
  out[#out + 1] = e[1]
  out[#out + 1] = e[2][2]
end
return out
`)

// fanEvents decodes fanoutReadScript's reply.
func fanEvents(cmd *redis.Cmd) ([]fanEvent, error) {
	pairs, err := cmd.StringSlice()
	if err != nil {
		return nil, wrap("fan out events", err)
	}
	out := make([]fanEvent, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, fanEvent{id: pairs[i], data: pairs[i+1]})
	}
	return out, nil
}

// queueCopies queues the XADD of each event to each of its recipients'
// streams, under its id in gh:events. Every copier goes through gh:events in
// order from a cursor below which every event was copied, so a recipient's
// stream whose last id is at or above an event's already holds it: Redis
// refuses that XADD (ignoreCopied), and the copy is skipped.
func (s *Store) queueCopies(ctx context.Context, pipe redis.Pipeliner, events []fanEvent) []redis.Cmder {
	var cmds []redis.Cmder
	for _, e := range events {
		var ev struct {
			To []string `json:"to"`
		}
		if json.Unmarshal([]byte(e.data), &ev) != nil {
			continue // not an event this store wrote: nobody to copy it to
		}
		for _, to := range distinct(ev.To) {
			cmds = append(cmds, pipe.XAdd(ctx, &redis.XAddArgs{Stream: s.keys.userEvents(to), ID: e.id, Values: []any{eventField, e.data}}))
		}
	}
	return cmds
}

// ignoreCopied is a recipient's XADD whose refusal for an id at or below
// the stream's last one is no error: the event is there already.
type ignoreCopied struct{ redis.Cmder }

func (c ignoreCopied) Err() error {
	err := c.Cmder.Err()
	if err != nil && strings.Contains(err.Error(), "equal or smaller than the target stream top item") {
		return nil
	}
	return err
}

// fanout copies the events after the fan-out cursor to their recipients'
// streams and moves the cursor, a page at a time, until none is left.
func (s *Store) fanout(ctx context.Context) error {
	for {
		var read *redis.Cmd
		err := s.pipeline(ctx, func(pipe redis.Pipeliner) []redis.Cmder {
			read = fanoutReadScript.EvalSha(ctx, pipe, []string{s.keys.fanout(), s.keys.events()}, fanoutPage)
			return []redis.Cmder{read}
		})
		if err != nil {
			return err
		}
		events, err := fanEvents(read)
		if err != nil || len(events) == 0 {
			return err
		}
		err = s.pipeline(ctx, func(pipe redis.Pipeliner) []redis.Cmder {
			var cmds []redis.Cmder
			for _, c := range s.queueCopies(ctx, pipe, events) {
				cmds = append(cmds, ignoreCopied{c})
			}
			return cmds
		})
		if err != nil {
			return err
		}
		err = s.pipeline(ctx, func(pipe redis.Pipeliner) []redis.Cmder {
			return []redis.Cmder{advanceScript.EvalSha(ctx, pipe, []string{s.keys.fanout()}, events[len(events)-1].id)}
		})
		if err != nil || len(events) < fanoutPage {
			return err
		}
	}
}

// pipeline runs the commands queue puts on a pipeline and returns the
// first error among those it returns. When Redis does not know a script
// (after a restart, a failover or SCRIPT FLUSH), it loads every script of
// the relay on every node and runs the pipeline again: each command of
// the relay may run twice.
func (s *Store) pipeline(ctx context.Context, queue func(redis.Pipeliner) []redis.Cmder) error {
	for attempt := 0; ; attempt++ {
		pipe := s.client.Pipeline()
		cmds := queue(pipe)
		if len(cmds) == 0 {
			return nil
		}
		_, _ = pipe.Exec(ctx) // each command's error is looked at below
		var first error
		unknown := false
		for _, c := range cmds {
			if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
				unknown = unknown || redis.HasErrorPrefix(err, "NOSCRIPT")
				if first == nil {
					first = err
				}
			}
		}
		if !unknown || attempt > 0 {
			return wrap("relay", first)
		}
		for _, script := range []*redis.Script{s.commit, fanoutReadScript, advanceScript} {
			if err := script.Load(ctx, s.client).Err(); err != nil {
				return wrap("relay: load scripts", err)
			}
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
	shards := make([]*redis.ZSliceCmd, outboxShards)
	pipe := s.client.Pipeline()
	for n := range shards {
		shards[n] = pipe.ZRangeWithScores(ctx, s.keys.pendingShard(n), 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return wrap("relay", err)
	}
	for n, cmd := range shards {
		for _, z := range cmd.Val() {
			account, _ := z.Member.(string)
			if err := s.relayAccount(ctx, account); err != nil {
				return err
			}
			cutoff := time.Now().Add(-registryGrace).UnixMilli()
			if z.Score >= float64(cutoff) {
				continue
			}
			err := unregisterScript.Run(ctx, s.client, []string{s.keys.pendingShard(n)}, account,
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
