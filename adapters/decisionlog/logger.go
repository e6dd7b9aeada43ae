package decisionlog

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/engine"
)

// DefaultBuffer is how many entries wait for the writer before new ones
// are dropped, unless WithBuffer says otherwise.
const DefaultBuffer = 4096

// Stdout is the sink name Open reads as the process's standard output.
const Stdout = "stdout"

var _ engine.DecisionObserver = (*Logger)(nil)

// Logger writes decision log entries to its sinks without ever blocking a
// decision. It is safe for concurrent use.
type Logger struct {
	entries chan Entry
	sinks   []*bufio.Writer
	closers []io.Closer
	mask    [][]string
	log     *slog.Logger

	// mu guards closed: ObserveDecision holds it shared while it offers an
	// entry, Close exclusively while it closes the channel.
	mu      sync.RWMutex
	closed  bool
	dropped atomic.Uint64
	done    chan struct{}
	failing bool
}

// Option configures a Logger.
type Option func(*Logger)

// WithBuffer sets how many entries may wait for the writer (at least 1).
func WithBuffer(n int) Option {
	return func(l *Logger) { l.entries = make(chan Entry, max(n, 1)) }
}

// WithMask masks fields: each value is replaced with "***". A field is a
// JSON name of Entry, or a dotted path into it ("subject", "context",
// "reasons", "resource.account", "grant.approved_by"). A masked value is
// also replaced with "***" wherever else it appears in the line: inside a
// reason sentence, the grant, the error, another context value or key
// (issue 7, point 4). Only the fields gatehouse generates (decision_id,
// time, eval_ms, policy_revision) are left as they are.
func WithMask(fields ...string) Option {
	return func(l *Logger) {
		for _, f := range fields {
			if f = strings.TrimSpace(f); f != "" {
				l.mask = append(l.mask, strings.Split(f, "."))
			}
		}
	}
}

// WithLogger sets where write errors are reported.
func WithLogger(log *slog.Logger) Option { return func(l *Logger) { l.log = log } }

// New returns a Logger writing to sinks and starts its writer; Close it.
// The Logger does not close the sinks.
func New(sinks []io.Writer, opts ...Option) *Logger {
	l := &Logger{log: slog.Default(), done: make(chan struct{})}
	for _, opt := range opts {
		opt(l)
	}
	if l.entries == nil {
		l.entries = make(chan Entry, DefaultBuffer)
	}
	for _, w := range sinks {
		l.sinks = append(l.sinks, bufio.NewWriter(w))
	}
	go l.write()
	return l
}

// Open returns a Logger writing to each target: Stdout, or a file path
// opened for appending (created with mode 0600). Close closes the files.
func Open(targets []string, opts ...Option) (*Logger, error) {
	var sinks []io.Writer
	var files []io.Closer
	for _, t := range targets {
		if t == Stdout {
			sinks = append(sinks, os.Stdout)
			continue
		}
		f, err := os.OpenFile(t, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			for _, c := range files {
				c.Close()
			}
			return nil, fmt.Errorf("open decision log: %w", err)
		}
		sinks = append(sinks, f)
		files = append(files, f)
	}
	l := New(sinks, opts...)
	l.closers = files
	return l, nil
}

// ObserveDecision queues the decision's entry, or drops and counts it when
// the buffer is full or the Logger closed. It never blocks.
func (l *Logger) ObserveDecision(req engine.DecisionRequest, d engine.Decision) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	select {
	case l.entries <- NewEntry(req, d):
	default:
		l.dropped.Add(1)
	}
}

// Dropped returns how many entries were dropped because the buffer was
// full (or the Logger closed).
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// Close writes every queued entry, flushes the sinks and closes the files
// Open opened. Entries observed afterwards are dropped.
func (l *Logger) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	close(l.entries)
	l.mu.Unlock()
	<-l.done

	var errs []error
	for _, w := range l.sinks {
		errs = append(errs, w.Flush())
	}
	for _, c := range l.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// write encodes entries until the channel is closed, flushing whenever no
// more entries are waiting.
func (l *Logger) write() {
	defer close(l.done)
	for e := range l.entries {
		line, err := l.encode(e)
		if err != nil {
			l.log.Error("decision log: cannot encode an entry", "decision_id", e.DecisionID, "error", err)
			continue
		}
		for _, w := range l.sinks {
			_, err = w.Write(line)
			l.report(err)
		}
		if len(l.entries) == 0 {
			for _, w := range l.sinks {
				l.report(w.Flush())
			}
		}
	}
}

// report logs a write error once per run of failures.
func (l *Logger) report(err error) {
	switch {
	case err != nil && !l.failing:
		l.failing = true
		l.log.Error("decision log: write failed; decisions go on, their log lines may be lost", "error", err)
	case err == nil && l.failing:
		l.failing = false
		l.log.Info("decision log: writes succeed again")
	}
}

// encode returns the entry's JSON line, masked.
func (l *Logger) encode(e Entry) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil || len(l.mask) == 0 {
		return append(b, '\n'), err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var secrets []string
	for _, path := range l.mask {
		secrets = maskPath(doc, path, secrets)
	}
	scrubLine(doc, secrets)
	b, err = json.Marshal(doc)
	return append(b, '\n'), err
}

// maskPath replaces the value at path with Masked, if it is there, and
// returns secrets with the values it held added: every string and number
// in it, however deeply nested.
func maskPath(doc map[string]any, path []string, secrets []string) []string {
	for i, key := range path {
		v, ok := doc[key]
		if !ok {
			return secrets
		}
		if i == len(path)-1 {
			doc[key] = Masked
			return appendValues(secrets, v)
		}
		if doc, ok = v.(map[string]any); !ok {
			return secrets
		}
	}
	return secrets
}

// appendValues appends the text of every string and number in v. Booleans
// and nulls are not values a line can echo elsewhere, and the keys of a
// masked object are names, not values: they are left alone.
func appendValues(out []string, v any) []string {
	switch v := v.(type) {
	case string:
		if v != "" && v != Masked {
			out = append(out, v)
		}
	case json.Number:
		out = append(out, v.String())
	case map[string]any:
		for _, x := range v {
			out = appendValues(out, x)
		}
	case []any:
		for _, x := range v {
			out = appendValues(out, x)
		}
	}
	return out
}

// generated are the fields gatehouse writes itself, which never echo what
// a decision was asked or answered: they are not scrubbed.
var generated = map[string]bool{"decision_id": true, "time": true, "eval_ms": true, "policy_revision": true}

// scrubLine replaces every occurrence of a masked value anywhere else in
// the line with Masked: in the reasons ("alice holds account_admin on
// acme"), the grant, the error, the context (values and keys) and the
// other request fields. A masked value must appear nowhere in the line
// (issue 7, point 4). Longer values are replaced first, so that a value
// holding another is hidden whole.
func scrubLine(doc map[string]any, secrets []string) {
	if len(secrets) == 0 {
		return
	}
	slices.SortFunc(secrets, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	secrets = slices.Compact(secrets)
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		pairs = append(pairs, s, Masked)
	}
	r := strings.NewReplacer(pairs...)
	for k, v := range doc {
		if !generated[k] {
			doc[k] = scrubValue(v, r)
		}
	}
}

// scrubValue returns v with r applied to every string, number and object
// key in it. A number that held a masked value becomes the string Masked.
func scrubValue(v any, r *strings.Replacer) any {
	switch v := v.(type) {
	case string:
		return r.Replace(v)
	case json.Number:
		if s := r.Replace(v.String()); s != v.String() {
			return Masked
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for _, k := range slices.Sorted(maps.Keys(v)) {
			key := r.Replace(k)
			for _, taken := out[key]; taken; _, taken = out[key] {
				key += "*" // two keys masked alike both stay
			}
			out[key] = scrubValue(v[k], r)
		}
		return out
	case []any:
		for i, x := range v {
			v[i] = scrubValue(x, r)
		}
		return v
	}
	return v
}
