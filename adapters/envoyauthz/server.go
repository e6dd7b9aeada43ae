package envoyauthz

import (
	"context"
	"log/slog"
	"strings"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehouse/gatehouse/engine"
)

// Engine is what the Server needs of the engine: it is *engine.Engine.
type Engine interface {
	// DecideHTTP maps an HTTP request to a question and decides it,
	// failing closed (engine.Engine.DecideHTTP).
	DecideHTTP(ctx context.Context, req engine.HTTPRequest) (engine.DecisionRequest, engine.Decision)
	// Ready reports why the engine cannot serve, or nil.
	Ready(ctx context.Context) error
}

var _ Engine = (*engine.Engine)(nil)

// Verifier checks a bearer token and returns its subject (R43). The HTTP
// API's verifier is one.
type Verifier interface {
	Verify(token string) (subject string, err error)
}

// ServiceName is the gRPC service the Server implements, also the name its
// health is reported under.
const ServiceName = "envoy.service.auth.v3.Authorization"

// DefaultHealthInterval is how often the health of the engine is checked
// for the health service's watchers unless WithHealthInterval says
// otherwise. A health Check always checks it at once.
const DefaultHealthInterval = 2 * time.Second

// Server answers Envoy's Check calls and the gRPC health checks. Create it
// with New, register it on a grpc.Server with Register, run WatchHealth and
// call Shutdown before stopping the grpc.Server. It is safe for concurrent
// use.
type Server struct {
	authv3.UnimplementedAuthorizationServer

	eng      Engine
	verifier Verifier
	log      *slog.Logger
	interval time.Duration
	health   *health.Server
}

// Option configures a Server.
type Option func(*Server)

// WithVerifier sets the verifier of bearer tokens. Without one, a request
// carrying a bearer token is denied with 401: its subject cannot be known.
func WithVerifier(v Verifier) Option { return func(s *Server) { s.verifier = v } }

// WithLogger sets the logger (health changes, requests refused before a
// decision).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithHealthInterval sets how often WatchHealth checks the engine; zero or
// less keeps DefaultHealthInterval.
func WithHealthInterval(d time.Duration) Option {
	return func(s *Server) {
		if d > 0 {
			s.interval = d
		}
	}
}

// New returns a Server asking eng. Its health is NOT_SERVING until the
// first check of the engine (a health Check or WatchHealth).
func New(eng Engine, opts ...Option) *Server {
	s := &Server{eng: eng, log: slog.Default(), interval: DefaultHealthInterval, health: health.NewServer()}
	for _, opt := range opts {
		opt(s)
	}
	s.setHealth(healthpb.HealthCheckResponse_NOT_SERVING)
	return s
}

// Register registers the authorization service and the health service on g.
func (s *Server) Register(g *grpc.Server) {
	authv3.RegisterAuthorizationServer(g, s)
	healthpb.RegisterHealthServer(g, liveHealth{Server: s.health, s: s})
}

// Check answers one CheckRequest of Envoy: an OkHttpResponse when the
// policy allows the request, a DeniedHttpResponse otherwise (see the
// package documentation). It never returns an error: a failure is a deny.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	attrs := req.GetAttributes().GetRequest().GetHttp()
	if attrs == nil {
		return refused(statusBadRequest, "denied: the CheckRequest carries no HTTP request (attributes.request.http)"), nil
	}
	hr, authorization, err := httpRequest(attrs)
	if err != nil {
		s.log.Debug("envoy check refused", "error", err)
		return refused(statusBadRequest, "denied: "+err.Error()), nil
	}
	token, hasToken, err := bearerToken(authorization)
	if err != nil {
		return unauthenticated("denied: " + err.Error()), nil
	}
	if hasToken {
		if s.verifier == nil {
			return unauthenticated("denied: the request carries a bearer token and this gatehouse verifies none"), nil
		}
		sub, err := s.verifier.Verify(token)
		if err != nil {
			s.log.Debug("envoy check: invalid bearer token", "error", err)
			return unauthenticated("denied: the bearer token is not valid: " + err.Error()), nil
		}
		hr.Subject = sub
	}
	_, d := s.eng.DecideHTTP(ctx, hr)
	return decided(d), nil
}

// WatchHealth checks the engine every interval (WithHealthInterval) and
// reports its health to the health service's watchers, until ctx ends.
func (s *Server) WatchHealth(ctx context.Context) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.refreshHealth(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Shutdown reports NOT_SERVING for good, so that Envoy stops sending
// requests before the gRPC server stops.
func (s *Server) Shutdown() { s.health.Shutdown() }

// refreshHealth checks the engine and sets the health it reports.
func (s *Server) refreshHealth(ctx context.Context) {
	status := healthpb.HealthCheckResponse_SERVING
	if err := s.eng.Ready(ctx); err != nil {
		if ctx.Err() != nil {
			return // the caller went away: that says nothing of the engine
		}
		status = healthpb.HealthCheckResponse_NOT_SERVING
		s.log.Debug("envoy authorization not ready", "error", err)
	}
	s.setHealth(status)
}

func (s *Server) setHealth(status healthpb.HealthCheckResponse_ServingStatus) {
	s.health.SetServingStatus("", status)
	s.health.SetServingStatus(ServiceName, status)
}

// liveHealth is the health service, whose Check first checks the engine, so
// that its answer is never older than the call.
type liveHealth struct {
	*health.Server
	s *Server
}

// Check checks the engine, then answers as the health service does.
func (h liveHealth) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	h.s.refreshHealth(ctx)
	return h.Server.Check(ctx, req)
}

// bearerToken returns the bearer token of the values of the request's
// authorization header; ok is false when it has none (or another scheme).
// Two authorization headers, or an empty bearer token, are an error.
func bearerToken(values []string) (token string, ok bool, err error) {
	switch {
	case len(values) == 0:
		return "", false, nil
	case len(values) > 1:
		return "", false, errTwoAuthorizations
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !strings.EqualFold(scheme, "bearer") {
		return "", false, nil
	}
	if token = strings.TrimSpace(token); token == "" {
		return "", false, errEmptyBearer
	}
	return token, true, nil
}
