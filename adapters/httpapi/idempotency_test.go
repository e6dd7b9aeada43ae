package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// keyedClient calls a real HTTP server over the harness with tokens and
// Idempotency-Key headers.
type keyedClient struct {
	h   *harness
	url string
}

// answer is one HTTP answer, read whole.
type answer struct {
	status   int
	body     string
	replayed bool
}

func newKeyedClient(t *testing.T) *keyedClient {
	h := newEmbeddedHarness(t)
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	seedAcme(h)
	return &keyedClient{h: h, url: srv.URL}
}

// do sends method path as sub with key ("" sends none) and body as is.
func (k *keyedClient) do(method, path, sub, key, body string) answer {
	k.h.tb.Helper()
	req, err := http.NewRequest(method, k.url+path, strings.NewReader(body))
	require.NoError(k.h.tb, err)
	req.Header.Set("Authorization", "Bearer "+k.h.token(sub))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(k.h.tb, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(k.h.tb, err)
	return answer{status: resp.StatusCode, body: string(raw), replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
}

// auditActions lists the actions of acme's audit trail.
func (k *keyedClient) auditActions() []string {
	k.h.tb.Helper()
	a := k.do(http.MethodGet, "/v1/audit?account=acme&limit=1000", systemAdmin, "", "")
	require.Equal(k.h.tb, http.StatusOK, a.status, a.body)
	var page struct {
		Items []struct {
			Action string `json:"action"`
		} `json:"items"`
	}
	require.NoError(k.h.tb, json.Unmarshal([]byte(a.body), &page))
	out := make([]string, len(page.Items))
	for i, it := range page.Items {
		out[i] = it.Action
	}
	return out
}

// count counts s in list.
func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// R40, R41: a write retried with the same Idempotency-Key and request gets
// the first answer again, same status and body, and changes nothing more:
// one request, one approval (not 409 "already granted"), one member added
// (201, not 200), one member removed (204, not 404).
func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	k := newKeyedClient(t)
	steps := []struct {
		name, method, path, sub, body string
		status                        int
		action                        string
	}{
		{"request access", http.MethodPost, "/v1/accounts/acme/access-requests", "bob", `{"justification":"lab work"}`, http.StatusCreated, engine.ActionRequestCreated},
		{"add a member", http.MethodPut, "/v1/accounts/acme/members/carol", systemAdmin, `{"roles":["account_viewer"],"justification":"audit"}`, http.StatusCreated, engine.ActionMemberAdded},
		{"remove a member", http.MethodDelete, "/v1/accounts/acme/members/carol", systemAdmin, "", http.StatusNoContent, engine.ActionMemberRemoved},
	}
	k.h.seed(engine.Change{Users: []engine.User{{ID: "carol", Email: "carol@example.com"}}})
	var requestID string
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			key := fmt.Sprintf("key-%d", i)
			first := k.do(st.method, st.path, st.sub, key, st.body)
			require.Equal(t, st.status, first.status, first.body)
			assert.False(t, first.replayed)
			again := k.do(st.method, st.path, st.sub, key, st.body)
			assert.Equal(t, first.status, again.status)
			assert.Equal(t, first.body, again.body)
			assert.True(t, again.replayed, "the retry is answered from the kept answer")
			assert.Equal(t, 1, count(k.auditActions(), st.action))
			if i == 0 {
				var r struct {
					ID string `json:"id"`
				}
				require.NoError(t, json.Unmarshal([]byte(first.body), &r))
				requestID = r.ID
			}
		})
	}

	t.Run("approve", func(t *testing.T) {
		path, body := "/v1/access-requests/"+requestID+"/approve", `{"scope":"account","role":"account_user"}`
		first := k.do(http.MethodPost, path, systemAdmin, "approve-1", body)
		require.Equal(t, http.StatusOK, first.status, first.body)
		again := k.do(http.MethodPost, path, systemAdmin, "approve-1", body)
		assert.Equal(t, http.StatusOK, again.status, "not 409 already granted: %s", again.body)
		assert.Equal(t, first.body, again.body)
		assert.Equal(t, 1, count(k.auditActions(), engine.ActionRequestGranted))

		unkeyed := k.do(http.MethodPost, path, systemAdmin, "", body)
		assert.Equal(t, http.StatusConflict, unkeyed.status, "without the key the retry is decided again: %s", unkeyed.body)
	})
}

// The same Idempotency-Key with another request (body, path or method) of
// the same actor is refused with 422 naming the header, and changes
// nothing; another actor's same key is theirs.
func TestIdempotencyKeyWithAnotherRequestIsRefused(t *testing.T) {
	k := newKeyedClient(t)
	k.h.seed(engine.Change{Users: []engine.User{{ID: "carol", Email: "carol@example.com"}}})
	first := k.do(http.MethodPut, "/v1/accounts/acme/members/carol", systemAdmin, "k1", `{"roles":["account_viewer"],"justification":"audit"}`)
	require.Equal(t, http.StatusCreated, first.status, first.body)

	others := []struct{ name, method, path, body string }{
		{"another body", http.MethodPut, "/v1/accounts/acme/members/carol", `{"roles":["account_admin"],"justification":"audit"}`},
		{"another path", http.MethodPut, "/v1/accounts/acme/members/bob", `{"roles":["account_viewer"],"justification":"audit"}`},
		{"another method", http.MethodDelete, "/v1/accounts/acme/members/carol", ""},
	}
	for _, tc := range others {
		t.Run(tc.name, func(t *testing.T) {
			a := k.do(tc.method, tc.path, systemAdmin, "k1", tc.body)
			require.Equal(t, http.StatusUnprocessableEntity, a.status, a.body)
			var e errorAnswer
			require.NoError(t, json.Unmarshal([]byte(a.body), &e))
			assert.Equal(t, "idempotency_key_reused", e.Error.Code)
			assert.Contains(t, e.Error.Message, "Idempotency-Key")
		})
	}
	assert.Equal(t, []string{engine.ActionMemberAdded}, k.auditActions(), "nothing changed after the first")

	theirs := k.do(http.MethodPost, "/v1/accounts/acme/access-requests", "bob", "k1", `{}`)
	assert.Equal(t, http.StatusCreated, theirs.status, "another actor's key: %s", theirs.body)
}

// R40: many retries of one write with one key, at once: exactly one change,
// and every one of them gets the same answer.
func TestIdempotencyKeyConcurrentRetriesChangeOnce(t *testing.T) {
	k := newKeyedClient(t)
	const retries = 20
	answers := make([]answer, retries)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range retries {
		wg.Go(func() {
			<-start
			answers[i] = k.do(http.MethodPost, "/v1/accounts/acme/access-requests", "bob", "same-key", `{"justification":"once"}`)
		})
	}
	close(start)
	wg.Wait()
	replays := 0
	for i, a := range answers {
		require.Equal(t, http.StatusCreated, a.status, "retry %d: %s", i, a.body)
		assert.Equal(t, answers[0].body, a.body, "retry %d", i)
		if a.replayed {
			replays++
		}
	}
	assert.Equal(t, retries-1, replays, "all but one were replayed")
	assert.Equal(t, 1, count(k.auditActions(), engine.ActionRequestCreated))
}

// A refused command keeps nothing: its retry with the same key is decided
// again, on the state of then (R44: refused, nothing changed).
func TestIdempotencyKeyRefusedCommandIsDecidedAgain(t *testing.T) {
	k := newKeyedClient(t)
	body := `{"roles":["account_viewer"],"justification":"audit"}`
	refused := k.do(http.MethodPut, "/v1/accounts/acme/members/carol", systemAdmin, "k-refused", body)
	require.Equal(t, http.StatusNotFound, refused.status, "carol does not exist yet (R31): %s", refused.body)

	k.h.seed(engine.Change{Users: []engine.User{{ID: "carol", Email: "carol@example.com"}}})
	again := k.do(http.MethodPut, "/v1/accounts/acme/members/carol", systemAdmin, "k-refused", body)
	require.Equal(t, http.StatusCreated, again.status, again.body)
	assert.False(t, again.replayed)

	forbidden := k.do(http.MethodPut, "/v1/accounts/acme/members/bob", "bob", "k-forbidden", body)
	require.Equal(t, http.StatusForbidden, forbidden.status, forbidden.body)
	forbiddenAgain := k.do(http.MethodPut, "/v1/accounts/acme/members/bob", "bob", "k-forbidden", body)
	assert.Equal(t, http.StatusForbidden, forbiddenAgain.status)
	assert.False(t, forbiddenAgain.replayed)
}

// R44: an Idempotency-Key that is empty, too long, not printable ASCII or
// given twice is a 400 naming the header, and changes nothing.
func TestIdempotencyKeyIsBounded(t *testing.T) {
	k := newKeyedClient(t)
	bad := map[string][]string{
		"too long":    {strings.Repeat("k", 256)},
		"a space":     {"two words"},
		"non-ASCII":   {"clé"},
		"twice":       {"a", "b"},
		"a tab":       {"a\tb"},
		"empty value": {""},
	}
	for name, values := range bad {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, k.url+"/v1/accounts/acme/access-requests", bytes.NewReader([]byte(`{}`)))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+k.h.token("bob"))
			req.Header["Idempotency-Key"] = values
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var e errorAnswer
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.Equal(t, "invalid_input", e.Error.Code)
			assert.Contains(t, e.Error.Message, "Idempotency-Key")
		})
	}
	assert.Zero(t, count(k.auditActions(), engine.ActionRequestCreated), "nothing changed")
	ok := k.do(http.MethodPost, "/v1/accounts/acme/access-requests", "bob", strings.Repeat("k", 255), `{}`)
	assert.Equal(t, http.StatusCreated, ok.status, ok.body)
}

// replyLost is a store whose commits are applied but never answered, as
// when Redis applied a commit and the network then failed for good.
type replyLost struct{ engine.Store }

func (s replyLost) Commit(ctx context.Context, c engine.Change) error {
	if err := s.Store.Commit(ctx, c); err != nil {
		return err
	}
	return fmt.Errorf("test: reply lost: %w (%w)", engine.ErrOutcomeUnknown, engine.ErrUnavailable)
}

// R40, R45: a write whose commit's outcome cannot be known answers 503
// outcome_unknown, saying it may have been applied and how to retry
// safely, never "nothing was changed"; the retry with the same
// Idempotency-Key is answered from the record the commit kept.
func TestOutcomeUnknownIsNotNothingChanged(t *testing.T) {
	store := openEmbedded(t)
	healthy := newHarness(t, store)
	seedAcme(healthy)
	lost := newHarness(t, replyLost{store})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/v1/accounts/acme/access-requests", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+lost.token("bob"))
	req.Header.Set("Idempotency-Key", "k-lost")
	lost.handler.ServeHTTP(rec, req)
	e := requireError(t, rec, http.StatusServiceUnavailable, "outcome_unknown")
	assert.Contains(t, e.Error.Message, "may or may not have been applied")
	assert.Contains(t, e.Error.Message, "Idempotency-Key")
	assert.NotContains(t, e.Error.Message, "nothing was changed")

	rec = httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodPost, "/v1/accounts/acme/access-requests", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+healthy.token("bob"))
	req.Header.Set("Idempotency-Key", "k-lost")
	healthy.handler.ServeHTTP(rec, req)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.Equal(t, "true", rec.Header().Get("Idempotent-Replayed"), "the change was applied: its answer is replayed")
	pending, err := healthy.eng.ListRequests(context.Background(), systemAdmin, engine.RequestFilter{Account: "acme"})
	require.NoError(t, err)
	assert.Len(t, pending, 1)
}
