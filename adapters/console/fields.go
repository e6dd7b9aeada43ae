package console

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/client"
)

// formErrors are the refusals of a form: by field, and those that concern
// no one field.
type formErrors struct {
	Fields  map[string][]string
	General []string
}

// For returns the messages about field.
func (e formErrors) For(field string) []string { return e.Fields[field] }

// fieldRule places a message beside a form field: the API's violations
// and its 400 messages name the field they concern (R44), by its JSON
// name first ("role must be...", "virtual_accounts[0] must...") or in
// words ("the expiry must be in the future").
type fieldRule struct {
	field string
	re    *regexp.Regexp
}

// fieldRules are tried in order, on the message in lower case; the first
// that matches a field of the form places the message. A message no rule
// places stays with the general ones.
var fieldRules = []fieldRule{
	{"reason_code", regexp.MustCompile(`\breason_code\b`)},
	{"virtual_accounts", regexp.MustCompile(`^virtual_accounts|^va_roles|virtual account`)},
	{"scope", regexp.MustCompile(`^scope\b|needs a scope`)},
	{"role", regexp.MustCompile(`^roles?\b|account_admin`)},
	{"privileges", regexp.MustCompile(`^privileges|\(r5\)|\(r6\)`)},
	{"contact", regexp.MustCompile(`^contact\b|contact`)},
	{"expires_at", regexp.MustCompile(`^expires_at|expiry`)},
	{"justification", regexp.MustCompile(`^justification|justification`)},
	{"name", regexp.MustCompile(`^name\b|request name`)},
	{"associations", regexp.MustCompile(`^associations?\b|association|employee|partner`)},
	{"message", regexp.MustCompile(`^message\b`)},
	{"user", regexp.MustCompile(`^user\b|user \S+ does not exist|no access to`)},
	{"account", regexp.MustCompile(`^account\b`)},
}

// placeErrors sorts the messages of err among fields, the form's field
// names. It returns false when err is not a 400 or 422 about the form
// (an authorization refusal, a conflict, an outage: shown as the page's
// error instead).
func placeErrors(err error, fields ...string) (formErrors, bool) {
	var e *client.Error
	if !errors.As(err, &e) {
		return formErrors{}, false
	}
	switch e.Status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusConflict, http.StatusForbidden, http.StatusNotFound:
	default:
		return formErrors{}, false
	}
	msgs := e.Violations
	if len(msgs) == 0 {
		msgs = []string{e.Message}
	}
	out := formErrors{Fields: map[string][]string{}}
	for _, m := range msgs {
		if f := fieldOf(m, fields); f != "" && (e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity) {
			out.Fields[f] = append(out.Fields[f], m)
			continue
		}
		out.General = append(out.General, m)
	}
	return out, true
}

// fieldOf returns the field among fields that message concerns, "" when
// none.
func fieldOf(message string, fields []string) string {
	lower := strings.ToLower(message)
	for _, r := range fieldRules {
		if !r.re.MatchString(lower) {
			continue
		}
		for _, f := range fields {
			if f == r.field {
				return f
			}
		}
	}
	return ""
}
