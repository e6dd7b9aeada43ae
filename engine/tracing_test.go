package engine_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// Issue 10, part 7: the engine's spans, seen through a Tracer that records
// them (the OpenTelemetry one is tested in adapters/tracing and
// cmd/gatehouse against a real OTLP receiver).

// recordedSpan is one span a recordingTracer saw end.
type recordedSpan struct {
	name, parent string
	attrs        map[string]any
	err          error
}

type spanKey struct{}

// recordingTracer records every span with the name of its parent (the
// span in the context it was started with).
type recordingTracer struct {
	mu    sync.Mutex
	spans []recordedSpan
}

func (r *recordingTracer) Start(ctx context.Context, name string, attrs ...engine.TraceAttribute) (context.Context, engine.EndSpan) {
	parent, _ := ctx.Value(spanKey{}).(string)
	s := recordedSpan{name: name, parent: parent, attrs: map[string]any{}}
	for _, a := range attrs {
		s.attrs[a.Key] = a.Value
	}
	ended := false
	return context.WithValue(ctx, spanKey{}, name), func(err error, attrs ...engine.TraceAttribute) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if ended {
			panic("span " + name + " ended twice")
		}
		ended = true
		for _, a := range attrs {
			s.attrs[a.Key] = a.Value
		}
		s.err = err
		r.spans = append(r.spans, s)
	}
}

// take returns the spans recorded so far and forgets them.
func (r *recordingTracer) take() []recordedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.spans
	r.spans = nil
	return out
}

func names(spans []recordedSpan) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.name + "<" + s.parent
	}
	return out
}

func TestTracerSeesDecisionSpans(t *testing.T) {
	store := openEmbedded(t)
	seedDecisionData(t, store)
	tracer := &recordingTracer{}
	eng, err := engine.New(store, builtinPolicy(t), engine.WithTracer(tracer),
		engine.WithClock(func() time.Time { return decisionNow }), engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(t, err)
	ctx := context.WithValue(t.Context(), spanKey{}, "http")

	d := eng.Decide(ctx, engine.DecisionRequest{
		Subject: "bob", Action: "use", Resource: engine.Resource{Account: "acme", VirtualAccount: "emea"},
	})
	require.True(t, d.Allow, "reasons: %v", d.Reasons)
	spans := tracer.take()
	// Spans are recorded as they end: the children first.
	assert.Equal(t, []string{"gatehouse.snapshot<gatehouse.decide", "gatehouse.eval<gatehouse.decide", "gatehouse.decide<http"}, names(spans))
	decide := spans[2]
	assert.Equal(t, map[string]any{
		engine.AttrSubject: "bob", engine.AttrAction: "use",
		engine.AttrAccount: "acme", engine.AttrVirtualAccount: "emea",
		engine.AttrAllow: true, engine.AttrDecisionID: d.DecisionID, engine.AttrPolicyRevision: d.PolicyRevision,
	}, decide.attrs)
	for _, s := range spans {
		assert.NoError(t, s.err, s.name)
	}

	t.Run("a deny is not an error; a decision that fails closed is", func(t *testing.T) {
		d := eng.Decide(ctx, engine.DecisionRequest{Subject: "carol", Action: "view", Resource: engine.Resource{Account: "acme"}})
		require.False(t, d.Allow)
		spans := tracer.take()
		require.Len(t, spans, 3)
		assert.Equal(t, false, spans[2].attrs[engine.AttrAllow])
		assert.NoError(t, spans[2].err)

		gone, cancel := context.WithCancel(ctx)
		cancel()
		d = eng.Decide(gone, engine.DecisionRequest{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "acme"}})
		require.Equal(t, "timeout", d.Error)
		spans = tracer.take()
		last := spans[len(spans)-1]
		require.Equal(t, engine.SpanDecide, last.name)
		assert.Error(t, last.err)
		assert.Equal(t, "timeout", last.attrs[engine.AttrDecisionError])
	})
	t.Run("a batch has one decide span per decision", func(t *testing.T) {
		eng.DecideBatch(ctx, []engine.DecisionRequest{
			{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "acme"}},
			{Subject: "bob", Action: "view", Resource: engine.Resource{Account: "acme"}},
		})
		var decides int
		for _, s := range tracer.take() {
			if s.name == engine.SpanDecide {
				decides++
				assert.Equal(t, "http", s.parent)
			}
		}
		assert.Equal(t, 2, decides)
	})
}

func TestTracerSeesCommandSpans(t *testing.T) {
	tracer := &recordingTracer{}
	clk := newFakeClock()
	eng, err := engine.New(openEmbeddedStore(t), commandTestPolicy(t), engine.WithTracer(tracer),
		engine.WithClock(clk.Now), engine.WithSystemAdmins(sysAdmin), engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(t, err)
	ctx := context.WithValue(t.Context(), spanKey{}, "http")

	_, _, err = eng.PutUser(ctx, sysAdmin, engine.User{ID: "alice", Email: "alice@acme.example"})
	require.NoError(t, err)
	assert.Equal(t, []string{"gatehouse.admission<http", "gatehouse.commit<http"}, names(tracer.take()))

	t.Run("a command the policy refuses has an admission span in error and no commit", func(t *testing.T) {
		_, _, err := eng.PutUser(ctx, "alice", engine.User{ID: "bob", Email: "bob@acme.example"})
		require.Error(t, err)
		spans := tracer.take()
		require.Equal(t, []string{"gatehouse.admission<http"}, names(spans))
		assert.ErrorIs(t, spans[0].err, err)
	})
}
