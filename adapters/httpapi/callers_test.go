package httpapi_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// Issue 10 §5: decision callers are authenticated when configured, and the
// policy (data.json decision_callers) decides which applications may ask
// about what.

// callerPolicy is the built-in policy with decision_callers set: billing may
// ask about view only, portal about everything.
func callerPolicy(t *testing.T) *engine.Policy {
	t.Helper()
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(t, err)
	var data map[string]map[string]map[string]any
	require.NoError(t, json.Unmarshal(files["data.json"], &data))
	data["gatehouse"]["config"]["decision_callers"] = map[string][]string{"billing": {"view"}, "portal": {"*"}}
	files["data.json"], err = json.Marshal(data)
	require.NoError(t, err)
	policy, err := engine.CompilePolicy(context.Background(), files, "callers")
	require.NoError(t, err)
	return policy
}

// callerHarness serves the API with callerPolicy and the given decision
// authentication.
func callerHarness(t *testing.T, mode httpapi.DecisionAuth) *harness {
	t.Helper()
	h := newEmbeddedHarness(t, httpapi.WithDecisionAuth(mode))
	h.eng.SetPolicy(callerPolicy(t))
	seedAcme(h)
	return h
}

func TestDecisionAuthToken(t *testing.T) {
	h := callerHarness(t, httpapi.DecisionAuthToken)
	question := map[string]any{"subject": "alice", "action": "view", "resource": map[string]any{"account": "acme"}}

	t.Run("no token is a 401 on every decision path", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/decisions", "", question)
		requireError(t, rec, http.StatusUnauthorized, "unauthenticated")
		assert.Equal(t, `Bearer realm="gatehouse"`, rec.Header().Get("WWW-Authenticate"))
		requireError(t, h.call(http.MethodPost, "/v1/decisions/batch", "", map[string]any{"checks": []any{question}}),
			http.StatusUnauthorized, "unauthenticated")
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			rec := h.call(method, "/v1/data/gatehouse/decision/allow", "", map[string]any{"input": question})
			require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
			var opa map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &opa))
			assert.Equal(t, "unauthorized", opa["code"], "OPA's error shape on /v1/data")
			assert.Contains(t, opa["message"], "bearer token is required")
		}
		// OPA's default decision and batch Data API, as OPA's SDKs call them.
		for path, body := range map[string]any{
			"/": question,
			"/v1/batch/data/gatehouse/decision/allow": map[string]any{"inputs": map[string]any{"a": question}},
		} {
			rec := h.call(http.MethodPost, path, "", body)
			require.Equal(t, http.StatusUnauthorized, rec.Code, "%s: %s", path, rec.Body.String())
			var opa map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &opa))
			assert.Equal(t, "unauthorized", opa["code"], "%s: OPA's error shape", path)
		}
	})
	t.Run("the default decision and the batch Data API know the caller", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/", "intruder", question)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, false, decodeAs[map[string]any](t, rec)["allow"], "an application not named is refused")
		rec = h.call(http.MethodPost, "/", "billing", question)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, true, decodeAs[map[string]any](t, rec)["allow"])
		rec = h.call(http.MethodPost, "/v1/batch/data/gatehouse/decision/allow", "intruder", map[string]any{"inputs": map[string]any{"a": question}})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.JSONEq(t, `{"a": {"result": false}}`, stripDecisionIDs(t, rec.Body.Bytes()))
	})
	t.Run("a token of another key is a 401", func(t *testing.T) {
		tok, err := httpapi.MintHS256([]byte(strings.Repeat("x", 32)), "billing", time.Hour)
		require.NoError(t, err)
		req := httptest.NewRequest(http.MethodPost, "/v1/decisions", strings.NewReader(`{"subject":"alice","action":"view","resource":{"account":"acme"}}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		e := requireError(t, rec, http.StatusUnauthorized, "unauthenticated")
		assert.NotContains(t, e.Error.Message, tok)
	})
	t.Run("a named application is answered", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/decisions", "billing", question)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.True(t, decodeAs[decisionAnswer](t, rec).Allow)
		rec = h.call(http.MethodPost, "/v1/data/gatehouse/decision/allow", "billing", map[string]any{"input": question})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.JSONEq(t, `true`, string(decodeAs[map[string]json.RawMessage](t, rec)["result"]))
	})
	t.Run("an application not named learns nothing", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/decisions", "intruder", question)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		d := decodeAs[decisionAnswer](t, rec)
		assert.False(t, d.Allow)
		assert.Equal(t, []string{`application "intruder" may not ask for decisions (it is not in decision_callers)`}, d.Reasons)
	})
	t.Run("an application asks only about its actions", func(t *testing.T) {
		q := map[string]any{"subject": "alice", "action": "use", "resource": map[string]any{"account": "acme"}}
		rec := h.call(http.MethodPost, "/v1/decisions/batch", "billing", map[string]any{"checks": []any{question, q}})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var out struct{ Results []decisionAnswer }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
		require.Len(t, out.Results, 2)
		assert.True(t, out.Results[0].Allow)
		assert.Equal(t, []string{`application "billing" may not ask about "use" (decision_callers allows it view)`}, out.Results[1].Reasons)
		rec = h.call(http.MethodPost, "/v1/decisions", "portal", q)
		assert.True(t, decodeAs[decisionAnswer](t, rec).Allow, "portal may ask about every action")
	})
	t.Run("the Data API refuses a caller set in the input", func(t *testing.T) {
		forged := map[string]any{"subject": "alice", "action": "view", "resource": map[string]any{"account": "acme"}, "caller": "billing"}
		rec := h.call(http.MethodPost, "/v1/data/gatehouse/decision/allow", "intruder", map[string]any{"input": forged})
		require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
		assert.Contains(t, rec.Body.String(), "input.caller")
	})
}

// Without decision authentication, a policy that names its callers denies
// every decision: no caller identity reaches it.
func TestDecisionAuthNoneWithRestrictingPolicy(t *testing.T) {
	h := callerHarness(t, httpapi.DecisionAuthNone)
	d := h.decide("alice", "view", "acme")
	assert.False(t, d.Allow)
	assert.Equal(t, []string{"decisions are answered to authenticated applications only, and this request carries no caller identity (serve --decision-auth)"}, d.Reasons)
}

func TestDecisionAuthClientCert(t *testing.T) {
	h := callerHarness(t, httpapi.DecisionAuthClientCert)
	ask := func(state *tls.ConnectionState) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/v1/decisions", strings.NewReader(`{"subject":"alice","action":"view","resource":{"account":"acme"}}`))
		req.TLS = state
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		return rec
	}
	verified := func(cert *x509.Certificate) *tls.ConnectionState {
		return &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{cert}}}
	}
	requireError(t, ask(nil), http.StatusUnauthorized, "unauthenticated")
	requireError(t, ask(&tls.ConnectionState{}), http.StatusUnauthorized, "unauthenticated")
	requireError(t, ask(verified(&x509.Certificate{})), http.StatusUnauthorized, "unauthenticated")

	rec := ask(verified(&x509.Certificate{Subject: pkix.Name{CommonName: "billing"}}))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.True(t, decodeAs[decisionAnswer](t, rec).Allow, "the common name is the caller")

	spiffe, err := url.Parse("spiffe://example.org/ns/apps/sa/intruder")
	require.NoError(t, err)
	rec = ask(verified(&x509.Certificate{Subject: pkix.Name{CommonName: "billing"}, URIs: []*url.URL{spiffe}}))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	d := decodeAs[decisionAnswer](t, rec)
	assert.False(t, d.Allow)
	assert.Equal(t, []string{`application "spiffe://example.org/ns/apps/sa/intruder" may not ask for decisions (it is not in decision_callers)`}, d.Reasons,
		"the URI SAN wins over the common name")
}

func TestParseDecisionAuth(t *testing.T) {
	for _, m := range httpapi.DecisionAuthModes {
		got, err := httpapi.ParseDecisionAuth(string(m))
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := httpapi.ParseDecisionAuth("jwt")
	assert.EqualError(t, err, `must be none, token or client-cert, not "jwt"`)
}

// stripDecisionIDs returns a batch answer's responses without their
// decision ids, which vary by run.
func stripDecisionIDs(t *testing.T, body []byte) string {
	t.Helper()
	var out struct {
		Responses map[string]map[string]any `json:"responses"`
	}
	require.NoError(t, json.Unmarshal(body, &out))
	for _, r := range out.Responses {
		delete(r, "decision_id")
	}
	b, err := json.Marshal(out.Responses)
	require.NoError(t, err)
	return string(b)
}
