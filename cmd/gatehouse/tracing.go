package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/gatehouse/gatehouse/adapters/tracing"
)

// tracingCloseTimeout bounds how long a shutting-down server waits for its
// last spans to reach the collector.
const tracingCloseTimeout = 5 * time.Second

// startTracing starts exporting traces to --otel-endpoint (issue 10, part
// 7), or returns nil when it is not set: then nothing is traced, and no
// exporter or goroutine exists. Call the returned stop when the server has
// drained: it sends the spans not sent yet.
func startTracing(ctx context.Context, cfg *Config, log *slog.Logger) (*tracing.Tracing, func(), error) {
	if cfg.OTelEndpoint == "" {
		return nil, func() {}, nil
	}
	info, _ := debug.ReadBuildInfo()
	tel, err := tracing.New(ctx, tracing.Config{
		Endpoint:       cfg.OTelEndpoint,
		Insecure:       cfg.OTelInsecure,
		ServiceName:    tracing.DefaultServiceName,
		ServiceVersion: newBuildDetails(info).Version,
		Mask:           cfg.DecisionLogMask,
	})
	if err != nil {
		return nil, nil, err
	}
	// The SDK reports spans it could not send only through this
	// process-wide handler.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("traces not sent to --otel-endpoint", "endpoint", cfg.OTelEndpoint, "error", err)
	}))
	log.Info("sending traces", "otel_endpoint", cfg.OTelEndpoint, "insecure", cfg.OTelInsecure)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tracingCloseTimeout)
		defer cancel()
		if err := tel.Close(ctx); err != nil {
			log.Warn("last traces not sent to --otel-endpoint", "endpoint", cfg.OTelEndpoint, "error", err)
		}
	}
	return tel, stop, nil
}
