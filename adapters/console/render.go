package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/engine"
)

// parsePages parses each page template with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := path.Base(name)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", base, err)
		}
		pages[strings.TrimSuffix(base, ".html")] = t
	}
	return pages, nil
}

// funcs are the helpers the templates use; everything they return is
// escaped by html/template.
var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.UTC().Format("2006-01-02 15:04 UTC")
		}
		return ""
	},
	"dateInput": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02T15:04")
	},
	"join": strings.Join,
	"inc":  func(i int) int { return i + 1 },
	"sortedKeys": func(m map[string]string) []string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys
	},
	"has":        func(list []string, v string) bool { return slices.Contains(list, v) },
	"pathEscape": pathEscape,
}

// age says how long ago t was, to the minute.
func age(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// visit is one signed-in user's request: who, their API calls, and what
// the page renders.
type visit struct {
	c    *Console
	w    http.ResponseWriter
	r    *http.Request
	sess session
	ctx  context.Context
}

// api returns the client that calls the API as the visitor.
func (v *visit) api() *client.Client { return v.c.api }

// view is what every page template receives.
type view struct {
	Title   string
	Nav     string
	User    string
	CSRF    string
	Notice  string
	Problem string
	// Errors are the API's refusals: Fields by form field, the rest in
	// General.
	Errors formErrors
	// Form is what the user posted, to fill the form again after a refusal.
	Form url.Values
	// Open names the form Errors and Form belong to, on pages with several.
	Open string
	Page any
}

// Err returns the refusals of form's field.
func (v view) Err(form, field string) []string {
	if v.Open != form {
		return nil
	}
	return v.Errors.For(field)
}

// General returns the refusals of form that concern no one field.
func (v view) General(form string) []string {
	if v.Open != form {
		return nil
	}
	return v.Errors.General
}

// Val returns what the user posted in form's field.
func (v view) Val(form, field string) string {
	if v.Open != form {
		return ""
	}
	return v.Form.Get(field)
}

// Vals returns the values the user posted in form's field.
func (v view) Vals(form, field string) []string {
	if v.Open != form {
		return nil
	}
	return v.Form[field]
}

// render writes the page template name with status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	start := time.Now()
	t, ok := c.pages[name]
	if !ok {
		c.plainError(w, r, http.StatusInternalServerError, "This page is missing.")
		c.log.Error("console: no such page template", "page", name)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		c.log.Error("console: render", "page", name, "error", err)
		c.plainError(w, r, http.StatusInternalServerError, "This page could not be shown.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	c.log.Debug("console page", "page", name, "status", status, "render", time.Since(start))
}

// show renders a signed-in page.
func (v *visit) show(status int, name string, vw view) {
	vw.User = v.sess.Subject
	vw.CSRF = v.c.sessions.csrfToken(v.sess)
	if vw.Nav == "" {
		vw.Nav = name
	}
	if vw.Notice == "" {
		q := v.r.URL.Query()
		if done := q.Get("done"); v.c.sessions.validNoticeMark(v.sess, done, q.Get("mark")) {
			vw.Notice = notices[done]
		}
	}
	v.c.render(v.w, v.r, status, name, vw)
}

// notices are the confirmations shown after a change, by the done=
// parameter of the page it redirects to (never text the user typed), with
// the mark= of the visitor's session (sessions.noticeMark): a link made by
// someone else shows none, so no page claims a change that was not made.
var notices = map[string]string{
	"approved":  "The request was approved.",
	"denied":    "The request was denied.",
	"expiry":    "The expiry was changed.",
	"revoked":   "The access was revoked.",
	"member":    "The member was saved.",
	"removed":   "The member was removed.",
	"submitted": "The request was submitted.",
	"requested": "Your access request was sent.",
}

// plainError answers with a short page that needs no session.
func (c *Console) plainError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", view{Title: http.StatusText(status), Problem: msg})
}

// signedIn runs next for a signed-in visitor; anyone else is sent to the
// sign-in page (a GET or HEAD) or refused (401). An id in the path that is
// not one is refused (400, pathIDProblem) before the API is called.
func (c *Console) signedIn(next func(*visit)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		if !ok || !s.signedIn(c.now()) {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
				return
			}
			c.plainError(w, r, http.StatusUnauthorized, "Your session ended: sign in again.")
			return
		}
		v := &visit{c: c, w: w, r: r, sess: s, ctx: withCaller(r.Context(), s.Token, r.RemoteAddr)}
		if problem := pathIDProblem(r); problem != "" {
			v.show(http.StatusBadRequest, "error", view{Title: "Bad Request", Problem: problem})
			return
		}
		next(v)
	}
}

// pathIDs are the ids a console path may carry, by wildcard name, and how
// a refusal names them.
var pathIDs = []struct{ wildcard, name string }{
	{"id", "The request id"}, {"account", "The account id"}, {"user", "The user id"},
}

// pathIDProblem says which id in r's path is not an id (engine.ValidID),
// "" when all are. Checked before any API call: an id holding '/' (from
// %2F) would otherwise make the call another endpoint's path.
func pathIDProblem(r *http.Request) string {
	for _, p := range pathIDs {
		if v := r.PathValue(p.wildcard); v != "" && !engine.ValidID(v) {
			return fmt.Sprintf("%s in the address must be 1-%d letters, digits, '.', '_', '-' or '@': there is no such page.", p.name, engine.MaxIDLength)
		}
	}
	return ""
}

// apiFailure shows an API error that is not about a form's fields: a 401
// ends the session, a 403 or 404 says plainly what the policy refused.
func (v *visit) apiFailure(err error) {
	var e *client.Error
	if !errors.As(err, &e) {
		v.c.log.Error("console: API call", "path", v.r.URL.Path, "error", err)
		v.show(http.StatusBadGateway, "error", view{Title: "Error", Problem: "The API did not answer: try again."})
		return
	}
	if e.Status == http.StatusUnauthorized {
		v.c.endSession(v.w, v.r)
		v.c.plainError(v.w, v.r, http.StatusUnauthorized, "Your session ended: sign in again.")
		return
	}
	status := e.Status
	if status >= 500 {
		status = http.StatusBadGateway
	}
	// The API's message of a policy refusal is its violations joined: one
	// is said once, as the problem; several are listed under a lead-in.
	problem, general := e.Message, e.Violations
	switch len(e.Violations) {
	case 0:
	case 1:
		problem, general = e.Violations[0], nil
	default:
		problem = "The policy refused this:"
	}
	v.show(status, "error", view{Title: http.StatusText(e.Status), Problem: problem, Errors: formErrors{General: general}})
}

// redirect sends the browser to path after a change (POST, redirect, GET).
func (v *visit) redirect(path, done string) {
	if done != "" {
		path += "?done=" + url.QueryEscape(done) + "&mark=" + v.c.sessions.noticeMark(v.sess, done)
	}
	http.Redirect(v.w, v.r, path, http.StatusSeeOther)
}

// pathEscape escapes one path segment of a console URL.
func pathEscape(s string) string { return url.PathEscape(s) }
