package redis

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// What commit.lua does with an account's fence.
const (
	fenceCheck   = "check"   // another change's fence is a conflict
	fenceHold    = "hold"    // the same, then take the fence
	fenceRelease = "release" // drop the fence when it is this change's
)

// fenceTTL bounds how long a fence outlives a replica that died holding
// it: commits on the account conflict until then.
const fenceTTL = 5 * time.Second

// fenceRun is the checks of one account other than the change's home.
type fenceRun struct {
	account string
	checks  []check
}

// holdFences checks the versions a change read of accounts other than its
// home, each in its own slot, and holds a fence on each (the key
// gh:{a:<a>}:fence, naming the change's outbox entry) until the change's
// outbox step on that account releases it, atomically with the change's
// writes there. Meanwhile every other commit homed on, or fencing, that
// account conflicts, so no change slips between the check and the
// change's own writes there (R40). The outboxes of those accounts are
// applied first, so that their versions reflect every commit made before.
//
// A version that differs, or another change's fence, is
// engine.ErrConflict, and the fences taken are released. A change whose
// commit record exists was applied, and its outbox may have moved those
// versions since: nothing is checked, and the home script answers
// "applied". Nothing of the change is written yet: failures wrap
// engine.ErrUnavailable only.
func (s *Store) holdFences(ctx context.Context, p plan) error {
	if len(p.fences) == 0 {
		return nil
	}
	if p.commitKey != "" {
		applied, err := s.client.Exists(ctx, p.commitKey).Result()
		if err != nil {
			return wrap("commit: read the commit record", err)
		}
		if applied == 1 {
			return nil
		}
	}
	for _, f := range p.fences {
		if err := s.relayAccount(ctx, f.account); err != nil {
			return err
		}
	}
	var held []*redis.Cmd
	err := s.pipeline(ctx, func(pipe redis.Pipeliner) []redis.Cmder {
		held = held[:0]
		cmds := make([]redis.Cmder, 0, len(p.fences))
		for _, f := range p.fences {
			b := newBatch()
			b.args = append(b.args, 0, 0, 0, "", 0, 0, b.key(s.keys.fence(f.account)), fenceHold, p.entryID,
				fenceTTL.Milliseconds(), len(f.checks))
			for _, c := range f.checks {
				b.args = append(b.args, b.key(c.Key), c.Field, c.Version)
			}
			cmd := s.commit.EvalSha(ctx, pipe, b.keys, b.args...)
			held = append(held, cmd)
			cmds = append(cmds, cmd)
		}
		return cmds
	})
	if err != nil {
		s.releaseFences(ctx, p)
		return err
	}
	for _, cmd := range held {
		if reply, _ := cmd.StringSlice(); len(reply) == 3 && reply[0] == "conflict" {
			s.releaseFences(ctx, p)
			return conflictError(reply)
		}
	}
	return nil
}

// releaseFences drops the fences p holds, for a change that will not be
// applied. A failure leaves them to expire (fenceTTL).
func (s *Store) releaseFences(ctx context.Context, p plan) {
	_ = s.pipeline(ctx, func(pipe redis.Pipeliner) []redis.Cmder {
		cmds := make([]redis.Cmder, 0, len(p.fences))
		for _, f := range p.fences {
			b := newBatch()
			b.args = append(b.args, 0, 0, 0, "", 0, 0, b.key(s.keys.fence(f.account)), fenceRelease, p.entryID, 0, 0)
			cmds = append(cmds, s.commit.EvalSha(ctx, pipe, b.keys, b.args...))
		}
		return cmds
	})
}
