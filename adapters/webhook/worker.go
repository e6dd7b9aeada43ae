package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/gatehouse/gatehouse/engine"
)

// releaseTimeout bounds handing a lease back when Run stops.
const releaseTimeout = time.Second

// maxResponseRead is how much of a receiver's answer is read (and dropped)
// so that the connection can be reused.
const maxResponseRead = 64 << 10

// worker delivers the events to one URL. It is used by one goroutine.
type worker struct {
	d      *Deliverer
	url    string
	name   string
	log    *slog.Logger
	wait   *backoff.ExponentialBackOff
	held   bool
	leased time.Time // when the lease was last taken or renewed, before asking
}

func (d *Deliverer) newWorker(url string) *worker {
	return &worker{
		d:    d,
		url:  url,
		name: Name(url),
		log:  d.cfg.log.With("webhook", redact(url), "lease", Name(url)),
		wait: &backoff.ExponentialBackOff{
			InitialInterval:     d.cfg.minBackoff,
			RandomizationFactor: 0.5,
			Multiplier:          2,
			MaxInterval:         d.cfg.maxBackoff,
		},
	}
}

// run delivers batch after batch until ctx ends, waiting a poll interval
// whenever it is caught up, has no lease or met an error.
func (w *worker) run(ctx context.Context) {
	defer w.release(ctx)
	for ctx.Err() == nil {
		if w.deliverBatch(ctx) {
			continue
		}
		sleep(ctx, w.d.cfg.poll)
	}
}

// deliverBatch delivers the events after the stored cursor, one read of
// the log at most, and reports whether a full batch was delivered (more
// events may be waiting).
func (w *worker) deliverBatch(ctx context.Context) bool {
	if !w.holdLease(ctx, true) {
		return false
	}
	cursor, err := w.d.store.GetCursor(ctx, w.name)
	if err != nil {
		w.storeFailed(ctx, "read the cursor", err)
		return false
	}
	events, err := w.d.store.ListEvents(ctx, cursor, w.d.cfg.batch, engine.Ascending)
	if err != nil {
		w.storeFailed(ctx, "read events", err)
		return false
	}
	for _, ev := range events {
		if !w.deliver(ctx, ev) {
			return false
		}
		// A failure here redelivers ev later: at least once.
		if err := w.d.store.SetCursor(ctx, w.name, ev.Cursor); err != nil {
			w.storeFailed(ctx, "store the cursor", err)
			return false
		}
	}
	return len(events) == w.d.cfg.batch
}

// deliver posts ev until the receiver accepts it, backing off between
// attempts. It returns false, without the event delivered, when ctx ended
// or the lease went to another replica. An event that cannot be encoded
// fails every attempt: it is logged and retried, never skipped.
func (w *worker) deliver(ctx context.Context, ev engine.Event) bool {
	ev.Cursor = "" // the body is the event itself, whichever store it came from
	body, encodeErr := json.Marshal(ev)
	w.wait.Reset()
	for attempt := 1; ; attempt++ {
		if !w.holdLease(ctx, false) {
			return false
		}
		err := encodeErr
		if err == nil {
			err = w.post(ctx, ev, body)
		}
		if err == nil {
			w.d.cfg.observe(w.name, true)
			return true
		}
		if ctx.Err() != nil {
			return false // cut short by shutdown, not refused by the receiver
		}
		w.d.cfg.observe(w.name, false)
		w.log.WarnContext(ctx, "webhook delivery failed", "event", ev.ID, "attempt", attempt, "error", err)
		if !sleep(ctx, w.wait.NextBackOff()) {
			return false
		}
	}
}

// post makes one delivery attempt, bounded by the request timeout.
func (w *worker) post(ctx context.Context, ev engine.Event, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.d.cfg.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", scrub(err, w.url))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderEvent, ev.Type)
	req.Header.Set(HeaderDelivery, ev.ID)
	req.Header.Set(HeaderSignature, Sign(w.d.secret, body))
	resp, err := w.d.cfg.client.Do(req)
	if err != nil {
		return scrub(err, w.url)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead)) // only to reuse the connection
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// holdLease takes or renews the lease and reports whether this worker holds
// it. Unless always is set, a lease renewed less than a third of its ttl ago
// is trusted without asking: it still has two thirds left, more than one
// attempt may take.
func (w *worker) holdLease(ctx context.Context, always bool) bool {
	ttl := w.d.cfg.leaseTTL
	if !always && w.held && time.Since(w.leased) < ttl/3 {
		return true
	}
	asked := time.Now()
	held, err := w.d.store.AcquireLease(ctx, w.name, w.d.holder, ttl)
	if err != nil {
		w.held = false
		w.storeFailed(ctx, "take the lease", err)
		return false
	}
	if held && !w.held {
		w.log.InfoContext(ctx, "webhook lease taken", "holder", w.d.holder)
	}
	w.held, w.leased = held, asked
	return held
}

// release hands a held lease back by shortening it to a millisecond.
func (w *worker) release(ctx context.Context) {
	if !w.held {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if _, err := w.d.store.AcquireLease(ctx, w.name, w.d.holder, time.Millisecond); err != nil {
		w.log.WarnContext(ctx, "webhook lease not released: another replica takes over once it expires", "error", err)
	}
	w.held = false
}

// storeFailed logs a store error, unless it only says that ctx ended.
func (w *worker) storeFailed(ctx context.Context, what string, err error) {
	if ctx.Err() == nil {
		w.log.WarnContext(ctx, "webhook delivery: cannot "+what, "error", err)
	}
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// redact renders a receiver's URL for a log line or an error: its scheme
// and host. User info, the path, the query and the fragment can all hold
// credentials (a password, a token in the query string or in the path, as
// Slack-style webhooks have), so each is shown as *** when present. The
// lease name (Name) tells two URLs on one host apart.
func redact(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if u.Opaque != "" {
		return u.Scheme + ":***"
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		b.WriteString("***@")
	}
	b.WriteString(u.Host)
	if u.Path != "" && u.Path != "/" {
		b.WriteString("/***")
	}
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?***")
	}
	if u.Fragment != "" {
		b.WriteString("#***")
	}
	return b.String()
}

// scrub replaces the URL that net/http puts in its errors (a *url.Error
// quotes the whole URL, credentials included) with its redacted form.
func scrub(err error, raw string) error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return &neturl.Error{Op: ue.Op, URL: redact(raw), Err: ue.Err}
	}
	return err
}
