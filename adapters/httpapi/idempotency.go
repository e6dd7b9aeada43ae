package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/gatehouse/gatehouse/engine"
)

// idempotencyHeader names the attempt of a write, so that its retries are
// answered from the first answer instead of changing state again.
const idempotencyHeader = "Idempotency-Key"

// replayedHeader is set to "true" on an answer replayed from an earlier
// attempt with the same Idempotency-Key.
const replayedHeader = "Idempotent-Replayed"

// maxIdempotencyKey is the longest Idempotency-Key accepted.
const maxIdempotencyKey = 255

// Keys of the gin context.
const (
	idempotencyCtxKey = "gatehouse.idempotency"
	answerCtxKey      = "gatehouse.answer"
)

// answer is how a write handler answers its command's result: the status
// and the value rendered as JSON (nil: no body). With an Idempotency-Key the
// engine calls it before committing, and keeps what it returns with the
// change (R40).
type answer func(result any) (status int, body any)

// answerWith is an answer of a fixed status whose body converts a result
// of type T.
func answerWith[T any](status int, body func(T) any) answer {
	return func(result any) (int, any) {
		v, _ := result.(T)
		return status, body(v)
	}
}

// keptAnswer is an answer as kept in the store.
type keptAnswer struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body,omitempty"`
	// Token is the Consistency-Token of the change committed with it.
	Token string `json:"token,omitempty"`
}

// idempotent reads the Idempotency-Key of a write (POST, PUT, PATCH,
// DELETE) and hands the command an engine.Idempotency: the key, a
// fingerprint of the method, path and body, and the handler's answer. The
// first answer of a command that changed state is then committed with the
// change and replayed, same status and body, to a retry with the same key
// and request; the same key with another request is refused (422). A key
// longer than 255 characters or outside printable ASCII is a 400.
func (s *Server) idempotent(c *gin.Context) {
	key, ok := c.Request.Header[idempotencyHeader]
	if !ok || !writeMethod(c.Request.Method) {
		c.Next()
		return
	}
	if len(key) != 1 || !validIdempotencyKey(key[0]) {
		s.renderError(c, engine.Invalid(idempotencyHeader,
			"must be one header of 1-%d printable ASCII characters without spaces (a UUID, say)", maxIdempotencyKey))
		return
	}
	var body []byte
	if c.Request.Body != nil {
		var err error
		if body, err = io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, s.maxBody)); err != nil {
			s.renderError(c, decodeError(err))
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
	}
	idem := &engine.Idempotency{
		Key:         key[0],
		Fingerprint: fingerprint(c.Request, body),
		Answer: func(result any) ([]byte, error) {
			kept := keptAnswer{Status: http.StatusOK}
			if w := writesOf(c); w != nil {
				if t, ok := w.Decided(); ok {
					kept.Token = t.String()
				}
			}
			a, _ := c.Value(answerCtxKey).(answer)
			if a == nil {
				return json.Marshal(kept)
			}
			status, v := a(result)
			kept.Status = status
			if v != nil {
				b := s.buffers.get()
				defer s.buffers.put(b)
				if err := b.enc.Encode(v); err != nil {
					return nil, err
				}
				kept.Body = bytes.Clone(b.buf.Bytes())
			}
			return json.Marshal(kept)
		},
	}
	c.Set(idempotencyCtxKey, idem)
	c.Request = c.Request.WithContext(engine.WithIdempotency(c.Request.Context(), idem))
	c.Next()
}

// answerAs registers how the handler answers its command's result, for
// the answer kept with an Idempotency-Key.
func answerAs(c *gin.Context, a answer) { c.Set(answerCtxKey, a) }

// writeKept writes the answer kept for the request's Idempotency-Key, if
// the command has one: the answer committed with its change, or the first
// answer, replayed. It reports whether it wrote.
func (s *Server) writeKept(c *gin.Context) bool {
	idem, _ := c.Value(idempotencyCtxKey).(*engine.Idempotency)
	if idem == nil {
		return false
	}
	raw, replayed := idem.Result()
	if raw == nil {
		return false
	}
	var kept keptAnswer
	if err := json.Unmarshal(raw, &kept); err != nil || kept.Status == 0 {
		s.log.ErrorContext(c.Request.Context(), "unreadable idempotent answer", "path", c.Request.URL.Path)
		return false
	}
	if replayed {
		c.Header(replayedHeader, "true")
	}
	if kept.Token != "" {
		c.Header(tokenHeader, kept.Token)
	}
	if len(kept.Body) == 0 {
		c.Status(kept.Status)
		return true
	}
	c.Data(kept.Status, "application/json; charset=utf-8", kept.Body)
	return true
}

// writeMethod reports whether method changes state.
func writeMethod(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// validIdempotencyKey accepts 1-255 printable ASCII characters, no spaces.
func validIdempotencyKey(key string) bool {
	if key == "" || len(key) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// fingerprint identifies a request: its method, path, query and body.
func fingerprint(r *http.Request, body []byte) string {
	h := sha256.New()
	for _, part := range []string{r.Method, r.URL.EscapedPath(), r.URL.RawQuery} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
