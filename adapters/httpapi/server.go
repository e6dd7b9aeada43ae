package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/engine"
)

// DefaultMaxBodyBytes is the largest request body accepted unless
// WithMaxBodyBytes says otherwise (API.md: 1 MiB).
const DefaultMaxBodyBytes = 1 << 20

// Server is gatehouse's HTTP API. It is an http.Handler, safe for
// concurrent use.
type Server struct {
	eng      *engine.Engine
	router   *gin.Engine
	verifier Verifier
	registry *prometheus.Registry
	metrics  *Metrics
	log      *slog.Logger
	maxBody  int64
	buffers  bufferPool
	paths    []string // the routes' path patterns, for the 404 hint
	// defaultDecision is the document POST / answers (OPA's default decision).
	defaultDecision engine.DataPath

	// decisionAuth authenticates the decision endpoints' callers (callers.go).
	decisionAuth DecisionAuth
	// tracing starts a span per request (tracing.go); nil: none.
	tracing *requestTracing
}

var _ http.Handler = (*Server)(nil)

// Option configures a Server.
type Option func(*Server)

// WithVerifier sets the verifier of the JWTs that authenticate every
// non-decision /v1 endpoint (R43). Without one, those endpoints answer 401.
func WithVerifier(v Verifier) Option { return func(s *Server) { s.verifier = v } }

// WithRegistry sets the registry served at GET /metrics and where the HTTP
// metrics are registered. Pass the registry given to NewMetrics for the
// engine's observer: the decision metrics then appear at /metrics too.
// Without it the server uses a registry of its own.
func WithRegistry(r *prometheus.Registry) Option { return func(s *Server) { s.registry = r } }

// WithLogger sets the logger of errors that do not reach the caller
// (unknown errors behind a 500, recovered panics).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithMaxBodyBytes sets the largest request body accepted; a larger one is
// a 413. The default is DefaultMaxBodyBytes.
func WithMaxBodyBytes(n int64) Option { return func(s *Server) { s.maxBody = n } }

// New returns the HTTP API over eng.
func New(eng *engine.Engine, opts ...Option) *Server {
	s := &Server{eng: eng, log: slog.Default(), maxBody: DefaultMaxBodyBytes}
	for _, opt := range opts {
		opt(s)
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	s.metrics = NewMetrics(s.registry)
	s.router = s.routes()
	return s
}

// ServeHTTP serves one request. HEAD is answered wherever GET is, with the
// GET's status and headers and no body.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		s.serveHead(w, r)
		return
	}
	s.router.ServeHTTP(w, r)
}

func (s *Server) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// Every answer is JSON in the contract's shape: no redirect (a trailing
	// slash or a miscased path is a 404 naming the right path), and a wrong
	// method is a 405 with an Allow header.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	if s.tracing != nil {
		r.Use(s.traceRequests)
	}
	r.Use(s.countRequests, s.recoverPanics)
	r.NoRoute(s.noRoute)
	r.NoMethod(s.noMethod)

	r.GET("/health", s.health)
	r.GET("/ready", s.ready)
	r.GET("/metrics", s.serveMetrics())
	r.GET("/v1/openapi.yaml", s.openAPI)

	// Decisions: the application names the subject; it is itself
	// authenticated as WithDecisionAuth says (none by default).
	r.POST("/v1/decisions", s.decisionCaller, s.decide)
	r.POST("/v1/decisions/batch", s.decisionCaller, s.decideBatch)
	// OPA's Data API: entry points only (data.go), read with POST or GET.
	r.POST("/v1/data/*path", s.dataCaller, s.queryData)
	r.GET("/v1/data/*path", s.dataCaller, s.queryData)
	r.POST("/v1/data", s.dataCaller, s.queryDataRoot)
	r.GET("/v1/data", s.dataCaller, s.queryDataRoot)
	// OPA's default decision and Enterprise OPA's batch Data API, called by
	// OPA's SDKs (opa_default.go, opa_batch.go).
	r.POST("/", s.dataCaller, s.queryDefault)
	r.POST("/v1/batch/data/*path", s.dataCaller, s.queryBatch)
	r.POST("/v1/batch/data", s.dataCaller, s.queryBatchRoot)
	for _, method := range []string{http.MethodPut, http.MethodPatch, http.MethodDelete} {
		r.Handle(method, "/v1/data", s.writeData)
		r.Handle(method, "/v1/data/*path", s.writeData)
	}

	v1 := r.Group("/v1", s.authenticate, s.collectWrites, s.idempotent)
	v1.PUT("/users/:id", s.putUser)
	v1.GET("/users/:id", s.getUser)
	v1.PUT("/accounts/:id", s.putAccount)
	v1.GET("/accounts/:id", s.getAccount)

	v1.GET("/accounts/:id/members", s.listMembers)
	v1.PUT("/accounts/:id/members/:user", s.putMember)
	v1.PATCH("/accounts/:id/members/:user", s.patchMember)
	v1.GET("/accounts/:id/members/:user", s.getMember)
	v1.DELETE("/accounts/:id/members/:user", s.removeMember)

	v1.POST("/accounts/:id/access-requests", s.requestAccess)
	v1.POST("/tenant-access-requests", s.requestTenantAccess)
	v1.GET("/access-requests", s.listRequests)
	v1.GET("/me/access-requests", s.listMyRequests)
	v1.GET("/access-requests/:id", s.getRequest)
	v1.PATCH("/access-requests/:id", s.setRequestExpiry)
	v1.POST("/access-requests/:id/approve", s.approve)
	v1.POST("/access-requests/:id/deny", s.deny)
	v1.POST("/access-requests/:id/revoke", s.revoke)

	v1.GET("/audit", s.listAudit)
	v1.GET("/events", s.listEvents)
	s.routePolicies(v1)
	s.paths = routePaths(r)
	return r
}
