package tracing_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/gatehouse/gatehouse/adapters/tracing"
	"github.com/gatehouse/gatehouse/adapters/tracing/otlptest"
	"github.com/gatehouse/gatehouse/engine"
)

// Issue 10, part 7: the engine's spans reach an OTLP/gRPC receiver, with
// their attributes, parents and errors. The whole server is traced in
// cmd/gatehouse's tests.

func newTracing(t *testing.T, cfg tracing.Config) *tracing.Tracing {
	t.Helper()
	tel, err := tracing.New(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tel.Close(context.Background()) })
	return tel
}

func TestEngineSpansReachTheCollector(t *testing.T) {
	receiver := otlptest.Start(t)
	tel := newTracing(t, tracing.Config{
		Endpoint: receiver.Addr(), Insecure: true, ServiceVersion: "v9.9.9", BatchTimeout: 50 * time.Millisecond,
	})
	tr := tel.Engine()

	ctx, endDecide := tr.Start(t.Context(), engine.SpanDecide,
		engine.TraceAttribute{Key: engine.AttrSubject, Value: "alice"}, engine.TraceAttribute{Key: engine.AttrAction, Value: "view"})
	_, endSnapshot := tr.Start(ctx, engine.SpanSnapshot)
	endSnapshot(errors.New("store unreachable"))
	endDecide(errors.New("the decision failed closed: store_unavailable"),
		engine.TraceAttribute{Key: engine.AttrAllow, Value: false}, engine.TraceAttribute{Key: engine.AttrDecisionError, Value: "store_unavailable"})

	spans := otlptest.WaitFor(t, receiver, "the decide and snapshot spans, sent on the batch interval", func(spans []otlptest.Span) (map[string]otlptest.Span, bool) {
		if len(spans) == 0 {
			return nil, false
		}
		return otlptest.Trace(spans, spans[0].TraceID, engine.SpanDecide, engine.SpanSnapshot)
	})
	decide, snapshot := spans[engine.SpanDecide], spans[engine.SpanSnapshot]
	assert.Equal(t, decide.SpanID, snapshot.ParentSpanID)
	assert.Empty(t, decide.ParentSpanID)
	assert.Equal(t, "gatehouse", decide.Service)
	assert.Equal(t, tracing.InstrumentationName, decide.Scope)
	assert.Equal(t, map[string]any{
		engine.AttrSubject: "alice", engine.AttrAction: "view", engine.AttrAllow: false, engine.AttrDecisionError: "store_unavailable",
	}, decide.Attributes)
	assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, decide.StatusCode)
	assert.Equal(t, "the decision failed closed: store_unavailable", decide.StatusText)
	assert.Equal(t, "store unreachable", snapshot.StatusText)
	assert.Equal(t, tracepb.Span_SPAN_KIND_INTERNAL, snapshot.Kind)
}

func TestMaskKeepsDecisionFieldsOutOfSpans(t *testing.T) {
	receiver := otlptest.Start(t)
	tel := newTracing(t, tracing.Config{
		Endpoint: receiver.Addr(), Insecure: true, BatchTimeout: 50 * time.Millisecond,
		Mask: []string{" subject", "resource.account", "context"},
	})
	_, end := tel.Engine().Start(t.Context(), engine.SpanDecide,
		engine.TraceAttribute{Key: engine.AttrSubject, Value: "alice"},
		engine.TraceAttribute{Key: engine.AttrAction, Value: "view"},
		engine.TraceAttribute{Key: engine.AttrAccount, Value: "acme"},
		engine.TraceAttribute{Key: engine.AttrVirtualAccount, Value: "emea"})
	end(errors.New("alice may not: acme is unavailable"))

	decide := otlptest.WaitFor(t, receiver, "the decide span", func(spans []otlptest.Span) (otlptest.Span, bool) {
		for _, s := range spans {
			if s.Name == engine.SpanDecide {
				return s, true
			}
		}
		return otlptest.Span{}, false
	})
	assert.Equal(t, map[string]any{engine.AttrAction: "view", engine.AttrVirtualAccount: "emea"}, decide.Attributes)
	assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, decide.StatusCode)
	assert.Empty(t, decide.StatusText, "with a mask, an error's text (which may name masked values) stays out")
}

func TestCloseSendsWhatIsLeft(t *testing.T) {
	receiver := otlptest.Start(t)
	tel, err := tracing.New(t.Context(), tracing.Config{Endpoint: receiver.Addr(), Insecure: true, BatchTimeout: time.Hour})
	require.NoError(t, err)
	_, end := tel.Engine().Start(t.Context(), engine.SpanCommit)
	end(nil)
	require.NoError(t, tel.Close(t.Context()))
	spans := receiver.Spans()
	require.Len(t, spans, 1, "Close sends the batch at once, not after the hour")
	assert.Equal(t, engine.SpanCommit, spans[0].Name)
	assert.Equal(t, tracepb.Status_STATUS_CODE_UNSET, spans[0].StatusCode)
}

func TestCollectorDownDoesNotHoldTheServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := ln.Addr().String()
	require.NoError(t, ln.Close())

	tel, err := tracing.New(t.Context(), tracing.Config{Endpoint: down, Insecure: true})
	require.NoError(t, err, "New does not wait for the collector")
	_, end := tel.Engine().Start(t.Context(), engine.SpanCommit)
	end(nil)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err = tel.Close(ctx)
	t.Logf("Close with the collector down returned after %s: %v", time.Since(start).Round(time.Millisecond), err)
	assert.Error(t, err, "the span could not be sent")
}

func TestNewRefusesAMalformedEndpoint(t *testing.T) {
	for _, endpoint := range []string{"", "collector", "http://collector:4317", "collector:4317/v1/traces"} {
		_, err := tracing.New(t.Context(), tracing.Config{Endpoint: endpoint})
		assert.ErrorContains(t, err, "HOST:PORT", endpoint)
	}
}
