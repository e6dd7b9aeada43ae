package console

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// Identity is who signed in to the console: the subject the API knows
// them by (R43), and the bearer token the console presents to the API on
// their behalf until Expiry.
type Identity struct {
	Subject string
	Token   string
	Expiry  time.Time
}

// LoginFlow signs a user in through an identity provider. Start answers
// the browser's request to sign in (typically a redirect to the provider,
// after remembering what Finish needs to check the answer); Finish handles
// the provider's redirect back and returns who signed in, or an error
// naming what was refused. Both are called on the console's own paths.
type LoginFlow interface {
	Start(w http.ResponseWriter, r *http.Request)
	Finish(w http.ResponseWriter, r *http.Request) (Identity, error)
}

// loginView is what the sign-in page offers.
type loginView struct {
	Dev      bool
	OIDC     bool
	OIDCName string
	Subject  string
}

// loginPage offers the sign-in methods the server has: an identity
// provider (OIDC), and on development servers a sign-in as any user.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.showLogin(w, r, http.StatusOK, view{})
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, v view) {
	s, err := c.ensureSession(w, r)
	if err != nil {
		c.log.Error("console: session", "error", err)
		c.plainError(w, r, http.StatusInternalServerError, "The session could not be started.")
		return
	}
	v.Title = "Sign in"
	v.Nav = "login"
	v.CSRF = c.sessions.csrfToken(s)
	if s.signedIn(c.now()) {
		v.User = s.Subject
	}
	if c.dev == nil && c.oidc == nil && v.Problem == "" {
		v.Problem = "No sign-in method is configured: start the server with an identity provider, or with --console-dev-sign-in for development."
	}
	v.Page = loginView{Dev: c.dev != nil, OIDC: c.oidc != nil, OIDCName: c.oidcName, Subject: v.Form.Get("user")}
	c.render(w, r, status, "login", v)
}

// devLogin signs the browser in as the user it names, with a token
// DevSignIn mints (development servers only).
func (c *Console) devLogin(w http.ResponseWriter, r *http.Request) {
	if c.dev == nil {
		c.plainError(w, r, http.StatusNotFound, "Development sign-in is not enabled on this server.")
		return
	}
	user := strings.TrimSpace(r.PostForm.Get("user"))
	id, err := c.dev(user)
	if err != nil {
		c.showLogin(w, r, http.StatusUnprocessableEntity, view{
			Form:   r.PostForm,
			Errors: formErrors{Fields: map[string][]string{"user": {err.Error()}}},
		})
		return
	}
	c.startSession(w, r, id)
}

// startSession replaces the browser's session with a new one for id (a
// new id, so a CSRF token seen before sign-in is worth nothing after); a
// signed-in session it replaces is ended.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, id Identity) {
	if old, ok := c.session(r); ok {
		c.sessions.end(old, c.now())
	}
	expiry := id.Expiry
	if limit := c.now().Add(sessionTTL); expiry.IsZero() || expiry.After(limit) {
		expiry = limit
	}
	s := session{ID: newSessionID(), Subject: id.Subject, Token: id.Token, Expiry: expiry}
	if err := c.writeSession(w, r, s); err != nil {
		c.log.Error("console: session", "error", err)
		c.plainError(w, r, http.StatusInternalServerError, "The session could not be started.")
		return
	}
	c.log.Info("console sign-in", "subject", id.Subject)
	http.Redirect(w, r, Prefix+"requests", http.StatusSeeOther)
}

// oidcStart hands the browser to the identity provider.
func (c *Console) oidcStart(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.plainError(w, r, http.StatusNotFound, "No identity provider is configured on this server.")
		return
	}
	c.oidc.Start(w, r)
}

// oidcCallback finishes the identity provider's sign-in and starts the
// session; a refusal is shown on the sign-in page.
func (c *Console) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if c.oidc == nil {
		c.plainError(w, r, http.StatusNotFound, "No identity provider is configured on this server.")
		return
	}
	id, err := c.oidc.Finish(w, r)
	if err == nil && (id.Subject == "" || id.Token == "") {
		err = errors.New("the identity provider named no user")
	}
	if err != nil {
		c.log.Warn("console: OIDC sign-in refused", "error", err)
		c.showLogin(w, r, http.StatusUnauthorized, view{Problem: "Sign-in failed: " + err.Error()})
		return
	}
	c.startSession(w, r, id)
}

// logout ends the session: its cookie is removed, and a copy of it is
// refused from then on.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	c.endSession(w, r)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}
