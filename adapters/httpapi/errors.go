package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

// Error codes of the error body (API.md, "Errors").
const (
	codeInvalidInput     = "invalid_input"
	codeUnauthenticated  = "unauthenticated"
	codeForbidden        = "forbidden"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeConflict         = "conflict"
	codeBodyTooLarge     = "body_too_large"
	codeValidationFailed = "validation_failed"
	codeUnavailable      = "unavailable"
	codeOutcomeUnknown   = "outcome_unknown"
	codeKeyReused        = "idempotency_key_reused"
	codeInternal         = "internal"
)

// errorBody is every error answer: {"error": {"code", "message", "violations"?}}.
type errorBody struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Code       string   `json:"code"`
	Message    string   `json:"message"`
	Violations []string `json:"violations,omitempty"`
}

// statusError is an error the HTTP layer itself raises (no route, no token).
type statusError struct {
	status  int
	code    string
	message string
}

func (e *statusError) Error() string { return e.message }

func unauthenticated(format string, args ...any) error {
	return &statusError{http.StatusUnauthorized, codeUnauthenticated, fmt.Sprintf(format, args...)}
}

// errorResponse is the one table from errors to status and body. The
// boolean reports an error the caller must not see the detail of: it is
// logged and answered as a bare 500.
func errorResponse(err error) (int, apiError, bool) {
	var (
		se  *statusError
		mbe *http.MaxBytesError
		fe  *engine.FieldError
		ve  *engine.ViolationError
		ude *engine.UndefinedDocumentError
		rae *engine.ReplicaAckError
	)
	switch {
	case errors.As(err, &se):
		return se.status, apiError{Code: se.code, Message: se.message}, false
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, apiError{
			Code:    codeBodyTooLarge,
			Message: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit),
		}, false
	case errors.As(err, &fe):
		return http.StatusBadRequest, apiError{Code: codeInvalidInput, Message: fe.Error()}, false
	case errors.As(err, &ve):
		status, code := http.StatusUnprocessableEntity, codeValidationFailed
		if ve.Forbidden {
			status, code = http.StatusForbidden, codeForbidden
		}
		return status, apiError{Code: code, Message: violationMessage(ve), Violations: ve.Violations}, false
	case errors.Is(err, engine.ErrKeyReused):
		return http.StatusUnprocessableEntity, apiError{
			Code:    codeKeyReused,
			Message: idempotencyHeader + ": " + err.Error(),
		}, false
	case errors.As(err, &rae):
		// Applied by the primary, not yet held by the replicas the server
		// waits for: the caller may retry, and the server's operator has
		// to attach replicas, or wait for (or lower) fewer (R40, R45).
		return http.StatusServiceUnavailable, apiError{
			Code: codeOutcomeUnknown,
			Message: fmt.Sprintf("the change was applied by the Redis primary, but %d of the %d replicas this server waits for "+
				"(--redis-min-replicas-ack) acknowledged it within %s, so a failover could still lose it. "+
				"Retry with the same %s header: the retry is answered once the replicas hold the change, and applies it at most once. "+
				"While this lasts, every write answers so: the server's operator must connect replicas to the Redis primary "+
				"(redis-cli INFO replication counts connected_slaves) or lower --redis-min-replicas-ack",
				rae.Acknowledged, rae.Required, rae.Timeout, idempotencyHeader),
		}, false
	case errors.Is(err, engine.ErrOutcomeUnknown):
		// The commit was sent, its answer never came, or the replicas
		// --redis-min-replicas-ack asks for did not acknowledge it: it may
		// have been applied. Never say that nothing changed here (R45).
		return http.StatusServiceUnavailable, apiError{
			Code: codeOutcomeUnknown,
			Message: "the store did not confirm the change after it was sent (no answer, or too few replicas acknowledged it): " +
				"it may or may not have been applied. " +
				"Retry with the same " + idempotencyHeader + " header to apply it at most once, " +
				"or read the current state before retrying without one",
		}, false
	case errors.As(err, &ude):
		return http.StatusNotFound, apiError{Code: codeNotFound, Message: ude.Error()}, false
	case errors.Is(err, engine.ErrNotFound):
		return http.StatusNotFound, apiError{Code: codeNotFound, Message: publicMessage(err, "the resource was not found")}, false
	case errors.Is(err, engine.ErrForbidden):
		return http.StatusForbidden, apiError{Code: codeForbidden, Message: publicMessage(err, "the policy does not allow this")}, false
	case errors.Is(err, engine.ErrConflict):
		return http.StatusConflict, apiError{Code: codeConflict, Message: publicMessage(err, "the state changed while the request was decided; nothing was changed, try again")}, false
	case errors.Is(err, engine.ErrInvalid):
		return http.StatusBadRequest, apiError{Code: codeInvalidInput, Message: publicMessage(err, "the request is not valid")}, false
	case errors.Is(err, engine.ErrUnavailable):
		// Reads, and writes that failed before their commit was sent: the
		// commit path answers ErrOutcomeUnknown once it was (R45).
		return http.StatusServiceUnavailable, apiError{
			Code:    codeUnavailable,
			Message: "the store is unavailable; nothing was changed, try again later",
		}, false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, apiError{
			Code:    codeUnavailable,
			Message: "the request ran out of time; try again later",
		}, false
	}
	return http.StatusInternalServerError, apiError{Code: codeInternal, Message: "internal error"}, true
}

// publicMessage is the message of the outermost *engine.Error in err's
// chain, written for the caller; without one, fallback. The text of other
// errors (a store's wrapping, the sentinel's own word) never reaches the
// caller: renderError logs it.
func publicMessage(err error, fallback string) string {
	var ee *engine.Error
	if errors.As(err, &ee) && ee.Message != "" {
		return ee.Message
	}
	return fallback
}

func violationMessage(ve *engine.ViolationError) string {
	if len(ve.Violations) == 0 {
		if ve.Forbidden {
			return "the policy does not allow this"
		}
		return "the policy refused this change"
	}
	return strings.Join(ve.Violations, "; ")
}

// renderError answers err with its status and error body, logging what the
// caller must not see.
func (s *Server) renderError(c *gin.Context, err error) {
	status, body, internal := errorResponse(err)
	switch {
	case internal:
		s.log.ErrorContext(c.Request.Context(), "request failed",
			"method", c.Request.Method, "path", c.Request.URL.Path, "error", err)
	case status == http.StatusServiceUnavailable:
		s.log.WarnContext(c.Request.Context(), "request failed: unavailable",
			"method", c.Request.Method, "path", c.Request.URL.Path, "error", err)
	case status == http.StatusNotFound || status == http.StatusConflict:
		// The caller got publicMessage; the store's detail stays here.
		s.log.DebugContext(c.Request.Context(), "request refused",
			"method", c.Request.Method, "path", c.Request.URL.Path, "status", status, "error", err)
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="gatehouse"`)
	}
	c.AbortWithStatusJSON(status, errorBody{Error: body})
}
