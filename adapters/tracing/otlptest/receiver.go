// Package otlptest runs an OTLP/gRPC trace receiver in the test process:
// a real gRPC server implementing the collector's TraceService, on a free
// loopback port, that keeps every span it is sent (issue 10, part 7).
package otlptest

import (
	"context"
	"encoding/hex"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// Span is one span as the receiver got it; ids are lowercase hex, the
// parent's empty for a root span.
type Span struct {
	Service      string // the resource's service.name
	Scope        string // the instrumentation scope's name
	TraceID      string
	SpanID       string
	ParentSpanID string
	TraceState   string
	Name         string
	Kind         tracepb.Span_SpanKind
	Attributes   map[string]any // string, bool, int64 or float64 values
	StatusCode   tracepb.Status_StatusCode
	StatusText   string
}

// Receiver is an OTLP/gRPC trace receiver. It is safe for concurrent use.
type Receiver struct {
	collectortrace.UnimplementedTraceServiceServer
	addr string

	mu      sync.Mutex
	spans   []Span
	exports int
}

// Start starts a receiver on a free loopback port; it stops when tb ends.
func Start(tb testing.TB) *Receiver {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	r := &Receiver{addr: ln.Addr().String()}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, r)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	tb.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return r
}

// Addr is the receiver's HOST:PORT, for --otel-endpoint (plaintext: with
// --otel-insecure).
func (r *Receiver) Addr() string { return r.addr }

// Export keeps the spans of one export request.
func (r *Receiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	var got []Span
	for _, rs := range req.GetResourceSpans() {
		service, _ := attributes(rs.GetResource().GetAttributes())["service.name"].(string)
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				got = append(got, Span{
					Service:      service,
					Scope:        ss.GetScope().GetName(),
					TraceID:      hex.EncodeToString(s.GetTraceId()),
					SpanID:       hex.EncodeToString(s.GetSpanId()),
					ParentSpanID: hex.EncodeToString(s.GetParentSpanId()),
					TraceState:   s.GetTraceState(),
					Name:         s.GetName(),
					Kind:         s.GetKind(),
					Attributes:   attributes(s.GetAttributes()),
					StatusCode:   s.GetStatus().GetCode(),
					StatusText:   s.GetStatus().GetMessage(),
				})
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans = append(r.spans, got...)
	r.exports++
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// Spans returns the spans received so far, in the order they came.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Exports is how many export requests the receiver answered.
func (r *Receiver) Exports() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.exports
}

// WaitLimit is how long WaitFor waits: generous, since exporters batch.
const WaitLimit = 30 * time.Second

// WaitFor waits until match finds what it needs among the spans received
// (at most WaitLimit; the test fails then) and returns what match
// returned, logging how long it waited.
func WaitFor[T any](tb testing.TB, r *Receiver, what string, match func([]Span) (T, bool)) T {
	tb.Helper()
	start := time.Now()
	var found T
	require.Eventually(tb, func() bool {
		var ok bool
		found, ok = match(r.Spans())
		return ok
	}, WaitLimit, 20*time.Millisecond, "no %s among the spans received: %v", what, r.Spans())
	tb.Logf("%s received after %s", what, time.Since(start).Round(time.Millisecond))
	return found
}

// Trace returns the spans of one trace, by name; the bool is false while a
// span of names is missing from it.
func Trace(spans []Span, traceID string, names ...string) (map[string]Span, bool) {
	byName := map[string]Span{}
	for _, s := range spans {
		if s.TraceID == traceID {
			byName[s.Name] = s
		}
	}
	for _, n := range names {
		if _, ok := byName[n]; !ok {
			return byName, false
		}
	}
	return byName, true
}

func attributes(kvs []*commonpb.KeyValue) map[string]any {
	out := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		switch v := kv.GetValue().GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			out[kv.GetKey()] = v.StringValue
		case *commonpb.AnyValue_BoolValue:
			out[kv.GetKey()] = v.BoolValue
		case *commonpb.AnyValue_IntValue:
			out[kv.GetKey()] = v.IntValue
		case *commonpb.AnyValue_DoubleValue:
			out[kv.GetKey()] = v.DoubleValue
		default:
			out[kv.GetKey()] = kv.GetValue().String()
		}
	}
	return out
}
