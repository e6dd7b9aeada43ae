package main

import (
	"errors"
	"net/url"
	"strings"
)

// redactURL renders a URL given in a flag (--webhook-url, --redis-url,
// --server) for an error message or a log line: its scheme and host. User
// info, the path, the query and the fragment can hold credentials (a Redis
// password, a token), so each is shown as *** when present. It is the
// command-line twin of the webhook adapter's redaction (adapters do not
// share code with cmd through a util package).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if u.Opaque != "" {
		return u.Scheme + ":***"
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		b.WriteString("***@")
	}
	b.WriteString(u.Host)
	if u.Path != "" && u.Path != "/" {
		b.WriteString("/***")
	}
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?***")
	}
	if u.Fragment != "" {
		b.WriteString("#***")
	}
	return b.String()
}

// urlProblem says why url.Parse refused a URL without quoting it: a
// *url.Error holds the whole URL, and an invalid %-escape quotes a piece of
// it, which may be a piece of a password.
func urlProblem(err error) string {
	var escape url.EscapeError
	if errors.As(err, &escape) {
		return "it holds an invalid %-escape"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
