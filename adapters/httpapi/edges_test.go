package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
)

// Issue 9, section 4: every answer at the HTTP edges is JSON in the
// contract's error shape or a plain success; nothing redirects, nothing is
// HTML, a 405 says which methods the path has, and HEAD works wherever GET
// does. The routes come from the router itself, so a new route is covered
// without touching this test.

// edgeServer is a real HTTP server over the API, and a client that never
// follows a redirect, so that a 3xx would be seen as it is.
type edgeServer struct {
	t      *testing.T
	h      *harness
	url    string
	client *http.Client
	routes []httpapi.Route
}

func newEdgeServer(t *testing.T) *edgeServer {
	t.Helper()
	h := newEmbeddedHarness(t)
	seedAcme(h)
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	routes := h.server.Routes()
	require.NotEmpty(t, routes)
	return &edgeServer{t: t, h: h, url: srv.URL, client: client, routes: routes}
}

// edgeAnswer is one answer, body read.
type edgeAnswer struct {
	status int
	header http.Header
	body   string
	// opa is set for OPA's paths (the default decision, the Data API and
	// the batch Data API), which answer in OPA's shapes.
	opa bool
}

// send sends method path as the system administrator, with an empty JSON
// object as the body of the methods that take one.
func (e *edgeServer) send(method, path string) edgeAnswer {
	e.t.Helper()
	var body io.Reader
	if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequest(method, e.url+path, body)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+e.h.token(systemAdmin))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	opa := path == "/" || path == "/v1/data" || strings.HasPrefix(path, "/v1/data/") ||
		path == "/v1/batch/data" || strings.HasPrefix(path, "/v1/batch/data/")
	return edgeAnswer{status: resp.StatusCode, header: resp.Header, body: string(raw), opa: opa}
}

// requireErrorShape checks that a is an error answer with status and code
// in the API's error shape: JSON, only the key "error", a message.
func requireErrorShape(t *testing.T, what string, a edgeAnswer, status int, code string) string {
	t.Helper()
	require.Equal(t, status, a.status, "%s: %s", what, a.body)
	require.Equal(t, "application/json; charset=utf-8", a.header.Get("Content-Type"), "%s: %s", what, a.body)
	var raw map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(a.body), &raw), "%s: %s", what, a.body)
	require.Len(t, raw, 1, "%s: only the key error: %s", what, a.body)
	require.Equal(t, code, raw["error"]["code"], "%s: %s", what, a.body)
	msg, _ := raw["error"]["message"].(string)
	require.NotEmpty(t, msg, "%s: %s", what, a.body)
	return msg
}

// requireContractShape checks that a is not a redirect, not HTML and not an
// empty 3xx: a success (JSON, or the Prometheus text and YAML of the two
// endpoints that serve those), or an error in the error shape.
func requireContractShape(t *testing.T, what string, a edgeAnswer) {
	t.Helper()
	require.False(t, a.status >= 300 && a.status < 400, "%s: no redirect: %d %v", what, a.status, a.header)
	require.NotContains(t, strings.ToLower(a.body), "<html", what)
	require.NotContains(t, strings.ToLower(a.body), "<a href", what)
	if a.status >= 400 {
		require.Equal(t, "application/json; charset=utf-8", a.header.Get("Content-Type"), what)
		if a.opa {
			// OPA's paths answer errors in OPA's shape: {"code", "message"}.
			var e struct{ Code, Message string }
			require.NoError(t, json.Unmarshal([]byte(a.body), &e), "%s: %s", what, a.body)
			require.NotEmpty(t, e.Code, "%s: %s", what, a.body)
			require.NotEmpty(t, e.Message, "%s: %s", what, a.body)
			return
		}
		var e errorAnswer
		require.NoError(t, json.Unmarshal([]byte(a.body), &e), "%s: %s", what, a.body)
		require.NotEmpty(t, e.Error.Code, "%s: %s", what, a.body)
	}
}

// concrete turns a route pattern into a path it matches.
func concrete(pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, ":"):
			segs[i] = "acme"
		case strings.HasPrefix(s, "*"):
			segs[i] = "gatehouse/allow"
		}
	}
	return strings.Join(segs, "/")
}

// methodsByPath groups the routes' methods by path pattern.
func methodsByPath(routes []httpapi.Route) map[string][]string {
	m := map[string][]string{}
	for _, r := range routes {
		m[r.Path] = append(m[r.Path], r.Method)
	}
	return m
}

// A trailing slash is a 404 in the error shape naming the path without it,
// never a redirect (a redirected POST loses its body in many clients).
func TestEdgeTrailingSlashIsA404NamingThePath(t *testing.T) {
	e := newEdgeServer(t)
	for _, r := range e.routes {
		what := r.Method + " " + r.Path + "/"
		path := concrete(r.Path)
		a := e.send(r.Method, path+"/")
		if strings.Contains(r.Path, "*") || strings.HasPrefix(r.Path, "/v1/data") || strings.HasPrefix(r.Path, "/v1/batch/data") {
			// A catch-all route takes the slash as part of its argument,
			// and /v1/data/ (/v1/batch/data/) is the Data API's root: OPA's
			// undefined document.
			requireContractShape(t, what, a)
			continue
		}
		msg := requireErrorShape(t, what, a, http.StatusNotFound, "not_found")
		assert.Contains(t, msg, "use "+path, what)
		t.Logf("%s -> %d %s", what, a.status, msg)
	}

	// The examples of the issue, as a caller sends them.
	a := e.send(http.MethodPost, "/v1/decisions/")
	msg := requireErrorShape(t, "POST /v1/decisions/", a, http.StatusNotFound, "not_found")
	assert.Equal(t, "no endpoint at /v1/decisions/; paths have no trailing slash: use /v1/decisions", msg)
	a = e.send(http.MethodGet, "/v1/accounts/acme/")
	msg = requireErrorShape(t, "GET /v1/accounts/acme/", a, http.StatusNotFound, "not_found")
	assert.Contains(t, msg, "use /v1/accounts/acme")

	// Neither a miscased path nor a doubled slash is redirected.
	for _, p := range []string{"/V1/Decisions", "/v1//decisions", "//health", "/nowhere", "/v1/accounts/acme/nothing"} {
		requireErrorShape(t, "POST "+p, e.send(http.MethodPost, p), http.StatusNotFound, "not_found")
		requireErrorShape(t, "GET "+p, e.send(http.MethodGet, p), http.StatusNotFound, "not_found")
	}
}

// HEAD answers wherever GET does, with the GET's status and headers and no
// body; the router has no HEAD route of its own to forget.
func TestEdgeHeadWhereverGet(t *testing.T) {
	e := newEdgeServer(t)
	gets := 0
	for _, r := range e.routes {
		if r.Method != http.MethodGet {
			continue
		}
		gets++
		path := concrete(r.Path)
		get := e.send(http.MethodGet, path)
		head := e.send(http.MethodHead, path)
		what := "HEAD " + path
		requireContractShape(t, "GET "+path, get)
		assert.Equal(t, get.status, head.status, what)
		assert.Empty(t, head.body, what)
		assert.Equal(t, get.header.Get("Content-Type"), head.header.Get("Content-Type"), what)
		assert.Equal(t, get.header.Get("WWW-Authenticate"), head.header.Get("WWW-Authenticate"), what)
		if cl := get.header.Get("Content-Length"); cl != "" && r.Path != "/metrics" {
			assert.Equal(t, cl, head.header.Get("Content-Length"), what)
		}
		t.Logf("%s -> %d %s (GET %d, %d bytes)", what, head.status, head.header.Get("Content-Type"), get.status, len(get.body))
	}
	require.Positive(t, gets)

	a := e.send(http.MethodHead, "/health")
	assert.Equal(t, http.StatusOK, a.status, "HEAD /health")
	assert.Empty(t, a.body)

	// HEAD without a token is refused as the GET is.
	req, err := http.NewRequest(http.MethodHead, e.url+"/v1/accounts/acme", nil)
	require.NoError(t, err)
	resp, err := e.client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))

	// HEAD of a path without GET is the GET's 405, of no path a 404.
	a = e.send(http.MethodHead, "/v1/decisions")
	assert.Equal(t, http.StatusMethodNotAllowed, a.status)
	assert.Equal(t, "POST", a.header.Get("Allow"))
	assert.Empty(t, a.body)
	a = e.send(http.MethodHead, "/nowhere")
	assert.Equal(t, http.StatusNotFound, a.status)
	assert.Equal(t, "application/json; charset=utf-8", a.header.Get("Content-Type"))
	assert.Empty(t, a.body)
}

// A method a path does not have is a 405 in the error shape with an Allow
// header listing the methods it has (HEAD wherever GET).
func TestEdgeWrongMethodIs405WithAllow(t *testing.T) {
	e := newEdgeServer(t)
	for pattern, methods := range methodsByPath(e.routes) {
		want := slices.Clone(methods)
		if slices.Contains(want, http.MethodGet) {
			want = append(want, http.MethodHead)
		}
		slices.Sort(want)
		path := concrete(pattern)
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
			if slices.Contains(methods, m) {
				continue
			}
			what := m + " " + path
			a := e.send(m, path)
			var msg string
			if a.opa {
				// OPA's paths answer in OPA's shape (issue 10 §6).
				require.Equal(t, http.StatusMethodNotAllowed, a.status, "%s: %s", what, a.body)
				var oe struct{ Code, Message string }
				require.NoError(t, json.Unmarshal([]byte(a.body), &oe), "%s: %s", what, a.body)
				require.Equal(t, "invalid_operation", oe.Code, "%s: %s", what, a.body)
				msg = oe.Message
			} else {
				msg = requireErrorShape(t, what, a, http.StatusMethodNotAllowed, "method_not_allowed")
			}
			allow := strings.Split(a.header.Get("Allow"), ", ")
			slices.Sort(allow)
			assert.Equal(t, want, allow, what)
			assert.Contains(t, msg, m, what)
		}
	}
}

// The methods a route table can hold are all exercised: a route with a
// method the tests above do not send would escape them.
func TestEdgeRoutesUseKnownMethods(t *testing.T) {
	e := newEdgeServer(t)
	for _, r := range e.routes {
		assert.Contains(t, []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}, r.Method, r.Path)
	}
}
