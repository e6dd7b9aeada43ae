package engine

import (
	"context"
	"errors"
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

// run decides and commits one command atomically (R40): the change carries
// the versions of the accounts it was decided on, and when one of them
// moved on before the commit, the command is decided again on the new
// state, at most MaxCommandAttempts times.
func (e *Engine) run(ctx context.Context, decide plan) error {
	for attempt := 1; ; attempt++ {
		change, err := decide(ctx, e.policy.Load(), e.now())
		if err != nil {
			return err
		}
		err = e.store.Commit(ctx, change)
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

// getRequest reads access request id; one that does not exist is an
// *Error saying so, without the store's wording.
func (e *Engine) getRequest(ctx context.Context, id string) (AccessRequest, error) {
	r, err := e.store.GetRequest(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return AccessRequest{}, notFound(err, "access request %s not found", id)
	}
	return r, err
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
