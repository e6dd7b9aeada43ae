package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors of the core. Adapters wrap them with %w; the HTTP adapter
// maps them to status codes in one place.
var (
	// ErrNotFound: the user, account, member or request does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the state changed under the command, or the request is no
	// longer pending (R25).
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the policy says the actor is not entitled to do this.
	ErrForbidden = errors.New("forbidden")
	// ErrUnavailable: the store cannot be reached (R45).
	ErrUnavailable = errors.New("store unavailable")
	// ErrInvalid: the input is malformed (R44).
	ErrInvalid = errors.New("invalid input")
	// ErrOutcomeUnknown: a commit was sent but its answer never came, and
	// sending it again could not tell either: the change may or may not
	// have been applied (R40, R45). A retry with the same Idempotency-Key
	// applies it at most once.
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrKeyReused: an idempotency key already answered another request of
	// the same actor.
	ErrKeyReused = errors.New("idempotency key reused")
)

// ReplicaAckError is a commit the primary applied but fewer replicas
// acknowledged, within Timeout, than the store was asked to wait for
// (Redis WAIT, serve --redis-min-replicas-ack): the change could still be
// lost in a failover, so its outcome is unknown (R40, R45). It wraps
// ErrOutcomeUnknown and ErrUnavailable; Acknowledged of Required say how
// far the replicas were, for the operator who has to attach more.
type ReplicaAckError struct {
	Acknowledged, Required int
	Timeout                time.Duration
}

func (e *ReplicaAckError) Error() string {
	return fmt.Sprintf("%s (%s): applied by the primary, but acknowledged by %d of the %d replicas asked for within %s",
		ErrOutcomeUnknown, ErrUnavailable, e.Acknowledged, e.Required, e.Timeout)
}

// Unwrap makes errors.Is(err, ErrOutcomeUnknown) and errors.Is(err,
// ErrUnavailable) true.
func (e *ReplicaAckError) Unwrap() []error { return []error{ErrOutcomeUnknown, ErrUnavailable} }

// FieldError is bad input in one named field (R44). It wraps ErrInvalid.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Invalid returns a *FieldError for field.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ViolationError is a command the policy refused, with the rule messages
// written for the person who gets them. Forbidden distinguishes "not
// entitled" (403) from "entitled but breaking a rule" (422).
type ViolationError struct {
	Forbidden  bool
	Violations []string
}

func (e *ViolationError) Error() string {
	return "policy refused: " + strings.Join(e.Violations, "; ")
}

// Is makes errors.Is(err, ErrForbidden) true for a forbidden violation.
func (e *ViolationError) Is(target error) bool {
	return e.Forbidden && target == ErrForbidden
}

// Error is a refusal of the core whose message is written for the person
// who gets it ("access request req-123 not found"): Kind is the sentinel it
// is (ErrNotFound, ErrConflict ...), Err the cause, for logs only (nil
// when the core itself found the fault). Error returns the message alone,
// so that neither the sentinel's word nor a store's wrapping reaches the
// caller; errors.Is sees both Kind and Err.
type Error struct {
	Kind    error
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }

// Unwrap makes errors.Is and errors.As see Kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Detail is the message followed by the cause, for logs.
func (e *Error) Detail() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

// notFound is an *Error of kind ErrNotFound.
func notFound(cause error, format string, args ...any) error {
	return &Error{Kind: ErrNotFound, Message: fmt.Sprintf(format, args...), Err: cause}
}

// conflict is an *Error of kind ErrConflict.
func conflict(cause error, format string, args ...any) error {
	return &Error{Kind: ErrConflict, Message: fmt.Sprintf(format, args...), Err: cause}
}
