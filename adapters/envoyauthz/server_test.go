package envoyauthz_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/gatehouse/gatehouse/adapters/envoyauthz"
	"github.com/gatehouse/gatehouse/engine"
)

// deniedView is a denied CheckResponse, read.
type deniedView struct {
	code    codes.Code
	status  typev3.StatusCode
	headers map[string]string
	body    struct {
		Allow      bool     `json:"allow"`
		Reasons    []string `json:"reasons"`
		DecisionID string   `json:"decision_id"`
	}
}

// readDenied reads resp, which must be a deny.
func readDenied(tb testing.TB, resp *authv3.CheckResponse) deniedView {
	tb.Helper()
	d := resp.GetDeniedResponse()
	require.NotNil(tb, d, "expected a denied response, got %v", resp)
	require.Nil(tb, resp.GetOkResponse())
	v := deniedView{code: codes.Code(resp.GetStatus().GetCode()), status: d.GetStatus().GetCode(), headers: headers(tb, d.GetHeaders())}
	require.NoError(tb, json.Unmarshal([]byte(d.GetBody()), &v.body), "body: %s", d.GetBody())
	assert.False(tb, v.body.Allow)
	require.NotEmpty(tb, v.body.Reasons)
	assert.Equal(tb, "application/json", v.headers["content-type"])
	assert.Equal(tb, envoyauthz.HeaderValue(strings.Join(v.body.Reasons, "; ")), v.headers[envoyauthz.HeaderReasons], "the header carries the reasons")
	assert.NotEqual(tb, codes.OK, v.code, "a deny is never gRPC OK")
	return v
}

// R4, R7: Envoy's Check, over real gRPC, answers the policy's decision on
// the demo data: an allow adds the decision's id and revision to the
// request sent upstream, a deny is a 403 carrying the reasons.
func TestCheckDecidesTheDemoData(t *testing.T) {
	f := serve(t, demoStore(t), compile(t, nil), nil)
	revision := f.eng.Policy().Revision

	allows := []struct {
		name, sub, method, path string
		question                engine.DecisionRequest
	}{
		{"R1 an admin views the account", "alice", "GET", "/accounts/acme?page=2",
			engine.DecisionRequest{Subject: "alice", Action: "view", Resource: engine.Resource{Account: "acme"}}},
		{"R1 an admin deletes in the account", "alice", "DELETE", "/accounts/acme/licenses/7",
			engine.DecisionRequest{Subject: "alice", Action: "manage", Resource: engine.Resource{Account: "acme"}}},
		{"R2 a va_user writes in their virtual account", "bob", "POST", "/accounts/acme/virtual-accounts/acme-emea/licenses",
			engine.DecisionRequest{Subject: "bob", Action: "use", Resource: engine.Resource{Account: "acme", VirtualAccount: "acme-emea"}}},
	}
	for _, tt := range allows {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			resp, err := f.client.Check(t.Context(), checkRequest(tt.method, tt.path, bearer(token(t, tt.sub, time.Hour, testSecret))))
			require.NoError(t, err)
			t.Logf("Check answered in %.2f ms", float64(time.Since(start).Microseconds())/1000)
			require.NotNil(t, resp.GetOkResponse(), "expected an allow, got %v", resp)
			assert.Equal(t, int32(codes.OK), resp.GetStatus().GetCode())
			h := headers(t, resp.GetOkResponse().GetHeaders())
			req, d := f.rec.last(t)
			assert.Equal(t, tt.question, req, "the question the decision log sees")
			assert.True(t, d.Allow)
			assert.Equal(t, map[string]string{envoyauthz.HeaderDecisionID: d.DecisionID, envoyauthz.HeaderPolicyRevision: revision}, h)
		})
	}

	denies := []struct {
		name, sub, method, path, reasonHas string
	}{
		{"R3 a virtual-account role does not hold on the account", "bob", "GET", "/accounts/acme", "view"},
		{"R2 a va_user does not manage their virtual account", "bob", "DELETE", "/accounts/acme/virtual-accounts/acme-emea", "manage"},
		{"R2 a va_user has nothing on another virtual account", "bob", "GET", "/accounts/acme/virtual-accounts/acme-us", "view"},
		{"R7 a user without membership is denied", "carol", "GET", "/accounts/acme", "carol is not a member of acme"},
		{"R7 an unknown account is denied", "alice", "GET", "/accounts/globex", `unknown account "globex"`},
		{"R4 a virtual account not in the account is denied", "alice", "GET", "/accounts/acme/virtual-accounts/globex-eu", `virtual account "globex-eu" is not in account "acme"`},
		{"R44 an account that is no id is denied, naming the field", "alice", "GET", "/accounts/a%20b", "resource.account"},
		{"R7 a method without an action asks no question", "alice", "OPTIONS", "/accounts/acme", "asks no question"},
		{"R7 a path without a route asks no question", "alice", "GET", "/healthz", "asks no question"},
	}
	for _, tt := range denies {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.client.Check(t.Context(), checkRequest(tt.method, tt.path, bearer(token(t, tt.sub, time.Hour, testSecret))))
			require.NoError(t, err)
			v := readDenied(t, resp)
			assert.Equal(t, codes.PermissionDenied, v.code)
			assert.Equal(t, typev3.StatusCode_Forbidden, v.status)
			assert.Contains(t, v.headers[envoyauthz.HeaderReasons], tt.reasonHas)
			_, d := f.rec.last(t)
			assert.False(t, d.Allow)
			assert.Equal(t, d.DecisionID, v.body.DecisionID, "the decision log holds the deny")
			assert.Equal(t, d.DecisionID, v.headers[envoyauthz.HeaderDecisionID])
			assert.Equal(t, revision, v.headers[envoyauthz.HeaderPolicyRevision])
		})
	}

	t.Run("R43 a request without a token has no subject, so no question", func(t *testing.T) {
		resp, err := f.client.Check(t.Context(), checkRequest("GET", "/accounts/acme", map[string]string{"x-user": "alice"}))
		require.NoError(t, err)
		v := readDenied(t, resp)
		assert.Equal(t, typev3.StatusCode_Forbidden, v.status)
		assert.Contains(t, v.body.Reasons[0], "asks no question")
	})

	t.Run("R43 raw headers (encode_raw_headers) are read too", func(t *testing.T) {
		req := checkRequest("GET", "/accounts/acme", nil)
		req.Attributes.Request.Http.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
			{Key: "Authorization", RawValue: []byte("Bearer " + token(t, "alice", time.Hour, testSecret))},
		}}
		resp, err := f.client.Check(t.Context(), req)
		require.NoError(t, err)
		require.NotNil(t, resp.GetOkResponse(), "expected an allow, got %v", resp)
	})
}

// R43: a bearer token that does not verify is a 401 deny, never an
// anonymous question; the engine is not asked.
func TestCheckFailsClosedOnInvalidTokens(t *testing.T) {
	f := serve(t, demoStore(t), compile(t, nil), nil)
	tests := []struct {
		name, authorization, reasonHas string
	}{
		{"signed with another key", "Bearer " + token(t, "alice", time.Hour, []byte("another-secret-of-at-least-32-bytes")), "signature is invalid"},
		{"expired", "Bearer " + token(t, "alice", -time.Minute, testSecret), "expired"},
		{"not a JWT", "Bearer not-a-token", "malformed"},
		{"empty", "Bearer ", "the bearer token is empty"},
		{"two tokens", "Bearer " + token(t, "alice", time.Hour, testSecret) + ",Bearer x", "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.rec.mu.Lock()
			before := len(f.rec.decisions)
			f.rec.mu.Unlock()
			resp, err := f.client.Check(t.Context(), checkRequest("GET", "/accounts/acme", map[string]string{"authorization": tt.authorization}))
			require.NoError(t, err)
			v := readDenied(t, resp)
			assert.Equal(t, codes.Unauthenticated, v.code)
			assert.Equal(t, typev3.StatusCode_Unauthorized, v.status)
			assert.Equal(t, `Bearer error="invalid_token"`, v.headers["www-authenticate"])
			assert.Contains(t, v.body.Reasons[0], tt.reasonHas)
			f.rec.mu.Lock()
			assert.Len(t, f.rec.decisions, before, "no question is asked")
			f.rec.mu.Unlock()
		})
	}

	t.Run("a server without a verifier refuses bearer tokens", func(t *testing.T) {
		g := serve(t, demoStore(t), compile(t, nil), nil, envoyauthz.WithVerifier(nil))
		resp, err := g.client.Check(t.Context(), checkRequest("GET", "/accounts/acme", bearer(token(t, "alice", time.Hour, testSecret))))
		require.NoError(t, err)
		v := readDenied(t, resp)
		assert.Equal(t, typev3.StatusCode_Unauthorized, v.status)
		assert.Contains(t, v.body.Reasons[0], "verifies none")
	})

	t.Run("another scheme is no token: no subject", func(t *testing.T) {
		resp, err := f.client.Check(t.Context(), checkRequest("GET", "/accounts/acme", map[string]string{"authorization": "Basic YWxpY2U6eA=="}))
		require.NoError(t, err)
		v := readDenied(t, resp)
		assert.Equal(t, typev3.StatusCode_Forbidden, v.status)
		assert.Contains(t, v.body.Reasons[0], "asks no question")
	})
}

// R7, R45: every failure is a deny (fail closed), answered as a
// DeniedHttpResponse, never as a gRPC error Envoy's failure_mode_allow could
// turn into an allow.
func TestCheckFailsClosed(t *testing.T) {
	alice := func(t *testing.T) map[string]string { return bearer(token(t, "alice", time.Hour, testSecret)) }

	t.Run("R7 the policy defines no mapping", func(t *testing.T) {
		none := ""
		f := serve(t, demoStore(t), compile(t, &none), nil)
		resp, err := f.client.Check(t.Context(), checkRequest("GET", "/accounts/acme", alice(t)))
		require.NoError(t, err)
		v := readDenied(t, resp)
		assert.Equal(t, typev3.StatusCode_Forbidden, v.status)
		assert.Contains(t, v.body.Reasons[0], "the policy defines no data.gatehouse.envoy.question")
		_, d := f.rec.last(t)
		assert.Equal(t, "policy_error", d.Error, "the failure is observed as one")
	})

	t.Run("R7 the mapping is undefined for every request", func(t *testing.T) {
		undefined := "package gatehouse.envoy\n\nimport rego.v1\n\nquestion := {\"subject\": input.subject, \"action\": \"view\", \"resource\": {\"account\": \"acme\"}} if input.method == \"NEVER\"\n"
		f := serve(t, demoStore(t), compile(t, &undefined), nil)
		resp, err := f.client.Check(t.Context(), checkRequest("GET", "/accounts/acme", alice(t)))
		require.NoError(t, err)
		v := readDenied(t, resp)
		assert.Equal(t, typev3.StatusCode_Forbidden, v.status)
		assert.Contains(t, v.body.Reasons[0], "data.gatehouse.envoy.question is undefined")
	})

	t.Run("R7 the mapping answers the wrong shape", func(t *testing.T) {
		wrong := "package gatehouse.envoy\n\nquestion := {\"subject\": input.subject, \"action\": 1, \"resource\": {\"account\": \"acme\"}}\n"
		f := serve(t, demoStore(t), compile(t, &wrong), nil)
		resp, err := f.client.Check(t.Context(), checkRequest("GET", "/accounts/acme", alice(t)))
		require.NoError(t, err)
		v := readDenied(t, resp)
		assert.Equal(t, typev3.StatusCode_Forbidden, v.status)
		assert.Contains(t, v.body.Reasons[0], "action is not a string")
	})

	t.Run("R45 the store is closed: 503", func(t *testing.T) {
		store := demoStore(t)
		f := serve(t, store, compile(t, nil), nil)
		require.NoError(t, store.Close())
		resp, err := f.client.Check(t.Context(), checkRequest("GET", "/accounts/acme", alice(t)))
		require.NoError(t, err)
		v := readDenied(t, resp)
		assert.Equal(t, codes.Unavailable, v.code)
		assert.Equal(t, typev3.StatusCode_ServiceUnavailable, v.status)
		assert.Equal(t, []string{"denied: gatehouse could not read the store: it is unavailable"}, v.body.Reasons)
		_, d := f.rec.last(t)
		assert.Equal(t, "store_unavailable", d.Error)
	})

	t.Run("R45 the decision times out", func(t *testing.T) {
		f := serve(t, demoStore(t), compile(t, nil), []engine.Option{engine.WithDecisionTimeout(time.Nanosecond)})
		resp, err := f.client.Check(t.Context(), checkRequest("GET", "/accounts/acme", alice(t)))
		require.NoError(t, err)
		v := readDenied(t, resp)
		assert.Equal(t, typev3.StatusCode_Forbidden, v.status)
		assert.Contains(t, v.body.Reasons[0], "timed out")
		_, d := f.rec.last(t)
		assert.Equal(t, "timeout", d.Error)
	})

	t.Run("R44 requests gatehouse cannot read are a 400 deny", func(t *testing.T) {
		f := serve(t, demoStore(t), compile(t, nil), nil)
		tests := []struct {
			name      string
			req       *authv3.CheckRequest
			reasonHas string
		}{
			{"no attributes", &authv3.CheckRequest{}, "carries no HTTP request"},
			{"no path", checkRequest("GET", "", alice(t)), "does not begin with /"},
			{"asterisk", checkRequest("OPTIONS", "*", alice(t)), "does not begin with /"},
			{"absolute URL", checkRequest("GET", "http://app.example/accounts/acme", alice(t)), "does not begin with /"},
			{"dot-dot", checkRequest("GET", "/accounts/globex/../acme", alice(t)), `".." segment`},
			{"encoded dot-dot", checkRequest("GET", "/accounts/globex/%2e%2e/acme", alice(t)), `".." segment`},
			{"dot", checkRequest("GET", "/accounts/./acme", alice(t)), `"." segment`},
			{"empty segment", checkRequest("GET", "/accounts//acme", alice(t)), "empty segment"},
			{"encoded slash", checkRequest("GET", "/accounts/acme%2Fvirtual-accounts/acme-emea", alice(t)), "encoded /"},
			{"malformed escape", checkRequest("GET", "/accounts/%zz", alice(t)), "malformed escape"},
			{"malformed query", checkRequest("GET", "/accounts/acme?a=%zz", alice(t)), "query is malformed"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp, err := f.client.Check(t.Context(), tt.req)
				require.NoError(t, err)
				v := readDenied(t, resp)
				assert.Equal(t, codes.InvalidArgument, v.code)
				assert.Equal(t, typev3.StatusCode_BadRequest, v.status)
				assert.Contains(t, v.body.Reasons[0], tt.reasonHas)
			})
		}
	})
}

// The reasons header is a valid header value whatever the reasons hold:
// no line break or other control or non-ASCII character, bounded length;
// the body keeps the reasons whole.
func TestReasonsHeaderIsSanitised(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "denied: no role", "denied: no role"},
		{"line breaks", "denied\r\nx-evil: 1", "denied??x-evil: 1"},
		{"non-ASCII", "refus\u00e9 \u2014 non", "refus? ? non"},
		{"control", "a\x00b\tc\x7f", "a?b?c?"},
		{"long", strings.Repeat("x", 5000), strings.Repeat("x", envoyauthz.MaxReasonsHeader-3) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, envoyauthz.HeaderValue(tt.in))
		})
	}

	t.Run("over gRPC", func(t *testing.T) {
		weird := "package gatehouse.envoy\n\nimport rego.v1\n\nquestion := {\"subject\": \"alice\", \"action\": concat(\"\", [\"\u00e9\" | some _ in numbers.range(1, 60)]), \"resource\": {\"account\": \"acme\"}}\n"
		f := serve(t, demoStore(t), compile(t, &weird), nil)
		resp, err := f.client.Check(t.Context(), checkRequest("GET", "/accounts/acme", bearer(token(t, "alice", time.Hour, testSecret))))
		require.NoError(t, err)
		v := readDenied(t, resp)
		assert.Contains(t, v.body.Reasons[0], strings.Repeat("\u00e9", 60), "the body keeps the reason")
		value := v.headers[envoyauthz.HeaderReasons]
		t.Logf("%s: %s", envoyauthz.HeaderReasons, value)
		assert.Contains(t, value, `unknown action "`+strings.Repeat("?", 60)+`"`)
		for _, c := range []byte(value) {
			assert.True(t, c >= 0x20 && c <= 0x7e, "byte %#x in the header", c)
		}
	})
}

// The headers gatehouse sets replace any of the same name a client sent:
// an application behind Envoy can trust x-gatehouse-decision-id.
func TestGatehouseHeadersReplaceTheClients(t *testing.T) {
	f := serve(t, demoStore(t), compile(t, nil), nil)
	h := bearer(token(t, "alice", time.Hour, testSecret))
	h[envoyauthz.HeaderDecisionID] = "forged"
	resp, err := f.client.Check(context.Background(), checkRequest("GET", "/accounts/acme", h))
	require.NoError(t, err)
	ok := resp.GetOkResponse()
	require.NotNil(t, ok)
	got := headers(t, ok.GetHeaders()) // each OVERWRITE_IF_EXISTS_OR_ADD
	assert.NotEqual(t, "forged", got[envoyauthz.HeaderDecisionID])
}
