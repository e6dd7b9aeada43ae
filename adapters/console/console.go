package console

import (
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/client"
)

// Prefix is the path the console is served under; cmd mounts the
// Console's handler there.
const Prefix = "/console/"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DevSignIn mints the bearer token of a development sign-in as subject,
// signed with the server's development secret. It returns an error naming
// what is wrong with subject.
type DevSignIn func(subject string) (Identity, error)

// Options configure a Console. API is required; the rest is optional.
type Options struct {
	// API serves gatehouse's HTTP API (/v1/...). Every page reads and
	// writes through it with the signed-in user's token, so that a page
	// shows and does exactly what the admission policy lets that user do
	// through the API (R37, R43).
	API http.Handler
	// DevSignIn, when set, offers a sign-in as any user by id: for
	// development servers only (cmd sets it from --console-dev-sign-in).
	DevSignIn DevSignIn
	// OIDC, when set, offers "Sign in with <OIDCName>": Start is served at
	// /console/login/oidc, Finish at /console/callback.
	OIDC     LoginFlow
	OIDCName string
	// SessionKey encrypts and authenticates the session cookie (32 bytes);
	// nil draws a random key, so that sessions end when the process does.
	// Sign-outs are remembered by the process that served them only (see
	// the package documentation).
	SessionKey []byte
	// SecureCookie marks the session cookie Secure even on requests that
	// did not come over TLS (a TLS-terminating proxy in front); requests
	// that came over TLS always get it.
	SecureCookie bool
	// Logger receives page timings and the detail of unexpected errors;
	// never a token.
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Console is the admin console: an http.Handler of the paths under
// Prefix.
type Console struct {
	api       *client.Client
	dev       DevSignIn
	oidc      LoginFlow
	oidcName  string
	sessions  *sessions
	secure    bool
	log       *slog.Logger
	now       func() time.Time
	pages     map[string]*template.Template
	mux       *http.ServeMux
	assets    fs.FS
	staticSrv http.Handler
}

// sessionTTL is the longest a session lasts, whatever its token's expiry.
const sessionTTL = 8 * time.Hour

// New returns the console of o. An error names the option that is wrong.
func New(o Options) (*Console, error) {
	if o.API == nil {
		return nil, errors.New("console: Options.API is required")
	}
	key := o.SessionKey
	if key == nil {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	}
	sess, err := newSessions(key)
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("console: static assets: %w", err)
	}
	api, err := newAPIClient(o.API)
	if err != nil {
		return nil, err
	}
	c := &Console{
		api: api, dev: o.DevSignIn, oidc: o.OIDC, oidcName: o.OIDCName,
		sessions: sess, secure: o.SecureCookie, log: o.Logger, now: o.Now, pages: pages,
		assets: static, staticSrv: http.StripPrefix(Prefix+"static/", http.FileServerFS(static)),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.oidcName == "" {
		c.oidcName = "your identity provider"
	}
	c.routes()
	return c, nil
}

// ServeHTTP serves one console request, with the security headers of
// every answer: a Content-Security-Policy that allows only the console's
// own scripts, styles and images (no inline script or style), no framing,
// and no Referer sent elsewhere.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if !strings.HasPrefix(r.URL.Path, Prefix) && r.URL.Path != strings.TrimSuffix(Prefix, "/") {
		http.NotFound(w, r)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// routes registers every page.
func (c *Console) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusFound)
	})
	m.HandleFunc("GET /console/{$}", c.home)
	m.Handle("GET /console/static/", c.static())
	m.HandleFunc("GET /console/login", c.loginPage)
	m.HandleFunc("POST /console/login/dev", c.csrf(c.devLogin))
	m.HandleFunc("GET /console/login/oidc", c.oidcStart)
	m.HandleFunc("GET /console/callback", c.oidcCallback)
	m.HandleFunc("POST /console/logout", c.csrf(c.logout))

	m.HandleFunc("GET /console/requests", c.signedIn(c.pendingPage))
	m.HandleFunc("GET /console/requests/{id}", c.signedIn(c.requestPage))
	m.HandleFunc("POST /console/requests/{id}/approve", c.csrf(c.signedIn(c.approve)))
	m.HandleFunc("POST /console/requests/{id}/deny", c.csrf(c.signedIn(c.deny)))
	m.HandleFunc("POST /console/requests/{id}/expiry", c.csrf(c.signedIn(c.changeExpiry)))
	m.HandleFunc("POST /console/requests/{id}/revoke", c.csrf(c.signedIn(c.revoke)))

	m.HandleFunc("GET /console/accounts", c.signedIn(c.accounts))
	m.HandleFunc("GET /console/accounts/{account}", c.signedIn(c.accountPage))
	m.HandleFunc("GET /console/accounts/{account}/members", c.signedIn(c.membersPage))
	m.HandleFunc("POST /console/accounts/{account}/members", c.csrf(c.signedIn(c.setMember)))
	m.HandleFunc("POST /console/accounts/{account}/members/{user}/remove", c.csrf(c.signedIn(c.removeMember)))
	m.HandleFunc("GET /console/accounts/{account}/audit", c.signedIn(c.auditPage))

	m.HandleFunc("GET /console/tenants", c.signedIn(c.tenantsPage))
	m.HandleFunc("POST /console/tenants", c.csrf(c.signedIn(c.submitTenantRequest)))
	m.HandleFunc("GET /console/mine", c.signedIn(c.minePage))
	m.HandleFunc("POST /console/mine", c.csrf(c.signedIn(c.requestAccess)))
	m.HandleFunc("GET /console/status", c.signedIn(c.statusPage))
	c.mux = m
}

// static serves the embedded assets (files only, no listing); they change
// only with the binary, so they may be cached for an hour. A path that
// names no asset gets the console's 404 page, not cached.
func (c *Console) static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, Prefix+"static/")
		if info, err := fs.Stat(c.assets, name); err != nil || info.IsDir() {
			c.plainError(w, r, http.StatusNotFound, "There is no such file.")
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		c.staticSrv.ServeHTTP(w, r)
	})
}

// home sends a signed-in user to their pending requests, anyone else to
// the sign-in page.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	if s, ok := c.session(r); ok && s.signedIn(c.now()) {
		http.Redirect(w, r, Prefix+"requests", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}
