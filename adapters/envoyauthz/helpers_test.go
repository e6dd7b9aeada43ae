package envoyauthz_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/adapters/envoyauthz"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// testSecret signs the tests' bearer tokens (HS256).
var testSecret = []byte("envoyauthz-test-secret-of-32-bytes!!")

// hs256Verifier verifies HS256 tokens with testSecret, as the HTTP API's
// verifier does (the adapter takes any Verifier; cmd/gatehouse gives it the
// HTTP API's, which its end-to-end test uses).
type hs256Verifier struct{}

func (hs256Verifier) Verify(token string) (string, error) {
	claims := jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return testSecret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	if err != nil {
		return "", err
	}
	if claims.Subject == "" {
		return "", errors.New("the token has no sub")
	}
	return claims.Subject, nil
}

// token mints a token for sub, valid for ttl (negative: already expired).
func token(tb testing.TB, sub string, ttl time.Duration, key []byte) string {
	tb.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: sub, ExpiresAt: jwt.NewNumericDate(time.Now().Add(ttl)),
	}).SignedString(key)
	require.NoError(tb, err)
	return s
}

// recorder is a DecisionObserver keeping what it is told.
type recorder struct {
	mu        sync.Mutex
	requests  []engine.DecisionRequest
	decisions []engine.Decision
}

func (r *recorder) ObserveDecision(req engine.DecisionRequest, d engine.Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, req)
	r.decisions = append(r.decisions, d)
}

func (r *recorder) last(tb testing.TB) (engine.DecisionRequest, engine.Decision) {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(tb, r.decisions, "no decision was observed")
	return r.requests[len(r.requests)-1], r.decisions[len(r.decisions)-1]
}

// demoStore is an embedded store holding the part of testdata/demo.json the
// tests ask about: acme and its virtual accounts, alice its admin, bob
// va_user of acme-emea, carol without access.
func demoStore(tb testing.TB) *embedded.Store {
	tb.Helper()
	s, err := embedded.Open(tb.TempDir())
	require.NoError(tb, err)
	tb.Cleanup(func() { s.Close() })
	require.NoError(tb, s.Commit(context.Background(), engine.Change{
		Versions: map[string]uint64{"acme": 0},
		Accounts: []engine.Account{{ID: "acme", Name: "Acme Corp", VirtualAccounts: []string{"acme-emea", "acme-us"}}},
		Users: []engine.User{
			{ID: "alice", Email: "alice@acme.example"},
			{ID: "bob", Email: "bob@acme.example"},
			{ID: "carol", Email: "carol@acme.example"},
		},
		Members: []engine.Membership{
			{Account: "acme", User: "alice", Roles: []string{"account_admin"}, Contact: "primary", AddedBy: "ops"},
			{Account: "acme", User: "bob", Roles: []string{}, VARoles: map[string]string{"acme-emea": "va_user"}, AddedBy: "alice"},
		},
	}))
	return s
}

// compile compiles the built-in policies, with envoy.rego replaced by
// envoy when it is not nil ("" leaves the mapping out).
func compile(tb testing.TB, envoy *string) *engine.Policy {
	tb.Helper()
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(tb, err)
	if envoy != nil {
		delete(files, "envoy.rego")
		delete(files, "envoy_test.rego")
		if *envoy != "" {
			files["envoy.rego"] = []byte(*envoy)
		}
	}
	p, err := engine.CompilePolicy(context.Background(), files, "test")
	require.NoError(tb, err)
	return p
}

// fixture is an engine over a store, served over real gRPC.
type fixture struct {
	store  engine.Store
	eng    *engine.Engine
	authz  *envoyauthz.Server
	rec    *recorder
	client authv3.AuthorizationClient
	health healthpb.HealthClient
}

// serve starts a grpc.Server on a free port serving an envoyauthz.Server
// over an engine on store with policy, and returns clients of it.
func serve(tb testing.TB, store engine.Store, policy *engine.Policy, engOpts []engine.Option, opts ...envoyauthz.Option) *fixture {
	tb.Helper()
	rec := &recorder{}
	eng, err := engine.New(store, policy, append([]engine.Option{
		engine.WithDecisionTimeout(time.Minute), engine.WithReadyTimeout(time.Minute), engine.WithObserver(rec),
	}, engOpts...)...)
	require.NoError(tb, err)
	authz := envoyauthz.New(eng, append([]envoyauthz.Option{envoyauthz.WithVerifier(hs256Verifier{})}, opts...)...)
	g := grpc.NewServer()
	authz.Register(g)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	done := make(chan error, 1)
	go func() { done <- g.Serve(ln) }()
	tb.Cleanup(func() {
		g.GracefulStop()
		require.NoError(tb, <-done)
	})
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(tb, err)
	tb.Cleanup(func() { conn.Close() })
	return &fixture{
		store: store, eng: eng, authz: authz, rec: rec,
		client: authv3.NewAuthorizationClient(conn), health: healthpb.NewHealthClient(conn),
	}
}

// checkRequest is Envoy's CheckRequest for method path with headers.
func checkRequest(method, path string, headers map[string]string) *authv3.CheckRequest {
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id: "1", Method: method, Path: path, Host: "app.example", Scheme: "http", Protocol: "HTTP/1.1",
			Headers: headers,
		}},
	}}
}

// bearer is the headers of a request carrying tok.
func bearer(tok string) map[string]string {
	return map[string]string{"authorization": "Bearer " + tok, "x-request-id": "r-1", ":method": "GET"}
}

// headers returns the headers of options by name, checking that each
// replaces any header of that name.
func headers(tb testing.TB, opts []*corev3.HeaderValueOption) map[string]string {
	tb.Helper()
	out := map[string]string{}
	for _, o := range opts {
		require.Equal(tb, corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD, o.GetAppendAction(), "header %s", o.GetHeader().GetKey())
		out[o.GetHeader().GetKey()] = o.GetHeader().GetValue()
	}
	return out
}
