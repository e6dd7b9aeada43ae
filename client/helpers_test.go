package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// seedActor is the system administrator the demo data is seeded as, as
// `gatehouse seed` does; ops is the server's system administrator.
const (
	seedActor = "gatehouse-seed"
	opsAdmin  = "ops"
)

var testSecret = []byte("gatehouse-client-test-0123456789abcdef")

// gatehouse is a real gatehouse HTTP API, in process, over an embedded
// store seeded from testdata/demo.json.
type gatehouse struct {
	tb      testing.TB
	url     string
	handler http.Handler
}

// startGatehouse serves gatehouse on a free port; wrap, when not nil,
// wraps its handler (to make it fail, or to watch its answers).
func startGatehouse(tb testing.TB, wrap func(http.Handler) http.Handler) *gatehouse {
	tb.Helper()
	handler := newHandler(tb)
	served := handler
	if wrap != nil {
		served = wrap(handler)
	}
	ts := httptest.NewServer(served)
	tb.Cleanup(ts.Close)
	return &gatehouse{tb: tb, url: ts.URL, handler: handler}
}

// newHandler is gatehouse's handler over a fresh seeded store.
func newHandler(tb testing.TB) http.Handler {
	tb.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := embedded.Open(tb.TempDir(), embedded.WithNoSync())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = store.Close() })
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(tb, err)
	policy, err := engine.CompilePolicy(context.Background(), files, "built-in")
	require.NoError(tb, err)
	seedDemo(tb, store, policy)
	eng, err := engine.New(store, policy, engine.WithLogger(quiet), engine.WithSystemAdmins(opsAdmin),
		engine.WithDecisionTimeout(time.Minute)) // generous: a busy machine never turns an answer into a timeout
	require.NoError(tb, err)
	verifier, err := httpapi.NewHS256Verifier(testSecret)
	require.NoError(tb, err)
	return httpapi.New(eng, httpapi.WithVerifier(verifier), httpapi.WithLogger(quiet))
}

// seedDemo loads testdata/demo.json as `gatehouse seed` does.
func seedDemo(tb testing.TB, store engine.Store, policy *engine.Policy) {
	tb.Helper()
	raw, err := os.ReadFile("../testdata/demo.json")
	require.NoError(tb, err)
	var seed struct {
		Accounts []engine.Account    `json:"accounts"`
		Users    []engine.User       `json:"users"`
		Members  []engine.Membership `json:"members"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	require.NoError(tb, dec.Decode(&seed))
	eng, err := engine.New(store, policy, engine.WithSystemAdmins(seedActor),
		engine.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(tb, err)
	ctx := context.Background()
	for _, a := range seed.Accounts {
		_, _, err := eng.PutAccount(ctx, seedActor, a)
		require.NoError(tb, err, "seed account %s", a.ID)
	}
	for _, u := range seed.Users {
		_, _, err := eng.PutUser(ctx, seedActor, u)
		require.NoError(tb, err, "seed user %s", u.ID)
	}
	for _, m := range seed.Members {
		_, err := eng.SetMember(ctx, seedActor, m)
		require.NoError(tb, err, "seed member %s of %s", m.User, m.Account)
	}
}

// as returns a client of g calling as sub. Its HTTP timeout is generous
// (the default 30s is not): a policy push compiles and tests the policy,
// which on a busy machine under -race can take longer.
func (g *gatehouse) as(sub string, opts ...client.Option) *client.Client {
	g.tb.Helper()
	tok, err := httpapi.MintHS256(testSecret, sub, time.Hour)
	require.NoError(g.tb, err)
	base := []client.Option{client.WithToken(tok), client.WithHTTPClient(&http.Client{Timeout: 5 * time.Minute})}
	c, err := client.New(g.url, append(base, opts...)...)
	require.NoError(g.tb, err)
	return c
}

// fastRetries retries n times with short waits, so that tests do not wait
// on the default backoff.
func fastRetries(n int) []client.Option {
	return []client.Option{client.WithRetries(n), client.WithBackoff(time.Millisecond, 10*time.Millisecond)}
}
