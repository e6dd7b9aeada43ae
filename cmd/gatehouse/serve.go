package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/adapters/decisionlog"
	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/adapters/policywatch"
	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/storemetrics"
	"github.com/gatehouse/gatehouse/adapters/webhook"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
)

func newServeCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve decisions and the admin API over HTTP",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			setGCDefaults()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serve(ctx, cfg, slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)))
		},
	}
	configFlags(cmd.Flags(), cfg.bindStoreFlags, cfg.bindPolicyDirFlag, cfg.bindDecisionFlags, cfg.bindServeFlags, cfg.bindConsoleFlags)
	return cmd
}

// setGCDefaults sets the garbage collector for decisions, unless the
// environment sets it (GOGC, GOMEMLIMIT win). Each uncached decision
// allocates ~33 KB of short-lived OPA values over a live heap of ~10 MB.
// Measured with make bench-decisions (uniform set, cache off, 2 cores):
// GOGC=100 costs 333-367 CPU µs per decision at 117-122 MB peak RSS, 400
// 242-253 µs at 171-180 MB, 800 224-251 µs at 235-261 MB: 400 keeps most
// of the gain. The memory limit, when the process runs in a cgroup with a
// memory limit, is 90% of it, so that the collector works harder rather
// than the kernel killing the process.
func setGCDefaults() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		if limit, ok := cgroupMemoryLimit(); ok {
			debug.SetMemoryLimit(limit / 10 * 9)
		}
	}
}

// cgroupMemoryLimit reads the memory limit of the process's cgroup (v2:
// /sys/fs/cgroup/memory.max); false when there is none ("max") or it
// cannot be read.
func cgroupMemoryLimit() (int64, bool) {
	raw, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0, false
	}
	limit, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	return limit, err == nil && limit > 0
}

// serve runs gatehouse until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish, and closes the store.
func serve(ctx context.Context, cfg *Config, log *slog.Logger) error {
	verifier, err := newVerifier(ctx, cfg, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_policy_reloads_total",
		Help: "Policy reloads by outcome (success, failure, unchanged).",
	}, []string{"outcome"})
	reg.MustRegister(reloads)
	for _, outcome := range []string{engine.ReloadSuccess, engine.ReloadFailure, engine.ReloadUnchanged} {
		reloads.WithLabelValues(outcome) // exported at zero before the first reload
	}
	engOpts := []engine.Option{
		engine.WithLogger(log),
		engine.WithSystemAdmins(cfg.SystemAdmins...),
		engine.WithDecisionCache(cfg.DecisionCache),
		engine.WithObserver(httpapi.NewMetrics(reg)),
		engine.WithReloadObserver(func(outcome string) { reloads.WithLabelValues(outcome).Inc() }),
	}
	engOpts = append(engOpts, timeouts(cfg)...)
	if len(cfg.DecisionLog) > 0 {
		dlog, err := decisionlog.Open(cfg.DecisionLog, decisionlog.WithMask(cfg.DecisionLogMask...), decisionlog.WithLogger(log))
		if err != nil {
			return err
		}
		defer dlog.Close() // runs after the server has drained: queued lines are flushed
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gatehouse_decision_log_dropped_total",
			Help: "Decision log lines dropped because the log buffer was full.",
		}, func() float64 { return float64(dlog.Dropped()) }))
		engOpts = append(engOpts, engine.WithObserver(dlog))
	}

	tel, stopTracing, err := startTracing(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stopTracing() // runs after the server has drained: the last spans are sent
	if tel != nil {
		engOpts = append(engOpts, engine.WithTracer(tel.Engine()))
	}

	policy, err := loadPolicy(ctx, cfg)
	if err != nil {
		return err
	}
	// Listen before the store is opened: a server that cannot serve (its
	// address is taken) must not leave a new, empty store behind, which
	// offline commands would then read as real (every subject unknown).
	ln, err := listen(cfg.HTTP, cfg.Addr, log)
	if err != nil {
		return err
	}
	defer ln.Close() // a Unix socket's file is removed, even on an early return
	raw, created, err := openStore(cfg, redisstore.WithClientSideCache(cfg.CacheMaxBytes))
	if err != nil {
		return err
	}
	if created {
		log.Info("created a new, empty embedded store", "data_dir", cfg.DataDir)
	}
	exportCache(raw, cfg, reg, log)
	warnMissingReplicas(ctx, raw, cfg, log)
	store := storemetrics.Wrap(raw, reg)
	defer store.Close()
	eng, err := engine.New(store, policy, engOpts...)
	if err != nil {
		return err
	}

	if cfg.PolicyDir != "" {
		reload := func(ctx context.Context, files map[string][]byte, source string) error {
			_, err := eng.Reload(ctx, files, source)
			return err
		}
		if _, err := policywatch.Watch(ctx, cfg.PolicyDir, reload,
			policywatch.WithLogger(log), policywatch.WithReadErrors(eng.ReportReloadFailure)); err != nil {
			return fmt.Errorf("watch --policy-dir: %w", err)
		}
	}
	stopSync := startPolicySync(ctx, cfg, eng, log)
	defer stopSync()

	opts := []httpapi.Option{httpapi.WithRegistry(reg), httpapi.WithLogger(log)}
	if defaultDecision, err := engine.ParseDataPath(cfg.DefaultDecision); err == nil { // checked by Validate
		opts = append(opts, httpapi.WithDefaultDecision(defaultDecision))
	}
	if tel != nil {
		opts = append(opts, httpapi.WithTracing(tel.Provider(), tel.Propagator()))
	}
	if verifier != nil {
		opts = append(opts, httpapi.WithVerifier(verifier))
		if cfg.JWTAudience == "" || cfg.JWTIssuer == "" {
			log.Warn("no --jwt-audience or no --jwt-issuer: tokens the key signed for any audience or issuer are accepted; set both in production")
		}
	} else {
		log.Warn("no --jwt-hs256-secret-file, --jwt-public-key-file, --jwt-jwks-url or --jwt-issuer: every authenticated endpoint answers 401")
	}
	decisionAuth, err := decisionAuthOf(cfg, verifier, log)
	if err != nil {
		return err
	}
	opts = append(opts, httpapi.WithDecisionAuth(decisionAuth))
	tlsConfig, err := serverTLSConfig(cfg.TLS, log, "h2", "http/1.1")
	if err != nil {
		return err
	}
	handler, err := withConsole(ctx, cfg, httpapi.New(eng, opts...), tlsConfig != nil, log)
	if err != nil {
		return err
	}
	srv := newHTTPServer(cfg.HTTP, handler, reg, log)
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	// The gRPC listener takes the same certificates and client CA (h2 only).
	grpcTLS, err := serverTLSConfig(cfg.TLS, log, "h2")
	if err != nil {
		return err
	}
	grpcSrv, err := startGRPC(cfg.GRPCAddr, eng, verifier, grpcTLS, log)
	if err != nil {
		return err
	}
	defer grpcSrv.shutdown(cfg.HTTP.ShutdownTimeout, log) // on every return; again is a no-op
	serving := []any{"addr", ln.Addr().String(), "store", cfg.Store,
		"policy_revision", eng.Policy().Revision, "policy_source", eng.Policy().Source,
		"max_connections", cfg.HTTP.MaxConnections, "tls", tlsConfig != nil,
		"client_certificates", cfg.TLS.ClientCAFile != "", "decision_auth", decisionAuth}
	if grpcSrv != nil {
		serving = append(serving, "grpc_addr", grpcSrv.addr())
	}
	log.Info("gatehouse serving", serving...)

	go sweepExpiries(ctx, eng, cfg.ExpirySweep, log)
	startRelay(ctx, raw, log)
	if len(cfg.WebhookURLs) > 0 {
		secret, err := readSecret(cfg.WebhookSecretFile)
		if err != nil {
			return err
		}
		deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gatehouse_webhook_deliveries_total",
			Help: "Webhook delivery attempts by outcome (ok, failed).",
		}, []string{"outcome"})
		reg.MustRegister(deliveries)
		deliveries.WithLabelValues("ok")
		deliveries.WithLabelValues("failed")
		observe := func(_ string, ok bool) {
			deliveries.WithLabelValues(map[bool]string{true: "ok", false: "failed"}[ok]).Inc()
		}
		go webhook.New(store, cfg.WebhookURLs, secret, webhook.WithObserver(observe), webhook.WithLogger(log)).Run(ctx)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case err := <-grpcSrv.failed():
		shutdown(srv, cfg.HTTP.ShutdownTimeout, log)
		return fmt.Errorf("--grpc-addr: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	grpcDone := make(chan struct{})
	go func() {
		defer close(grpcDone)
		grpcSrv.shutdown(cfg.HTTP.ShutdownTimeout, log)
	}()
	shutdown(srv, cfg.HTTP.ShutdownTimeout, log)
	<-grpcDone
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// shutdown stops accepting and lets in-flight requests finish for at most
// grace (--http-shutdown-timeout); connections still open then, such as a
// client trickling its body, are closed, so a shutdown never waits on a
// slow client.
func shutdown(srv *http.Server, grace time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("requests still in flight after --http-shutdown-timeout: closing their connections",
			"grace", grace, "error", err)
		if err := srv.Close(); err != nil {
			log.Warn("closing connections", "error", err)
		}
	}
}

// sweepExpiries records and announces expired access (R38, R42) until ctx
// ends. Decisions never wait for it: they judge expiry themselves (R7).
func sweepExpiries(ctx context.Context, eng *engine.Engine, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := eng.ExpireDue(ctx); err != nil && ctx.Err() == nil {
				log.Warn("expiry sweep failed", "error", err)
			} else if n > 0 {
				log.Info("expired access recorded", "count", n)
			}
		}
	}
}

// newVerifier returns the JWT verifier the configuration names, or nil.
// It checks the audience and issuer when they are configured and reads
// the actor from --jwt-subject-claim (R43). An identity provider's key set
// (--jwt-jwks-url, or the jwks_uri of --jwt-issuer's OpenID configuration)
// is kept fresh until ctx ends.
func newVerifier(ctx context.Context, cfg *Config, log *slog.Logger) (httpapi.Verifier, error) {
	opts := []httpapi.VerifierOption{
		httpapi.WithAudience(cfg.JWTAudience), httpapi.WithIssuer(cfg.JWTIssuer), httpapi.WithLeeway(cfg.JWTLeeway),
		httpapi.WithSubjectClaim(cfg.JWTSubjectClaim),
	}
	switch {
	case cfg.JWTSecretFile != "":
		secret, err := readSecret(cfg.JWTSecretFile)
		if err != nil {
			return nil, err
		}
		v, err := httpapi.NewHS256Verifier(secret, opts...)
		if err != nil {
			return nil, err
		}
		return v, nil
	case cfg.JWTPublicKeyFile != "":
		pem, err := os.ReadFile(cfg.JWTPublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("read --jwt-public-key-file: %w", err)
		}
		v, err := httpapi.NewPublicKeyVerifier(pem, opts...)
		if err != nil {
			return nil, fmt.Errorf("--jwt-public-key-file: %w", err)
		}
		return v, nil
	case cfg.JWTJWKSURL != "" || cfg.discoversKeys():
		return newKeySetVerifier(ctx, cfg, log, opts)
	default:
		return nil, nil
	}
}

// newKeySetVerifier returns a verifier of the identity provider's key set:
// --jwt-jwks-url, or the jwks_uri that OpenID Connect discovery at
// --jwt-issuer finds (whose issuer must be exactly --jwt-issuer). URLs
// are logged redacted.
func newKeySetVerifier(ctx context.Context, cfg *Config, log *slog.Logger, opts []httpapi.VerifierOption) (httpapi.Verifier, error) {
	ksOpts := []httpapi.KeySetOption{
		httpapi.WithKeySetRefreshInterval(cfg.JWTJWKSRefresh),
		httpapi.WithKeySetMinRefreshInterval(cfg.JWTJWKSMinRefresh),
		httpapi.WithKeySetLifetime(cfg.JWTJWKSLifetime),
		httpapi.WithKeySetLogger(log),
	}
	jwksURL, flag := cfg.JWTJWKSURL, "--jwt-jwks-url"
	if jwksURL == "" {
		discovered, err := httpapi.DiscoverKeySetURL(ctx, cfg.JWTIssuer, ksOpts...)
		if err != nil {
			return nil, fmt.Errorf("--jwt-issuer: OpenID Connect discovery (no --jwt-jwks-url, key file or secret is given): %w", err)
		}
		log.Info("found the identity provider's keys by OpenID Connect discovery", "issuer", cfg.JWTIssuer, "jwks", redactURL(discovered))
		jwksURL, flag = discovered, "the jwks_uri --jwt-issuer's OpenID configuration names"
	}
	ks, err := httpapi.NewKeySet(ctx, jwksURL, ksOpts...)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, redactURL(jwksURL), err)
	}
	v, err := httpapi.NewKeySetVerifier(ks, opts...)
	if err != nil {
		ks.Close()
		return nil, err
	}
	log.Info("verifying API tokens with the identity provider's keys", "jwks", redactURL(jwksURL),
		"refresh_interval", cfg.JWTJWKSRefresh, "cache_lifetime", cfg.JWTJWKSLifetime, "subject_claim", cfg.JWTSubjectClaim)
	return v, nil
}
