package tracing

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/engine"
)

// DefaultServiceName is the service.name of gatehouse's spans unless
// Config.ServiceName says otherwise.
const DefaultServiceName = "gatehouse"

// InstrumentationName names the tracer of the engine's spans.
const InstrumentationName = "github.com/gatehouse/gatehouse/engine"

// Config says where spans go and what they carry.
type Config struct {
	// Endpoint is the collector's OTLP/gRPC address, HOST:PORT (its port
	// is 4317 by convention). Required.
	Endpoint string
	// Insecure sends spans in plaintext, for a collector on loopback or in
	// the same pod; otherwise the connection is TLS, verified against the
	// system's roots.
	Insecure bool
	// ServiceName is the resource's service.name; DefaultServiceName when
	// empty. ServiceVersion is its service.version, omitted when empty.
	ServiceName    string
	ServiceVersion string
	// BatchTimeout is the longest a finished span waits before it is sent.
	// Zero keeps the SDK's default (5s, or OTEL_BSP_SCHEDULE_DELAY in ms).
	BatchTimeout time.Duration
	// Mask names decision fields kept out of spans, as --decision-log-mask
	// does for decision logs: "subject", "action", "resource",
	// "resource.account", "resource.virtual_account". With any mask,
	// spans in error carry no error text either (only their status and,
	// for a decision, its error kind).
	Mask []string
}

// Tracing is an OTLP trace pipeline: a TracerProvider that batches spans
// and sends them to the collector. Close it to send what is left.
type Tracing struct {
	provider *sdktrace.TracerProvider
	engine   *engineTracer
}

// New starts exporting spans to cfg.Endpoint. It does not wait for the
// collector: spans that cannot be sent are retried, then dropped, and the
// SDK reports it through otel's error handler. Errors: a malformed
// endpoint, or an exporter the SDK cannot build.
func New(ctx context.Context, cfg Config) (*Tracing, error) {
	if err := CheckEndpoint(cfg.Endpoint); err != nil {
		return nil, err
	}
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(cfg.Endpoint)}
	if cfg.Insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	exporter, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(name)}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, semconv.ServiceVersion(cfg.ServiceVersion))
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL, attrs...))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("trace resource: %w", err), exporter.Shutdown(ctx))
	}
	var batch []sdktrace.BatchSpanProcessorOption
	if cfg.BatchTimeout > 0 {
		batch = append(batch, sdktrace.WithBatchTimeout(cfg.BatchTimeout))
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter, batch...), sdktrace.WithResource(res))
	return &Tracing{provider: provider, engine: newEngineTracer(provider.Tracer(InstrumentationName), cfg.Mask)}, nil
}

// CheckEndpoint reports whether endpoint is a collector's HOST:PORT (no
// scheme, no path, a port from 1 to 65535); the error quotes it.
func CheckEndpoint(endpoint string) error {
	host, port, err := net.SplitHostPort(endpoint)
	if err == nil && host == "" {
		err = errors.New("missing host")
	}
	if n, perr := strconv.Atoi(port); err == nil && (perr != nil || n < 1 || n > 65535) {
		err = fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	if err != nil {
		return fmt.Errorf("the OTLP endpoint %q is not HOST:PORT: %w", endpoint, err)
	}
	return nil
}

// Provider returns the TracerProvider, for the HTTP API's spans.
func (t *Tracing) Provider() trace.TracerProvider { return t.provider }

// Propagator returns the W3C trace-context propagator (traceparent and
// tracestate headers) through which a caller's trace continues.
func (t *Tracing) Propagator() propagation.TextMapPropagator { return propagation.TraceContext{} }

// Engine returns the engine.Tracer whose spans join the trace of the
// context they start in.
func (t *Tracing) Engine() engine.Tracer { return t.engine }

// Close sends the spans not sent yet and stops the exporter, waiting at
// most until ctx ends.
func (t *Tracing) Close(ctx context.Context) error { return t.provider.Shutdown(ctx) }

// engineTracer adapts an OpenTelemetry Tracer to engine.Tracer.
type engineTracer struct {
	tracer trace.Tracer
	// masked are the attribute keys kept out of spans.
	masked map[string]bool
}

var _ engine.Tracer = (*engineTracer)(nil)

// maskable are the decision attributes a mask may drop, by their field in
// a decision log line.
var maskable = map[string]string{
	"subject":                  engine.AttrSubject,
	"action":                   engine.AttrAction,
	"resource.account":         engine.AttrAccount,
	"resource.virtual_account": engine.AttrVirtualAccount,
}

func newEngineTracer(tracer trace.Tracer, mask []string) *engineTracer {
	t := &engineTracer{tracer: tracer}
	for _, m := range mask {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		if t.masked == nil {
			t.masked = map[string]bool{}
		}
		for field, key := range maskable {
			if field == m || strings.HasPrefix(field, m+".") {
				t.masked[key] = true
			}
		}
	}
	return t
}

// Start starts a span of the engine, a child of ctx's span.
func (t *engineTracer) Start(ctx context.Context, name string, attrs ...engine.TraceAttribute) (context.Context, engine.EndSpan) {
	ctx, span := t.tracer.Start(ctx, name, trace.WithAttributes(t.convert(attrs)...))
	return ctx, func(err error, attrs ...engine.TraceAttribute) {
		if len(attrs) > 0 {
			span.SetAttributes(t.convert(attrs)...)
		}
		if err != nil {
			description := err.Error()
			if t.masked != nil {
				description = ""
			}
			span.SetStatus(codes.Error, description)
		}
		span.End()
	}
}

// convert turns the engine's attributes into OpenTelemetry's, leaving out
// the masked ones.
func (t *engineTracer) convert(attrs []engine.TraceAttribute) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(attrs))
	for _, a := range attrs {
		if t.masked[a.Key] {
			continue
		}
		switch v := a.Value.(type) {
		case string:
			out = append(out, attribute.String(a.Key, v))
		case bool:
			out = append(out, attribute.Bool(a.Key, v))
		default:
			out = append(out, attribute.String(a.Key, fmt.Sprint(v)))
		}
	}
	return out
}
