package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/client"
)

// flaky wraps gatehouse's handler: the calls that match fail as fail says
// before (or after) gatehouse answers them; it records every attempt.
type flaky struct {
	next  http.Handler
	match func(*http.Request) bool
	// fail, given the number of the matching attempt (1, 2, ...), says how
	// it fails: "drop" (close the connection before answering), "502",
	// "503" (unavailable), "apply-then-unknown" (gatehouse applies it, the
	// client gets a 503 outcome_unknown) or "" (gatehouse answers).
	fail func(n int) string

	mu       sync.Mutex
	attempts int
	keys     []string
	replayed []string
}

func (f *flaky) wrap(next http.Handler) http.Handler { f.next = next; return f }

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !f.match(r) {
		f.next.ServeHTTP(w, r)
		return
	}
	f.mu.Lock()
	f.attempts++
	n := f.attempts
	f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
	f.mu.Unlock()
	switch f.fail(n) {
	case "drop":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	case "502":
		http.Error(w, "bad gateway", http.StatusBadGateway)
	case "503":
		writeError(w, "unavailable", "the store does not answer")
	case "apply-then-unknown":
		rec := httptest.NewRecorder()
		f.next.ServeHTTP(rec, r)
		writeError(w, "outcome_unknown", "the store's answer never came")
	default:
		rec := httptest.NewRecorder()
		f.next.ServeHTTP(rec, r)
		f.mu.Lock()
		f.replayed = append(f.replayed, rec.Header().Get("Idempotent-Replayed"))
		f.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}
}

func writeError(w http.ResponseWriter, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"error":{"code":"` + code + `","message":"` + message + `"}}`))
}

func (f *flaky) count() int { f.mu.Lock(); defer f.mu.Unlock(); return f.attempts }

func isMembersList(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/members")
}

func isAccessRequest(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/access-requests")
}

func failFirst(n int, how ...string) func(int) string {
	return func(i int) string {
		if i <= n {
			return how[(i-1)%len(how)]
		}
		return ""
	}
}

// A read on a server that fails twice (a dropped connection, then a 502)
// and then answers succeeds on the third attempt.
func TestRetriesAReadUntilTheServerAnswers(t *testing.T) {
	f := &flaky{match: isMembersList, fail: failFirst(2, "drop", "502")}
	g := startGatehouse(t, f.wrap)
	members, err := g.as("alice", fastRetries(3)...).ListMembers(context.Background(), "acme")
	require.NoError(t, err)
	assert.Len(t, members, 2)
	assert.Equal(t, 3, f.count(), "two failures, then the answer")
}

func TestRetriesADecisionOn503(t *testing.T) {
	f := &flaky{match: func(r *http.Request) bool { return r.URL.Path == "/v1/decisions" }, fail: failFirst(2, "503")}
	g := startGatehouse(t, f.wrap)
	d, err := g.as("app", fastRetries(2)...).Decide(context.Background(),
		client.DecisionRequest{Subject: "alice", Action: "view", Resource: client.Resource{Account: "acme"}})
	require.NoError(t, err)
	assert.True(t, d.Allow)
	assert.Equal(t, 3, f.count())
}

func TestGivesUpAfterTheRetries(t *testing.T) {
	f := &flaky{match: isMembersList, fail: failFirst(100, "503")}
	g := startGatehouse(t, f.wrap)
	_, err := g.as("alice", fastRetries(2)...).ListMembers(context.Background(), "acme")
	requireAPIError(t, err, 503, client.CodeUnavailable)
	assert.True(t, client.IsUnavailable(err))
	assert.False(t, client.IsOutcomeUnknown(err))
	assert.Equal(t, 3, f.count(), "the first attempt and two retries")

	_, err = g.as("alice").ListMembers(context.Background(), "acme")
	assert.True(t, client.IsUnavailable(err))
	assert.Equal(t, 4, f.count(), "no retries unless asked")
}

// A write without an idempotency key is never retried: not after a 503
// outcome_unknown (it was applied), nor a 503 unavailable, nor a dropped
// connection.
func TestNoRetryOfAWriteWithoutAKey(t *testing.T) {
	for _, how := range []string{"apply-then-unknown", "503", "drop"} {
		t.Run(how, func(t *testing.T) {
			f := &flaky{match: isAccessRequest, fail: failFirst(1, how)}
			g := startGatehouse(t, f.wrap)
			carol := g.as("carol", fastRetries(3)...)
			_, err := carol.RequestAccess(context.Background(), "acme", "new buyer")
			require.Error(t, err)
			assert.Equal(t, 1, f.count(), "one attempt only")
			assert.Equal(t, []string{""}, f.keys, "no key was sent")
			if how == "apply-then-unknown" {
				assert.True(t, client.IsOutcomeUnknown(err), "%v", err)
				mine, err := carol.ListMyRequests(context.Background(), client.RequestFilter{})
				require.NoError(t, err)
				assert.Len(t, mine, 1, "the write was applied once, and not retried")
			}
		})
	}
}

// A write with a key is retried after a 503 outcome_unknown, and applied
// once: the retry gets the first answer again, Idempotent-Replayed (R40).
func TestRetryOfAWriteWithAKeyAppliesOnce(t *testing.T) {
	for name, opt := range map[string]struct {
		client []client.Option
		call   []client.CallOption
	}{
		"IdempotencyKey":      {call: []client.CallOption{client.IdempotencyKey("carol-acme-1")}},
		"WithAutoIdempotency": {client: []client.Option{client.WithAutoIdempotency()}},
	} {
		t.Run(name, func(t *testing.T) {
			f := &flaky{match: isAccessRequest, fail: failFirst(1, "apply-then-unknown")}
			g := startGatehouse(t, f.wrap)
			carol := g.as("carol", append(fastRetries(3), opt.client...)...)
			r, err := carol.RequestAccess(context.Background(), "acme", "new buyer", opt.call...)
			require.NoError(t, err)
			assert.Equal(t, "pending", r.Status)
			require.Equal(t, 2, f.count(), "the outcome_unknown, then the retry")
			assert.NotEmpty(t, f.keys[0])
			assert.Equal(t, f.keys[0], f.keys[1], "the retry carries the same key")
			assert.Equal(t, []string{"true"}, f.replayed, "the retry's answer is the first one, replayed")

			mine, err := carol.ListMyRequests(context.Background(), client.RequestFilter{})
			require.NoError(t, err)
			require.Len(t, mine, 1, "applied once")
			assert.Equal(t, r.ID, mine[0].ID)

			// The next call gets a key of its own.
			_, err = carol.Revoke(context.Background(), r.ID, "")
			assert.Error(t, err, "carol may not revoke")
		})
	}
}

func TestContextCancellation(t *testing.T) {
	t.Run("ends the waits between retries", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		f := &flaky{match: isMembersList, fail: failFirst(1000, "503")}
		g := startGatehouse(t, func(next http.Handler) http.Handler {
			h := f.wrap(next)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.ServeHTTP(w, r)
				w.(http.Flusher).Flush()
				cancel() // the caller gives up once the first answer is on its way
			})
		})
		// The wait before the retry would be an hour: only the context ends it.
		c := g.as("alice", client.WithRetries(1000), client.WithBackoff(time.Hour, time.Hour))
		_, err := c.ListMembers(ctx, "acme")
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, f.count(), "no retry once the caller gave up")
	})
	t.Run("ends a call in flight", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		g := startGatehouse(t, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				cancel()
				select {
				case <-r.Context().Done():
				case <-release:
				}
			})
		})
		_, err := g.as("alice", fastRetries(5)...).ListMembers(ctx, "acme")
		assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	})
}

// A 503 outcome_unknown is never retried without a key, even on a call
// that is otherwise retried.
func TestNoRetryOfOutcomeUnknownWithoutAKey(t *testing.T) {
	f := &flaky{match: isMembersList, fail: failFirst(1, "apply-then-unknown")}
	g := startGatehouse(t, f.wrap)
	_, err := g.as("alice", fastRetries(3)...).ListMembers(context.Background(), "acme")
	assert.True(t, client.IsOutcomeUnknown(err), "%v", err)
	assert.Equal(t, 1, f.count())
}
