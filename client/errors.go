package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The error codes of the API (API.md "Error codes") that this package's
// helpers test for.
const (
	CodeInvalidInput         = "invalid_input"
	CodeUnauthenticated      = "unauthenticated"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeConflict             = "conflict"
	CodeBodyTooLarge         = "body_too_large"
	CodeValidationFailed     = "validation_failed"
	CodeIdempotencyKeyReused = "idempotency_key_reused"
	CodeUnavailable          = "unavailable"
	CodeOutcomeUnknown       = "outcome_unknown"
	CodeInternal             = "internal"
)

// Sentinel errors for errors.Is: a *Error matches the one of its status
// (ErrNotFound matches any 404, ErrUnavailable any 503, ErrOutcomeUnknown
// only a 503 outcome_unknown).
var (
	ErrNotFound        = errors.New("gatehouse: not found")
	ErrConflict        = errors.New("gatehouse: conflict")
	ErrForbidden       = errors.New("gatehouse: forbidden")
	ErrUnauthenticated = errors.New("gatehouse: unauthenticated")
	ErrUnavailable     = errors.New("gatehouse: unavailable")
	ErrOutcomeUnknown  = errors.New("gatehouse: outcome unknown")
)

// Error is an error answer of the API: the HTTP status and the body's
// error object {code, message, violations} (API.md "Errors"). An answer
// without that body (a proxy's 502, say) has Code set to the status text
// and Message to the body, trimmed.
type Error struct {
	// Status is the HTTP status, e.g. 422.
	Status int
	// Code says what went wrong, for programs: not_found, conflict,
	// validation_failed, outcome_unknown... (the Code constants).
	Code string `json:"code"`
	// Message is for people; it names the field, object or rule concerned.
	Message string `json:"message"`
	// Violations are the rules a 403 or 422 request breaks, in the
	// policy's words.
	Violations []string `json:"violations,omitempty"`
}

// Error is "STATUS CODE: MESSAGE".
func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// Is matches the sentinel errors of the package by status and code.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrUnauthenticated:
		return e.Status == http.StatusUnauthorized
	case ErrUnavailable:
		return e.Status == http.StatusServiceUnavailable
	case ErrOutcomeUnknown:
		return e.Status == http.StatusServiceUnavailable && e.Code == CodeOutcomeUnknown
	}
	return false
}

// IsNotFound reports whether err is a 404: no such object, or one the
// caller may not see (R43).
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConflict reports whether err is a 409: the object's state forbids the
// change, e.g. a request already decided (R25).
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsForbidden reports whether err is a 403: the policy does not allow the
// caller this; the *Error's Violations say why.
func IsForbidden(err error) bool { return errors.Is(err, ErrForbidden) }

// IsUnavailable reports whether err is a 503 (unavailable, or
// outcome_unknown): try again later.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// IsOutcomeUnknown reports whether err is a 503 outcome_unknown: the write
// may or may not have been applied. Retry it with the same idempotency key
// to apply it at most once, or read the state first.
func IsOutcomeUnknown(err error) bool { return errors.Is(err, ErrOutcomeUnknown) }

// decodeError reads an error answer.
func decodeError(status int, raw []byte) *Error {
	var env struct {
		Error Error `json:"error"`
	}
	if jsonUnmarshal(raw, &env) != nil || env.Error.Code == "" {
		env.Error = Error{Code: http.StatusText(status), Message: strings.TrimSpace(string(raw))}
	}
	env.Error.Status = status
	return &env.Error
}
