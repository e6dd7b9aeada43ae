package httpapi

import (
	"net"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentationName names the tracer of the HTTP API's spans.
const InstrumentationName = "github.com/gatehouse/gatehouse/adapters/httpapi"

// requestTracing starts a server span per request.
type requestTracing struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

// WithTracing traces every request (issue 10, part 7): a server span named
// "METHOD /route" with OpenTelemetry's HTTP attributes (method, route, path,
// status; no header, query or body), the child of the caller's span when the
// request carries one in headers propagator reads (W3C traceparent and
// tracestate). The engine's spans join it through the request's context.
// Without this option no span is started and nothing is read.
func WithTracing(tp trace.TracerProvider, propagator propagation.TextMapPropagator) Option {
	return func(s *Server) {
		s.tracing = &requestTracing{tracer: tp.Tracer(InstrumentationName), propagator: propagator}
	}
}

// traceRequests is the middleware of WithTracing; it runs first, so that
// its span covers every other middleware and sees the final status.
func (s *Server) traceRequests(c *gin.Context) {
	r := c.Request
	ctx := s.tracing.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	route := c.FullPath()
	name := r.Method
	if route != "" {
		name += " " + route
	}
	attrs := []attribute.KeyValue{
		requestMethod(r.Method),
		semconv.URLPath(r.URL.Path),
		semconv.URLScheme(map[bool]string{true: "https", false: "http"}[r.TLS != nil]),
		semconv.NetworkProtocolVersion(strconv.Itoa(r.ProtoMajor) + "." + strconv.Itoa(r.ProtoMinor)),
	}
	if route != "" {
		attrs = append(attrs, semconv.HTTPRoute(route))
	}
	if host, port, err := net.SplitHostPort(r.Host); err == nil {
		attrs = append(attrs, semconv.ServerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(p))
		}
	} else if r.Host != "" {
		attrs = append(attrs, semconv.ServerAddress(r.Host))
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		attrs = append(attrs, semconv.ClientAddress(host))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	ctx, span := s.tracing.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	defer span.End()
	c.Request = r.WithContext(ctx)
	c.Next()
	status := c.Writer.Status()
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	if status >= http.StatusInternalServerError {
		// A 4xx is the caller's error, not the server's (semconv).
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		span.SetStatus(codes.Error, "")
	}
}

// requestMethod is the http.request.method attribute: the method, or
// _OTHER for one HTTP does not define, so that a caller cannot fill spans
// with made-up methods.
func requestMethod(method string) attribute.KeyValue {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return semconv.HTTPRequestMethodKey.String(method)
	}
	return semconv.HTTPRequestMethodOther
}
