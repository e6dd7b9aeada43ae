package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// testDecisionTimeout is the decision deadline of the engines under test:
// long enough that a cold evaluation under -race on a busy machine is never
// cut short. Tests of the deadline itself set their own.
const testDecisionTimeout = time.Minute

// testSecret signs the tests' HS256 tokens.
var testSecret = []byte("gatehouse-test-secret-0123456789abcdef")

// systemAdmin is the operator subject the tests configure (R32).
const systemAdmin = "ops"

// builtinPolicy compiles the built-in policies once for the whole test binary.
var builtinPolicy = sync.OnceValues(func() (*engine.Policy, error) {
	files, err := engine.ReadPolicyFiles(policies.FS())
	if err != nil {
		return nil, err
	}
	return engine.CompilePolicy(context.Background(), files, "test")
})

// harness is a gatehouse HTTP API over a real engine and store.
type harness struct {
	tb       testing.TB
	store    engine.Store
	eng      *engine.Engine
	server   *httpapi.Server
	handler  http.Handler // server, validated against openapi.yaml (contract_test.go)
	registry *prometheus.Registry
}

// newHarness serves the API over store with the built-in policies, the
// system administrator "ops" and HS256 tokens signed with testSecret.
func newHarness(tb testing.TB, store engine.Store, opts ...httpapi.Option) *harness {
	tb.Helper()
	policy, err := builtinPolicy()
	require.NoError(tb, err, "compile the built-in policies")
	reg := prometheus.NewRegistry()
	eng, err := engine.New(store, policy,
		engine.WithSystemAdmins(systemAdmin),
		engine.WithObserver(httpapi.NewMetrics(reg)),
		engine.WithDecisionTimeout(testDecisionTimeout),
		engine.WithLogger(quietLogger()),
	)
	require.NoError(tb, err)
	verifier, err := httpapi.NewHS256Verifier(testSecret)
	require.NoError(tb, err)
	all := append([]httpapi.Option{
		httpapi.WithVerifier(verifier),
		httpapi.WithRegistry(reg),
		httpapi.WithLogger(quietLogger()),
	}, opts...)
	server := httpapi.New(eng, all...)
	return &harness{tb: tb, store: store, eng: eng, server: server, handler: contractChecked(tb, server), registry: reg}
}

// newEmbeddedHarness serves the API over a fresh embedded store.
func newEmbeddedHarness(tb testing.TB, opts ...httpapi.Option) *harness {
	tb.Helper()
	return newHarness(tb, openEmbedded(tb), opts...)
}

func openEmbedded(tb testing.TB) engine.Store {
	tb.Helper()
	store, err := embedded.Open(tb.TempDir(), embedded.WithNoSync())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = store.Close() })
	return store
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// with returns the harness reporting to tb: a fuzz target must report to
// its own *testing.T, not to the *testing.F that built the harness.
func (h *harness) with(tb testing.TB) *harness {
	c := *h
	c.tb = tb
	c.handler = contractChecked(tb, h.server)
	return &c
}

// token returns a valid bearer token for sub.
func (h *harness) token(sub string) string {
	h.tb.Helper()
	tok, err := httpapi.MintHS256(testSecret, sub, time.Hour)
	require.NoError(h.tb, err)
	return tok
}

// call sends a request as sub ("" sends no token). body is sent as is when
// it is a string, JSON-encoded otherwise, and not at all when nil.
func (h *harness) call(method, path, sub string, body any) *httptest.ResponseRecorder {
	h.tb.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(h.tb, err)
		reader = strings.NewReader(string(raw))
	}
	req := httptest.NewRequest(method, path, reader)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if sub != "" {
		req.Header.Set("Authorization", "Bearer "+h.token(sub))
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

// decide asks one decision and returns the answer.
func (h *harness) decide(subject, action, account string) decisionAnswer {
	h.tb.Helper()
	rec := h.call(http.MethodPost, "/v1/decisions", "", map[string]any{
		"subject": subject, "action": action, "resource": map[string]any{"account": account},
	})
	require.Equal(h.tb, http.StatusOK, rec.Code, rec.Body.String())
	return decodeAs[decisionAnswer](h.tb, rec)
}

// seed commits a change straight to the store, as the state a test starts from.
func (h *harness) seed(change engine.Change) {
	h.tb.Helper()
	seedStore(h.tb, h.store, change)
}

func seedStore(tb testing.TB, store engine.Store, change engine.Change) {
	tb.Helper()
	ctx := context.Background()
	change.Versions = map[string]uint64{}
	touch := func(account string) {
		state, err := store.AccountState(ctx, account)
		if errors.Is(err, engine.ErrNotFound) {
			change.Versions[account] = 0
			return
		}
		require.NoError(tb, err)
		change.Versions[account] = state.Version
	}
	for _, a := range change.Accounts {
		touch(a.ID)
	}
	for _, m := range change.Members {
		touch(m.Account)
	}
	require.NoError(tb, store.Commit(ctx, change))
}

// decisionAnswer is the decision answer of API.md.
type decisionAnswer struct {
	Allow          bool     `json:"allow"`
	Reasons        []string `json:"reasons"`
	DecisionID     string   `json:"decision_id"`
	PolicyRevision string   `json:"policy_revision"`
	Error          string   `json:"error"`
}

// errorAnswer is the error body of API.md.
type errorAnswer struct {
	Error struct {
		Code       string   `json:"code"`
		Message    string   `json:"message"`
		Violations []string `json:"violations"`
	} `json:"error"`
}

// decodeAs decodes a JSON answer, refusing fields T does not know only
// when T says so.
func decodeAs[T any](tb testing.TB, rec *httptest.ResponseRecorder) T {
	tb.Helper()
	var v T
	require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &v), "answer: %s", rec.Body.String())
	return v
}

// requireError checks an error answer's status and code and returns it.
func requireError(tb testing.TB, rec *httptest.ResponseRecorder, status int, code string) errorAnswer {
	tb.Helper()
	require.Equal(tb, status, rec.Code, rec.Body.String())
	require.Equal(tb, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
	var raw map[string]map[string]any
	require.NoError(tb, json.Unmarshal(rec.Body.Bytes(), &raw), rec.Body.String())
	require.Len(tb, raw, 1, "the error body has only the key error: %s", rec.Body.String())
	for key := range raw["error"] {
		require.Contains(tb, []string{"code", "message", "violations"}, key, rec.Body.String())
	}
	e := decodeAs[errorAnswer](tb, rec)
	require.Equal(tb, code, e.Error.Code, rec.Body.String())
	require.NotEmpty(tb, e.Error.Message)
	return e
}

// Fixtures of the decision tests: account acme with virtual account va1,
// alice an account_user of it, bob a user with no membership.
func seedAcme(h *harness) {
	h.tb.Helper()
	now := time.Now().UTC()
	h.seed(engine.Change{
		Users: []engine.User{
			{ID: "alice", Email: "alice@example.com", FirstName: "Alice", LastName: "A", CreatedAt: now},
			{ID: "bob", Email: "bob@example.com", FirstName: "Bob", LastName: "B", CreatedAt: now},
		},
		Accounts: []engine.Account{{ID: "acme", Name: "Acme", VirtualAccounts: []string{"va1"}, CreatedAt: now}},
		Members: []engine.Membership{{
			Account: "acme", User: "alice", Roles: []string{"account_user"},
			AddedBy: systemAdmin, AddedAt: now,
		}},
	})
}
