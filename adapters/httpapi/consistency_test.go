package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// newCachedRedisHarness serves the API over a Redis store on srv with
// the client-side cache: one replica of several on one Redis.
func newCachedRedisHarness(tb testing.TB, srv *redistest.Server) *harness {
	tb.Helper()
	store, err := redisstore.Open(srv.URL(), redisstore.WithClientSideCache(8<<20),
		redisstore.WithReadTimeout(time.Minute), redisstore.WithWriteTimeout(time.Minute))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = store.Close() })
	return newHarness(tb, store)
}

// decideAtLeast asks one decision with consistency.at_least token.
func (h *harness) decideAtLeast(subject, action, account, token string) decisionAnswer {
	h.tb.Helper()
	rec := h.call(http.MethodPost, "/v1/decisions", "", map[string]any{
		"subject": subject, "action": action, "resource": map[string]any{"account": account},
		"consistency": map[string]any{"at_least": token},
	})
	require.Equal(h.tb, http.StatusOK, rec.Code, rec.Body.String())
	return decodeAs[decisionAnswer](h.tb, rec)
}

// callWithKey sends a JSON body as sub with an Idempotency-Key.
func (h *harness) callWithKey(method, path, sub, key string, body any) *httptest.ResponseRecorder {
	h.tb.Helper()
	raw, err := json.Marshal(body)
	require.NoError(h.tb, err)
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.token(sub))
	req.Header.Set("Idempotency-Key", key)
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

// Read-your-writes across replicas: a write through one replica answers a
// Consistency-Token; a decision carrying it on another replica, whose
// cache holds the state before the write, is decided on the write (single,
// batch and Data API); a retry with the write's Idempotency-Key answers
// the same token.
func TestConsistencyTokenReadYourWrites(t *testing.T) {
	srv := redistest.Start(t)
	writer := newCachedRedisHarness(t, srv)
	reader := newCachedRedisHarness(t, srv)
	seedAcme(writer)
	require.True(t, reader.decide("alice", "view", "acme").Allow, "the reader's cache holds alice's membership")

	rec := writer.call(http.MethodDelete, "/v1/accounts/acme/members/alice", systemAdmin, nil)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	token := rec.Header().Get("Consistency-Token")
	require.NotEmpty(t, token, "a write answers its token")
	parsed, err := engine.ParseToken("t", token)
	require.NoError(t, err)
	assert.Contains(t, parsed.Versions, "acme")

	d := reader.decideAtLeast("alice", "view", "acme", token)
	assert.False(t, d.Allow, "decided on the revocation: %v", d.Reasons)
	assert.Empty(t, d.Error)

	rec = reader.call(http.MethodPost, "/v1/decisions/batch", "", map[string]any{
		"consistency": map[string]any{"at_least": token},
		"checks":      []any{map[string]any{"subject": "alice", "action": "view", "resource": map[string]any{"account": "acme"}}},
	})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"allow":false`)

	rec = reader.call(http.MethodPost, "/v1/data/gatehouse/decision/allow", "", map[string]any{"input": map[string]any{
		"subject": "alice", "action": "view", "resource": map[string]any{"account": "acme"},
		"consistency": map[string]any{"at_least": token},
	}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, false, decodeAs[map[string]any](t, rec)["result"])

	// A retry with the same Idempotency-Key answers the first token.
	put := func() (int, string, string) {
		req := map[string]any{"roles": []string{"account_user"}, "justification": "back again"}
		rec := writer.callWithKey(http.MethodPut, "/v1/accounts/acme/members/alice", systemAdmin, "k-1", req)
		return rec.Code, rec.Header().Get("Consistency-Token"), rec.Header().Get("Idempotent-Replayed")
	}
	code, first, _ := put()
	require.Equal(t, http.StatusCreated, code)
	require.NotEmpty(t, first)
	code, again, replayed := put()
	require.Equal(t, http.StatusCreated, code)
	assert.Equal(t, "true", replayed)
	assert.Equal(t, first, again)
	assert.True(t, reader.decideAtLeast("alice", "view", "acme", first).Allow)
}

// A malformed token is a 400 naming the field, on every decision path,
// and decides nothing (R44).
func TestConsistencyTokenMalformed(t *testing.T) {
	h := newEmbeddedHarness(t)
	seedAcme(h)
	question := map[string]any{"subject": "alice", "action": "view", "resource": map[string]any{"account": "acme"}}
	with := func(consistency any) map[string]any {
		q := map[string]any{"consistency": consistency}
		for k, v := range question {
			q[k] = v
		}
		return q
	}
	for _, tc := range []struct {
		name, path string
		body       any
		field      string
	}{
		{"not base64url", "/v1/decisions", with(map[string]any{"at_least": "not a token!"}), "consistency.at_least"},
		{"empty", "/v1/decisions", with(map[string]any{"at_least": ""}), "consistency.at_least"},
		{"an unknown key", "/v1/decisions", with(map[string]any{"at_most": "x"}), "consistency.at_most"},
		{"a check's", "/v1/decisions/batch", map[string]any{"checks": []any{question, with(map[string]any{"at_least": "e30"})}}, "checks[1].consistency.at_least"},
		{"the batch's", "/v1/decisions/batch", map[string]any{"checks": []any{question}, "consistency": map[string]any{"at_least": "e30"}}, "consistency.at_least"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := requireError(t, h.call(http.MethodPost, tc.path, "", tc.body), http.StatusBadRequest, "invalid_input")
			assert.True(t, strings.HasPrefix(e.Error.Message, tc.field), e.Error.Message)
		})
	}
	rec := h.call(http.MethodPost, "/v1/data/gatehouse/decision/allow", "", map[string]any{"input": with(map[string]any{"at_least": 7})})
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), "input.consistency.at_least: must be a string")
}

// On the embedded store a write's token is always reached: the decision
// carrying it sees the write.
func TestConsistencyTokenEmbedded(t *testing.T) {
	h := newEmbeddedHarness(t)
	seedAcme(h)
	rec := h.call(http.MethodDelete, "/v1/accounts/acme/members/alice", systemAdmin, nil)
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	token := rec.Header().Get("Consistency-Token")
	require.NotEmpty(t, token)
	assert.False(t, h.decideAtLeast("alice", "view", "acme", token).Allow)
}
