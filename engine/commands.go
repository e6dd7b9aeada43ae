package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxCommandAttempts bounds how often a command is decided again after the
// state it was decided on changed before its commit (R40).
const MaxCommandAttempts = 10

// MaxTextLength is the longest justification or message a command takes.
const MaxTextLength = 2000

// plan reads the state a command needs, asks the policy, and returns the
// change to commit. It runs again, on fresh state, after a conflict.
type plan func(ctx context.Context, p *Policy, now time.Time) (Change, error)

// maxResends bounds how often run sends a change again whose commit had an
// unknown outcome, to learn whether it was applied.
const maxResends = 3

// invocation is what run needs to know of one invocation of a command to
// answer a retry with an Idempotency-Key (see WithIdempotency).
type invocation struct {
	actor string
	// home returns the account the command decides on, under whose keys
	// its idempotency record is kept; ErrNotFound: the command will fail
	// anyway, and keeps none. Nil: the command keeps no record.
	home func(ctx context.Context) (string, error)
	// result returns the command's result after a decision: what its
	// method returns, handed to Idempotency.Answer.
	result func() any
}

// at returns a home function for an account known in advance.
func at(account string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return account, nil }
}

// run decides and commits one command atomically (R40): the change carries
// the versions of what it was decided on, and when one of them moved on
// before the commit, the command is decided again on the new state, at most
// MaxCommandAttempts times.
//
// Each decision's change gets a new commit ID, so that a commit sent twice
// (the Redis client retrying after a lost reply, or run itself, see
// commit) is applied once and answered "applied", with the result of that
// decision. With an Idempotency in ctx, a record of the same actor and key
// is looked up before each decision and replayed instead; the first answer
// is committed with the change.
//
// With Writes in ctx (WithWrites), the token of the committed change is
// recorded there.
//
// The whole command, its attempts included, is bounded by WithCommandTimeout.
func (e *Engine) run(ctx context.Context, cmd invocation, decide plan) error {
	ctx, cancel := e.commandContext(ctx)
	defer cancel()
	idem := idempotencyFrom(ctx)
	var home string
	if idem != nil && cmd.home != nil && cmd.result != nil {
		var err error
		if home, err = cmd.home(ctx); errors.Is(err, ErrNotFound) {
			idem = nil
		} else if err != nil {
			return err
		}
	} else {
		idem = nil
	}
	for attempt := 1; ; attempt++ {
		if idem != nil {
			if done, err := e.replay(ctx, idem, home, cmd.actor); done || err != nil {
				return err
			}
		}
		now := e.now()
		dctx, sp := e.startSpan(ctx, SpanAdmission)
		change, err := decide(dctx, e.policy.Load(), now)
		sp.finish(err)
		if err != nil {
			return err
		}
		change.ID = newID()
		writes := writesFrom(ctx)
		if writes != nil {
			t := tokenOf(change)
			writes.decided = &t
		}
		var answer []byte
		if idem != nil {
			if answer, err = idem.Answer(cmd.result()); err != nil {
				return fmt.Errorf("engine: answer of an idempotent command: %w", err)
			}
			change.Home = home
			change.Idempotency = &IdempotencyRecord{
				Actor: cmd.actor, Key: idem.Key, Fingerprint: idem.Fingerprint,
				Answer: answer, CreatedAt: now, Retention: e.idempotencyRetention,
			}
		}
		cctx, sp := e.startSpan(ctx, SpanCommit)
		err = e.commit(cctx, change)
		sp.finish(err)
		if err == nil {
			if idem != nil {
				idem.answer = answer
			}
			if writes != nil {
				writes.committed = writes.decided
			}
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
		if attempt == MaxCommandAttempts {
			return conflict(err, "the account kept changing while the change was decided (%d attempts): try again", attempt)
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

// commit commits change. When the store cannot tell whether it was applied
// (ErrOutcomeUnknown: the reply was lost), it sends the same change again,
// which the store answers definitively: nil when it was applied (then or
// now), ErrConflict when it never will be, since versions only grow. When
// no resend gets an answer (the store is still out of reach, or ctx ends),
// the error wraps ErrOutcomeUnknown: the caller must not be told that
// nothing changed (R45). When the first attempt was applied but too few
// replicas acknowledged it (*ReplicaAckError) and a resend then failed
// otherwise (its deadline passed while it waited for them), the error
// keeps the first as well, so that the answer and the log still say that
// replicas are missing.
func (e *Engine) commit(ctx context.Context, change Change) error {
	err := e.store.Commit(ctx, change)
	if !errors.Is(err, ErrOutcomeUnknown) {
		return err
	}
	first := err
	for resend := 1; resend <= maxResends && ctx.Err() == nil; resend++ {
		if backoff(ctx, resend) != nil {
			break
		}
		switch again := e.store.Commit(ctx, change); {
		case again == nil, errors.Is(again, ErrConflict):
			return again
		default:
			err = again
		}
	}
	var ack *ReplicaAckError
	if errors.As(first, &ack) && !errors.As(err, &ack) {
		err = fmt.Errorf("%w; sent again: %w", first, err)
	}
	if !errors.Is(err, ErrOutcomeUnknown) {
		err = fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
	}
	return err
}

// backoff waits a random time that grows with the attempt number, so that
// commands racing for one account spread out.
func backoff(ctx context.Context, attempt int) error {
	wait := time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond)))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxActorLength bounds the actor (a JWT subject) a command accepts.
const maxActorLength = 256

// checkActor refuses a command without an identified actor. The actor is
// a JWT subject: any printable text, not only the ids of ValidID, so that
// system administrators may be named by their identity provider's subject.
func checkActor(actor string) error {
	ok := actor != "" && len(actor) <= maxActorLength && utf8.ValidString(actor)
	for _, r := range actor {
		ok = ok && unicode.IsPrint(r)
	}
	if !ok {
		return &ViolationError{Forbidden: true, Violations: []string{"the caller is not identified"}}
	}
	return nil
}

// checkID validates an id naming field.
func checkID(field, id string) error {
	if id == "" {
		return Invalid(field, "is required")
	}
	if !ValidID(id) {
		return Invalid(field, "must be 1-128 letters, digits, '.', '_', '-' or '@'")
	}
	return nil
}

// checkText validates a free-text field: at most MaxTextLength characters
// of valid UTF-8.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > MaxTextLength {
		return Invalid(field, "must be at most %d characters", MaxTextLength)
	}
	return nil
}

// findUser returns the user, nil when there is none.
func (e *Engine) findUser(ctx context.Context, id string) (*User, error) {
	u, err := e.store.GetUser(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// findState returns the account's state with the requests of the given
// statuses, nil when the account does not exist (its version is then 0).
func (e *Engine) findState(ctx context.Context, account string, statuses ...string) (*AccountState, error) {
	s, err := e.store.AccountState(ctx, account, statuses...)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// version is the version a command decided on, 0 for an account not yet
// created.
func version(s *AccountState) uint64 {
	if s == nil {
		return 0
	}
	return s.Version
}

// requesterVersion is the version check of requester's requests on account
// as read in s (0 when the account does not exist yet).
func requesterVersion(s *AccountState, account, requester string) map[RequesterRef]uint64 {
	var v uint64
	if s != nil {
		v = s.RequesterVersion(requester)
	}
	return map[RequesterRef]uint64{{Account: account, Requester: requester}: v}
}

// member returns user's membership in the state, nil when none.
func member(s *AccountState, user string) *Membership {
	if s == nil {
		return nil
	}
	for i := range s.Members {
		if s.Members[i].User == user {
			m := s.Members[i]
			return &m
		}
	}
	return nil
}

// live reports whether a membership or grant expiring at expires still
// holds at now (R7).
func live(expires *time.Time, now time.Time) bool {
	return expires == nil || expires.After(now)
}
