// Package tracing exports gatehouse's traces to an OpenTelemetry collector
// over OTLP/gRPC (issue 10, part 7).
//
// New builds a TracerProvider whose spans are batched and sent to the
// collector at Config.Endpoint, a W3C trace-context propagator (traceparent,
// tracestate) for the HTTP API, and an engine.Tracer through which the
// engine's spans (decide, snapshot, eval; admission, commit) join the
// request's trace. cmd/gatehouse calls New only when --otel-endpoint is
// set: without it no provider, exporter or goroutine exists.
//
// Spans carry no secret: no token, header or request body. A decision's
// span names its subject, action and resource; Config.Mask drops those the
// decision log masks (--decision-log-mask).
package tracing
