package webhook_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gatehouse/gatehouse/adapters/webhook"
)

// R42: receivers verify that a delivery was signed with the shared secret.
func TestVerify(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"id":"ev-1","type":"request.created"}`)
	valid := webhook.Sign(secret, body)
	digest := strings.TrimPrefix(valid, "sha256=")

	tests := []struct {
		name   string
		secret []byte
		body   []byte
		header string
		want   bool
	}{
		{"valid", secret, body, valid, true},
		{"upper-case hex", secret, body, "sha256=" + strings.ToUpper(digest), true},
		{"other secret", []byte("other"), body, valid, false},
		{"tampered body", secret, []byte(`{"id":"ev-2","type":"request.created"}`), valid, false},
		{"no algorithm", secret, body, digest, false},
		{"other algorithm", secret, body, "sha1=" + digest, false},
		{"not hex", secret, body, "sha256=zz" + digest[2:], false},
		{"truncated", secret, body, valid[:len(valid)-2], false},
		{"empty header", secret, body, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, webhook.Verify(tc.secret, tc.body, tc.header))
		})
	}
}

// The lease and cursor name depends on the URL only, and differs between
// URLs.
func TestName(t *testing.T) {
	a, b := webhook.Name("https://a.example.com/hook"), webhook.Name("https://b.example.com/hook")
	assert.Equal(t, a, webhook.Name("https://a.example.com/hook"))
	assert.NotEqual(t, a, b)
	assert.Regexp(t, `^webhook:[0-9a-f]{16}$`, a)
}
