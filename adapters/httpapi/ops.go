package httpapi

import (
	_ "embed"
	"errors"
	"net/http"
	"runtime/debug"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/engine"
)

//go:embed openapi.yaml
var openAPISpec []byte

// health answers GET /health: the process runs.
func (s *Server) health(c *gin.Context) {
	s.renderOK(c, statusResponse{Status: "ok"})
}

// ready answers GET /ready: 200 when a policy is loaded and the store
// answers, else 503 with the reason.
func (s *Server) ready(c *gin.Context) {
	if err := s.eng.Ready(c.Request.Context()); err != nil {
		s.log.WarnContext(c.Request.Context(), "not ready", "error", err)
		reason := err.Error()
		if errors.Is(err, engine.ErrUnavailable) {
			reason = "the store is unavailable (the log says why)" // its address and wording stay in the log
		}
		s.render(c, http.StatusServiceUnavailable, errorBody{Error: apiError{
			Code:    codeUnavailable,
			Message: "not ready: " + reason,
		}})
		return
	}
	s.renderOK(c, statusResponse{Status: "ready", PolicyRevision: s.eng.Policy().Revision})
}

// statusResponse answers /health and /ready.
type statusResponse struct {
	Status         string `json:"status"`
	PolicyRevision string `json:"policy_revision,omitempty"`
}

// serveMetrics answers GET /metrics in the Prometheus text format.
func (s *Server) serveMetrics() gin.HandlerFunc {
	h := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry})
	return gin.WrapH(h)
}

// openAPI answers GET /v1/openapi.yaml with the description of this API.
func (s *Server) openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/yaml; charset=utf-8", openAPISpec)
}

// recoverPanics turns a panic in a handler into a logged 500, so that no
// input takes the process down.
func (s *Server) recoverPanics(c *gin.Context) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if p == http.ErrAbortHandler {
			panic(p)
		}
		s.log.ErrorContext(c.Request.Context(), "panic while serving a request",
			"method", c.Request.Method, "path", c.Request.URL.Path,
			"panic", p, "stack", string(debug.Stack()))
		if !c.Writer.Written() {
			c.AbortWithStatusJSON(http.StatusInternalServerError, errorBody{Error: apiError{
				Code: codeInternal, Message: "internal error",
			}})
			return
		}
		c.Abort()
	}()
	c.Next()
}

// countRequests counts every request by route and status.
func (s *Server) countRequests(c *gin.Context) {
	c.Next()
	s.metrics.observeRequest(c.FullPath(), c.Request.Method, c.Writer.Status())
}
