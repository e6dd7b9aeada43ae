package webhook

import (
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// redact keeps scheme and host and hides every part that can hold a
// credential (issue 7, point 4).
func TestRedact(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"https://hooks.example.com", "https://hooks.example.com"},
		{"https://hooks.example.com/", "https://hooks.example.com"},
		{"https://hooks.example.com:8443/events", "https://hooks.example.com:8443/***"},
		{"https://user:pass@hooks.example.com/events", "https://***@hooks.example.com/***"},
		{"https://user@hooks.example.com", "https://***@hooks.example.com"},
		{"https://hooks.example.com/x?token=secret&a=b", "https://hooks.example.com/***?***"},
		{"https://hooks.example.com?", "https://hooks.example.com?***"},
		{"https://hooks.slack.com/services/T000/B000/XXXXSECRET", "https://hooks.slack.com/***"},
		{"https://hooks.example.com/#secret", "https://hooks.example.com#***"},
		{"mailto:secret@example.com", "mailto:***"},
		{"http://user:pa ss@host/", "(a URL that does not parse)"},
		{"http://u:secret@host:port/", "(a URL that does not parse)"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			assert.Equal(t, tt.want, redact(tt.raw))
		})
	}
}

// scrub takes the whole URL out of a *url.Error and keeps its cause.
func TestScrub(t *testing.T) {
	cause := errors.New("connection refused")
	raw := "https://user:secret@host/p?token=secret"
	err := scrub(&url.Error{Op: "Post", URL: raw, Err: cause}, raw)
	assert.Equal(t, `Post "https://***@host/***?***": connection refused`, err.Error())
	assert.ErrorIs(t, err, cause)
	plain := errors.New("receiver answered 500")
	assert.Equal(t, plain, scrub(plain, raw))
}
