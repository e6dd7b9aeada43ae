package decisionlog_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/decisionlog"
	"github.com/gatehouse/gatehouse/engine"
)

var at = time.Date(2025, time.March, 14, 9, 26, 53, 0, time.UTC)

// decision returns the i-th test decision: even ones allow through a
// membership granted by a request, odd ones deny.
func decision(i int) (engine.DecisionRequest, engine.Decision) {
	req := engine.DecisionRequest{
		Subject:  fmt.Sprintf("user%d", i),
		Action:   "view",
		Resource: engine.Resource{Account: "acme", VirtualAccount: "va1"},
		Context:  map[string]any{"ip": "10.0.0.1", "big": json.Number("9007199254740993")},
	}
	d := engine.Decision{
		DecisionID:     fmt.Sprintf("d%d", i),
		PolicyRevision: "rev1",
		At:             at,
		Duration:       1500 * time.Microsecond,
		Allow:          i%2 == 0,
		Reasons:        []string{fmt.Sprintf("reason %d", i)},
	}
	if d.Allow {
		d.Grant = &engine.DecisionGrant{Kind: "membership", Account: "acme", Request: "req1", ApprovedBy: "tom"}
	}
	return req, d
}

// syncBuffer is a bytes.Buffer safe to read while the logger writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLoggerWritesOneParseableLinePerDecision(t *testing.T) {
	var a, b syncBuffer
	l := decisionlog.New([]io.Writer{&a, &b})
	for i := range 10 {
		l.ObserveDecision(decision(i))
	}
	require.NoError(t, l.Close())
	assert.Equal(t, a.String(), b.String(), "every sink gets every line")

	lines := strings.Split(strings.TrimSuffix(a.String(), "\n"), "\n")
	require.Len(t, lines, 10)
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	for _, key := range []string{"decision_id", "time", "subject", "action", "resource", "context", "allow", "reasons", "grant", "policy_revision", "eval_ms"} {
		assert.Contains(t, first, key)
	}
	assert.Equal(t, map[string]any{"kind": "membership", "account": "acme", "request": "req1", "approved_by": "tom"}, first["grant"])

	entries, err := decisionlog.ReadEntries(strings.NewReader(a.String()))
	require.NoError(t, err)
	require.Len(t, entries, 10)
	for i, e := range entries {
		req, d := decision(i)
		assert.Equal(t, d.DecisionID, e.DecisionID)
		assert.Equal(t, at, e.Time)
		assert.Equal(t, req.Subject, e.Subject)
		assert.Equal(t, decisionlog.Resource{Account: "acme", VirtualAccount: "va1"}, e.Resource)
		assert.Equal(t, d.Allow, e.Allow)
		assert.Equal(t, d.Reasons, e.Reasons)
		assert.Equal(t, d.Grant, e.Grant)
		assert.Equal(t, "rev1", e.PolicyRevision)
		assert.InDelta(t, 1.5, e.EvalMS, 0.0001)
		assert.Empty(t, e.MaskedFields)
		assert.True(t, e.Replayable())
		assert.Equal(t, req.Subject, e.Logged().Request.Subject)
	}
	assert.Zero(t, l.Dropped())
}

func TestLoggerMasksFields(t *testing.T) {
	tests := []struct {
		name       string
		mask       []string
		masked     map[string]any // path -> expected value in the JSON line
		kept       []string
		replayable bool
	}{
		{
			name:   "top-level fields",
			mask:   []string{"subject", "context", "reasons"},
			masked: map[string]any{"subject": "***", "context": "***", "reasons": "***"},
			kept:   []string{"action", "allow", "grant"},
		},
		{
			name:   "nested fields",
			mask:   []string{"resource.account", " grant.approved_by "},
			masked: map[string]any{"resource.account": "***", "grant.approved_by": "***"},
			kept:   []string{"subject", "context"},
		},
		{
			name:       "a masked field that is absent changes nothing",
			mask:       []string{"context.missing", "nothing"},
			masked:     map[string]any{},
			kept:       []string{"subject", "context", "resource"},
			replayable: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			l := decisionlog.New([]io.Writer{&out}, decisionlog.WithMask(tt.mask...))
			l.ObserveDecision(decision(0))
			require.NoError(t, l.Close())

			var line map[string]any
			require.NoError(t, json.Unmarshal([]byte(out.String()), &line))
			for path, want := range tt.masked {
				assert.Equal(t, want, valueAt(line, path), path)
			}
			for _, key := range tt.kept {
				assert.NotEqual(t, "***", line[key], key)
				assert.NotNil(t, line[key], key)
			}
			assert.NotContains(t, out.String(), "9.007199254740992e+15", "numbers survive masking exactly")

			entries, err := decisionlog.ReadEntries(strings.NewReader(out.String()))
			require.NoError(t, err)
			require.Len(t, entries, 1)
			assert.Equal(t, tt.replayable, entries[0].Replayable())
		})
	}
}

func valueAt(doc map[string]any, path string) any {
	var v any = doc
	for _, key := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

// blockingWriter blocks every Write until release is closed, and says on
// entered when the first Write started.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	lines   int
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}

func TestLoggerDropsInsteadOfBlocking(t *testing.T) {
	const buffer, extra = 3, 5
	w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	l := decisionlog.New([]io.Writer{w}, decisionlog.WithBuffer(buffer))

	l.ObserveDecision(decision(0))
	<-w.entered // the writer holds entry 0 and is stuck writing it

	returned := make(chan struct{})
	go func() {
		defer close(returned)
		for i := 1; i <= buffer+extra; i++ {
			l.ObserveDecision(decision(i))
		}
	}()
	<-returned // ObserveDecision came back although the writer is stuck
	assert.Equal(t, uint64(extra), l.Dropped())

	close(w.release)
	require.NoError(t, l.Close())
	assert.Equal(t, 1+buffer, w.lines, "everything queued is written on Close")

	l.ObserveDecision(decision(99))
	assert.Equal(t, uint64(extra+1), l.Dropped(), "a closed logger drops and counts")
	require.NoError(t, l.Close(), "Close twice is harmless")
}

func TestOpenAppendsToFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "decisions.log")
	require.NoError(t, os.WriteFile(path, []byte(`{"decision_id":"old","allow":true,"reasons":["earlier"]}`+"\n"), 0o600))

	l, err := decisionlog.Open([]string{path})
	require.NoError(t, err)
	l.ObserveDecision(decision(1))
	require.NoError(t, l.Close())

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	entries, err := decisionlog.ReadEntries(f)
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, "old", entries[0].DecisionID)
	assert.Equal(t, "d1", entries[1].DecisionID)

	_, err = decisionlog.Open([]string{filepath.Join(t.TempDir(), "missing", "dir", "x.log")})
	require.Error(t, err)
}

func TestReadEntries(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		count   int
		masked  []string
		wantErr string
	}{
		{name: "blank lines are skipped", input: "\n{\"decision_id\":\"a\"}\n\n{\"decision_id\":\"b\"}\n", count: 2},
		{name: "masked fields read as zero", input: `{"decision_id":"a","subject":"***","allow":"***","reasons":"***","resource":{"account":"***"}}`, count: 1, masked: []string{"allow", "reasons", "subject"}},
		{name: "a broken line is named", input: "{\"decision_id\":\"a\"}\n{not json\n", count: 1, wantErr: "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := decisionlog.ReadEntries(strings.NewReader(tt.input))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Len(t, entries, tt.count)
			if tt.masked != nil {
				assert.Equal(t, tt.masked, entries[0].MaskedFields)
				assert.Empty(t, entries[0].Subject)
				assert.False(t, entries[0].Replayable())
			}
		})
	}
}
