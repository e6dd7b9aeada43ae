package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzBody posts body to path as sub and checks R44: no panic, no 500, a
// status from allowed, and a JSON answer (the error body on errors).
func fuzzBody(t *testing.T, h *harness, method, path, sub, body string, allowed ...int) {
	rec := h.with(t).call(method, path, sub, body)
	require.Contains(t, allowed, rec.Code, "body %q answered %s", body, rec.Body.String())
	if rec.Code == http.StatusNoContent {
		return
	}
	var answer map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &answer), "answer %q", rec.Body.String())
	if rec.Code >= 400 {
		e, ok := answer["error"].(map[string]any)
		require.True(t, ok, "error body %q", rec.Body.String())
		require.NotEmpty(t, e["code"])
		require.NotEmpty(t, e["message"])
	}
}

func FuzzDecisionBody(f *testing.F) {
	for _, seed := range []string{
		`{"subject":"alice","action":"view","resource":{"account":"acme"}}`,
		`{"subject":"alice","action":"use","resource":{"account":"acme","virtual_account":"va1"},"context":{"ip":"10.0.0.1","n":1e400}}`,
		`{"subject":"alice","action":"impersonate.support","resource":{"account":"acme"},"context":{"a":[1,{"b":null}]}}`,
		`{"subject":7}`, `{"resource":[]}`, `{"context":"x"}`, `{"subjekt":"a"}`, `null`, `[]`, `""`, ``,
		`{"subject":"alice","action":"view","resource":{"account":"acme"}} trailing`,
		`{"subject":"\u0000","action":"\ud800","resource":{"account":"é"}}`,
	} {
		f.Add(seed)
	}
	h := newEmbeddedHarness(f)
	seedAcme(h)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzBody(t, h, http.MethodPost, "/v1/decisions", "", body,
			http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
	})
}

func FuzzBatchBody(f *testing.F) {
	for _, seed := range []string{
		`{"checks":[{"subject":"alice","action":"view","resource":{"account":"acme"}}]}`,
		`{"checks":[{"subject":"alice","action":"view","resource":{"account":"acme"}},{"subject":"","action":"x","resource":{"account":"acme"}}]}`,
		`{"checks":[]}`, `{"checks":null}`, `{"checks":{}}`, `{"checks":[1]}`, `{}`, `[]`,
	} {
		f.Add(seed)
	}
	h := newEmbeddedHarness(f)
	seedAcme(h)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzBody(t, h, http.MethodPost, "/v1/decisions/batch", "", body,
			http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
	})
}
