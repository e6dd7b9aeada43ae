package httpapi

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// Route is one endpoint of the router: its method and its path pattern as
// the router matches it (":id" one segment, "*path" the rest of the path).
type Route struct {
	Method string
	Path   string
}

// Routes lists every endpoint the server answers, HEAD excepted: HEAD is
// answered wherever GET is (see ServeHTTP).
func (s *Server) Routes() []Route {
	all := s.router.Routes()
	routes := make([]Route, 0, len(all))
	for _, r := range all {
		routes = append(routes, Route{Method: r.Method, Path: r.Path})
	}
	return routes
}

// noRoute answers a path no endpoint has in the error shape: a 404 whose
// message names the endpoint the caller probably meant when the path only
// differs from one by a trailing slash. The server never redirects (a
// redirected POST loses its body in many clients).
func (s *Server) noRoute(c *gin.Context) {
	p := c.Request.URL.Path
	msg := "no endpoint at " + p
	switch {
	case len(p) > 1 && strings.HasSuffix(p, "/") && s.hasPath(strings.TrimSuffix(p, "/")):
		msg += "; paths have no trailing slash: use " + strings.TrimSuffix(p, "/")
	case !strings.HasSuffix(p, "/") && s.hasPath(p+"/"):
		msg += "; use " + p + "/"
	}
	s.renderError(c, &statusError{http.StatusNotFound, codeNotFound, msg})
}

// noMethod answers a method the path does not have: a 405 in the error
// shape whose Allow header (set by the router) lists the methods it has,
// HEAD included wherever GET is.
func (s *Server) noMethod(c *gin.Context) {
	allow := strings.Split(c.Writer.Header().Get("Allow"), ", ")
	if slices.Contains(allow, http.MethodGet) && !slices.Contains(allow, http.MethodHead) {
		allow = append(allow, http.MethodHead)
	}
	if isOPAPath(c.Request.URL.Path) {
		s.opaMethodNotAllowed(c, strings.Join(allow, ", "))
		return
	}
	c.Header("Allow", strings.Join(allow, ", "))
	s.renderError(c, &statusError{http.StatusMethodNotAllowed, codeMethodNotAllowed,
		"method " + c.Request.Method + " is not allowed on " + c.Request.URL.Path + "; allowed: " + strings.Join(allow, ", ")})
}

// hasPath reports whether some endpoint's pattern matches path.
func (s *Server) hasPath(path string) bool {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, p := range s.paths {
		if patternMatches(p, segs) {
			return true
		}
	}
	return false
}

// patternMatches reports whether the router pattern matches the path
// segments: ":name" matches one non-empty segment, "*name" the rest.
func patternMatches(pattern string, segs []string) bool {
	pat := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	for i, ps := range pat {
		if strings.HasPrefix(ps, "*") {
			return true
		}
		if i >= len(segs) {
			return false
		}
		if strings.HasPrefix(ps, ":") {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if ps != segs[i] {
			return false
		}
	}
	return len(pat) == len(segs)
}

// routePaths returns the distinct path patterns of r's routes.
func routePaths(r *gin.Engine) []string {
	var paths []string
	for _, rt := range r.Routes() {
		if !slices.Contains(paths, rt.Path) {
			paths = append(paths, rt.Path)
		}
	}
	return paths
}

// serveHead answers a HEAD request as the GET of the same URL would be
// answered, status and headers included, without the body. The answer's
// Content-Length is the GET body's length unless the handler flushed early
// or set one itself.
func (s *Server) serveHead(w http.ResponseWriter, r *http.Request) {
	get := r.Clone(r.Context())
	get.Method = http.MethodGet
	hw := &headWriter{ResponseWriter: w, status: http.StatusOK}
	s.router.ServeHTTP(hw, get)
	hw.commit(true)
}

// headWriter holds back the status until the handler ends (or flushes) so
// that it can set Content-Length, and discards the body.
type headWriter struct {
	http.ResponseWriter
	status    int
	size      int
	committed bool
}

func (w *headWriter) WriteHeader(status int) {
	if !w.committed {
		w.status = status
	}
}

func (w *headWriter) Write(p []byte) (int, error) {
	w.size += len(p)
	return len(p), nil
}

// Flush commits the status and headers now; the body stays discarded.
func (w *headWriter) Flush() {
	w.commit(false)
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *headWriter) commit(done bool) {
	if w.committed {
		return
	}
	w.committed = true
	h := w.Header()
	if done && w.size > 0 && h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.Itoa(w.size))
	}
	w.ResponseWriter.WriteHeader(w.status)
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *headWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
