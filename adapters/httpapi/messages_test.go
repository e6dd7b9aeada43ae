package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// storeWords are words of the stores' internals that no message a caller
// reads may hold (issue 9).
var storeWords = []string{"redis", "embedded", "bbolt", "bolt", "lua", "evalsha", "gh:"}

// checkMessage fails when msg holds a store's internals or a word twice
// in a row ("not found: not found", "conflict: conflict").
func checkMessage(t *testing.T, what, msg string) {
	t.Helper()
	lower := strings.ToLower(msg)
	for _, w := range storeWords {
		assert.NotContains(t, lower, w, "%s: %q tells the store's internals", what, msg)
	}
	words := strings.FieldsFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i := 1; i < len(words); i++ {
		assert.NotEqual(t, words[i-1], words[i], "%s: %q says %q twice", what, msg, words[i])
		if i >= 3 && words[i-3] == words[i-1] && words[i-2] == words[i] {
			assert.Fail(t, "two words twice", "%s: %q says %q twice", what, msg, words[i-1]+" "+words[i])
		}
	}
}

// checkError checks an error answer's status, code and message.
func checkError(t *testing.T, h *harness, method, path, sub string, body any, status int, code, want string) {
	t.Helper()
	e := requireError(t, h.call(method, path, sub, body), status, code)
	checkMessage(t, method+" "+path, e.Error.Message)
	for _, v := range e.Error.Violations {
		checkMessage(t, method+" "+path+" violation", v)
	}
	if want != "" {
		assert.Equal(t, want, e.Error.Message, "%s %s", method, path)
	}
	t.Logf("%s %s: %d %s", method, path, status, e.Error.Message)
}

// Error answers on both stores name what is missing or conflicting in the
// caller's words: never the store's wrapping ("embedded: policy revision
// ... not found", "redis: get request ...") nor the sentinel's word twice
// ("not found: not found"). Down, the store's address and wording stay in
// the log too (R45).
func TestErrorMessagesTellNoStoreInternals(t *testing.T) {
	for _, kind := range []struct {
		name string
		open func(t *testing.T) (engine.Store, func())
	}{
		{"embedded", func(t *testing.T) (engine.Store, func()) {
			s := openEmbedded(t)
			return s, func() { require.NoError(t, s.Close()) }
		}},
		{"redis", func(t *testing.T) (engine.Store, func()) {
			srv := redistest.Start(t)
			return openRedis(t, srv), srv.Stop
		}},
	} {
		t.Run(kind.name, func(t *testing.T) {
			store, stop := kind.open(t)
			h := newHarness(t, store)
			acmeReq, _ := twoAccounts(h)
			h.mustWrite(http.MethodPost, "/v1/access-requests/"+acmeReq+"/deny", "alice", map[string]any{"reason_code": "other"})

			notFound := []struct{ method, path, sub, want string }{
				{http.MethodGet, "/v1/access-requests/req-123", systemAdmin, "access request req-123 not found"},
				{http.MethodPost, "/v1/access-requests/req-123/approve", "alice", "access request req-123 not found"},
				{http.MethodPost, "/v1/access-requests/req-123/deny", "alice", "access request req-123 not found"},
				{http.MethodPost, "/v1/access-requests/req-123/revoke", "alice", "access request req-123 not found"},
				{http.MethodPatch, "/v1/access-requests/req-123", "alice", "access request req-123 not found"},
				{http.MethodGet, "/v1/users/nobody", systemAdmin, "user nobody does not exist"},
				{http.MethodGet, "/v1/accounts/nowhere", systemAdmin, "account nowhere does not exist"},
				{http.MethodGet, "/v1/accounts/acme/members/carl", systemAdmin, "carl is not a member of acme"},
				{http.MethodDelete, "/v1/accounts/acme/members/carl", systemAdmin, "carl is not a member of acme"},
				{http.MethodPut, "/v1/accounts/acme/members/ghost", systemAdmin, ""},
				{http.MethodPost, "/v1/policies/0123456789abcdef/activate", systemAdmin, ""},
			}
			for _, c := range notFound {
				var body any
				switch c.method {
				case http.MethodPost:
					body = map[string]any{"reason_code": "other"}
					if strings.HasSuffix(c.path, "/approve") || strings.HasSuffix(c.path, "/activate") || strings.HasSuffix(c.path, "/revoke") {
						body = nil
					}
				case http.MethodPut:
					body = map[string]any{"roles": []string{"account_user"}, "justification": "x"}
				case http.MethodPatch:
					body = map[string]any{"expires_at": nil}
				}
				checkError(t, h, c.method, c.path, c.sub, body, http.StatusNotFound, "not_found", c.want)
			}

			// R25: decided once.
			checkError(t, h, http.MethodPost, "/v1/access-requests/"+acmeReq+"/deny", "alice", map[string]any{"reason_code": "other"},
				http.StatusConflict, "conflict", "")
			checkError(t, h, http.MethodPost, "/v1/access-requests/"+acmeReq+"/approve", "alice", nil,
				http.StatusConflict, "conflict", "")
			// A cursor this store never gave.
			checkError(t, h, http.MethodGet, "/v1/audit?account=acme&after=not-a-cursor", systemAdmin, nil,
				http.StatusBadRequest, "invalid_input", "")

			stop()
			checkError(t, h, http.MethodGet, "/v1/accounts/acme/members", systemAdmin, nil, http.StatusServiceUnavailable, "unavailable", "")
			checkError(t, h, http.MethodPut, "/v1/accounts/acme/members/carl", systemAdmin,
				map[string]any{"roles": []string{"account_user"}, "justification": "x"}, http.StatusServiceUnavailable, "unavailable", "")
			checkError(t, h, http.MethodGet, "/v1/access-requests/"+acmeReq, systemAdmin, nil, http.StatusServiceUnavailable, "unavailable", "")
			checkError(t, h, http.MethodGet, "/ready", "", nil, http.StatusServiceUnavailable, "unavailable", "")
			d := h.decide("bob", "use", "acme")
			assert.False(t, d.Allow)
			assert.Equal(t, "store_unavailable", d.Error)
			for _, r := range d.Reasons {
				checkMessage(t, "decision reason", r)
			}
			t.Logf("decision with the store down: %v", d.Reasons)
		})
	}
}
