package webhook_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/adapters/webhook"
	"github.com/gatehouse/gatehouse/engine"
)

// receiver is a webhook endpoint that records what it accepts and checks
// every delivery's headers and signature.
type receiver struct {
	url    string
	secret []byte
	// refuse reports whether to answer attempt n (from 1) with a 500.
	refuse func(n int) bool
	// hold keeps each request open that long, so that overlapping deliveries
	// from two replicas would be seen.
	hold time.Duration

	attempts atomic.Int32
	inFlight atomic.Int32
	overlaps atomic.Int32

	mu       sync.Mutex
	accepted []engine.Event
	problems []string
}

// newReceiver starts a receiver, closed when the test ends.
func newReceiver(tb testing.TB, secret []byte, configure ...func(*receiver)) *receiver {
	tb.Helper()
	r := &receiver{secret: secret, refuse: func(int) bool { return false }}
	for _, c := range configure {
		c(r)
	}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	tb.Cleanup(srv.Close)
	r.url = srv.URL + "/hook"
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	if r.inFlight.Add(1) > 1 {
		r.overlaps.Add(1)
	}
	defer r.inFlight.Add(-1)
	n := int(r.attempts.Add(1))
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.problem("read body: %v", err)
		return
	}
	if r.hold > 0 {
		time.Sleep(r.hold) // widens the window in which a second replica would overlap
	}
	if r.refuse(n) {
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	var ev engine.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.problem("decode body %q: %v", body, err)
		return
	}
	switch {
	case req.Method != http.MethodPost:
		r.problem("%s: method %s", ev.ID, req.Method)
	case req.Header.Get("Content-Type") != "application/json":
		r.problem("%s: content type %q", ev.ID, req.Header.Get("Content-Type"))
	case req.Header.Get(webhook.HeaderEvent) != ev.Type:
		r.problem("%s: event header %q, type %q", ev.ID, req.Header.Get(webhook.HeaderEvent), ev.Type)
	case req.Header.Get(webhook.HeaderDelivery) != ev.ID:
		r.problem("%s: delivery header %q", ev.ID, req.Header.Get(webhook.HeaderDelivery))
	case !webhook.Verify(r.secret, body, req.Header.Get(webhook.HeaderSignature)):
		r.problem("%s: bad signature %q", ev.ID, req.Header.Get(webhook.HeaderSignature))
	case ev.Cursor != "":
		r.problem("%s: store cursor %q leaked into the body", ev.ID, ev.Cursor)
	}
	r.mu.Lock()
	r.accepted = append(r.accepted, ev)
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// Accepted returns the ids of accepted deliveries, duplicates included, and
// the problems seen.
func (r *receiver) Accepted() (ids []string, problems []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.accepted {
		ids = append(ids, ev.ID)
	}
	return ids, append([]string(nil), r.problems...)
}

// Events returns the accepted events, each once, in the order first
// accepted.
func (r *receiver) Events() []engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []engine.Event
	for _, ev := range r.accepted {
		if !seen[ev.ID] {
			seen[ev.ID] = true
			out = append(out, ev)
		}
	}
	return out
}

// Unique returns the ids of Events.
func (r *receiver) Unique() []string {
	var ids []string
	for _, ev := range r.Events() {
		ids = append(ids, ev.ID)
	}
	return ids
}
