package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
)

// keys are the asymmetric keys of the JWT tests.
type keys struct {
	rsa       *rsa.PrivateKey
	rsaPEM    []byte
	ec        *ecdsa.PrivateKey
	ecPEM     []byte
	otherRSA  *rsa.PrivateKey
	ecP384PEM []byte
}

func newKeys(t *testing.T) keys {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	return keys{
		rsa: rsaKey, rsaPEM: publicPEM(t, &rsaKey.PublicKey),
		ec: ecKey, ecPEM: publicPEM(t, &ecKey.PublicKey),
		otherRSA: otherRSA, ecP384PEM: publicPEM(t, &p384.PublicKey),
	}
}

func publicPEM(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return tok
}

func validClaims(sub string) jwt.MapClaims {
	return jwt.MapClaims{"sub": sub, "exp": time.Now().Add(time.Hour).Unix()}
}

// R43: signatures are checked, exp and sub are required, alg none and
// algorithm confusion are refused.
func TestVerifierR43(t *testing.T) {
	k := newKeys(t)
	hs, err := httpapi.NewHS256Verifier(testSecret)
	require.NoError(t, err)
	rs, err := httpapi.NewPublicKeyVerifier(k.rsaPEM)
	require.NoError(t, err)
	es, err := httpapi.NewPublicKeyVerifier(k.ecPEM)
	require.NoError(t, err)
	assert.Equal(t, "HS256", hs.Algorithm())
	assert.Equal(t, "RS256", rs.Algorithm())
	assert.Equal(t, "ES256", es.Algorithm())

	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims("alice"))
	valid := sign(t, jwt.SigningMethodHS256, testSecret, validClaims("alice"))
	tests := []struct {
		name     string
		verifier *httpapi.JWTVerifier
		token    string
		sub      string
	}{
		{name: "valid HS256", verifier: hs, token: valid, sub: "alice"},
		{name: "valid RS256", verifier: rs, token: sign(t, jwt.SigningMethodRS256, k.rsa, validClaims("bob")), sub: "bob"},
		{name: "valid ES256", verifier: es, token: sign(t, jwt.SigningMethodES256, k.ec, validClaims("carol")), sub: "carol"},
		{name: "alg none on HS256", verifier: hs, token: none},
		{name: "alg none on RS256", verifier: rs, token: none},
		{name: "bad HS256 signature", verifier: hs,
			token: sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-0123"), validClaims("alice"))},
		{name: "bad RS256 signature", verifier: rs, token: sign(t, jwt.SigningMethodRS256, k.otherRSA, validClaims("alice"))},
		{name: "tampered payload", verifier: hs, token: tamper(t, valid)},
		{name: "expired", verifier: hs, token: sign(t, jwt.SigningMethodHS256, testSecret,
			jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(-time.Minute).Unix()})},
		{name: "missing exp", verifier: hs, token: sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "alice"})},
		{name: "missing sub", verifier: hs, token: sign(t, jwt.SigningMethodHS256, testSecret,
			jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix()})},
		{name: "sub that is not an id", verifier: hs, token: sign(t, jwt.SigningMethodHS256, testSecret, validClaims("a b"))},
		{name: "not yet valid", verifier: hs, token: sign(t, jwt.SigningMethodHS256, testSecret,
			jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(2 * time.Hour).Unix(), "nbf": time.Now().Add(time.Hour).Unix()})},
		{name: "alg confusion: HS256 keyed with the RSA public key", verifier: rs,
			token: sign(t, jwt.SigningMethodHS256, k.rsaPEM, validClaims("alice"))},
		{name: "wrong key type: ES256 token on an RS256 verifier", verifier: rs,
			token: sign(t, jwt.SigningMethodES256, k.ec, validClaims("alice"))},
		{name: "wrong key type: RS256 token on an HS256 verifier", verifier: hs,
			token: sign(t, jwt.SigningMethodRS256, k.rsa, validClaims("alice"))},
		{name: "RS384 is not RS256", verifier: rs, token: sign(t, jwt.SigningMethodRS384, k.rsa, validClaims("alice"))},
		{name: "garbage", verifier: hs, token: "not.a.jwt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := tt.verifier.Verify(tt.token)
			if tt.sub == "" {
				require.Error(t, err)
				assert.Empty(t, sub)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.sub, sub)
		})
	}
}

// tamper changes the payload of a token and keeps its signature.
func tamper(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	require.Len(t, parts, 3)
	payload := sign(t, jwt.SigningMethodHS256, []byte("whatever-whatever-whatever-whatever"), validClaims("root"))
	return parts[0] + "." + strings.Split(payload, ".")[1] + "." + parts[2]
}

func TestVerifierConstructorsRefuseWeakOrWrongKeys(t *testing.T) {
	k := newKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	privDER, err := x509.MarshalPKCS8PrivateKey(k.ec)
	require.NoError(t, err)
	tests := []struct {
		name    string
		pem     []byte
		message string
	}{
		{"no PEM", []byte("hello"), "no PEM block"},
		{"private key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), "not a public key"},
		{"RSA under 2048 bits", publicPEM(t, &small.PublicKey), "2048 bits"},
		{"P-384 key", k.ecP384PEM, "P-256"},
		{"corrupt key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")}), "parse public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpapi.NewPublicKeyVerifier(tt.pem)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.message)
		})
	}
	t.Run("short HS256 secret", func(t *testing.T) {
		_, err := httpapi.NewHS256Verifier([]byte("short"))
		require.ErrorContains(t, err, "at least 32 bytes")
	})
	t.Run("PKCS#1 RSA public key", func(t *testing.T) {
		block := &pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)}
		v, err := httpapi.NewPublicKeyVerifier(pem.EncodeToMemory(block))
		require.NoError(t, err)
		sub, err := v.Verify(sign(t, jwt.SigningMethodRS256, k.rsa, validClaims("dave")))
		require.NoError(t, err)
		assert.Equal(t, "dave", sub)
	})
}

func TestMintHS256(t *testing.T) {
	v, err := httpapi.NewHS256Verifier(testSecret)
	require.NoError(t, err)
	tok, err := httpapi.MintHS256(testSecret, "ops", time.Minute)
	require.NoError(t, err)
	sub, err := v.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, "ops", sub)

	_, err = httpapi.MintHS256(testSecret, "not an id", time.Minute)
	require.Error(t, err)
	_, err = httpapi.MintHS256(testSecret, "ops", 0)
	require.Error(t, err)
	_, err = httpapi.MintHS256([]byte("short"), "ops", time.Minute)
	require.Error(t, err)
}

// R43: every non-decision /v1 endpoint answers 401 without a valid token;
// the decision endpoints need none.
func TestEndpointsNeedATokenR43(t *testing.T) {
	h := newEmbeddedHarness(t)
	expired := sign(t, jwt.SigningMethodHS256, testSecret,
		jwt.MapClaims{"sub": systemAdmin, "exp": time.Now().Add(-time.Minute).Unix()})
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims(systemAdmin))
	headers := map[string]string{
		"no header":     "",
		"basic auth":    "Basic b3BzOm9wcw==",
		"empty bearer":  "Bearer ",
		"expired token": "Bearer " + expired,
		"alg none":      "Bearer " + none,
	}
	endpoints := []struct{ method, path, body string }{
		{http.MethodPut, "/v1/users/alice", `{"email":"a@example.com"}`},
		{http.MethodGet, "/v1/users/alice", ""},
		{http.MethodPut, "/v1/accounts/acme", `{"name":"Acme"}`},
		{http.MethodGet, "/v1/accounts/acme", ""},
		{http.MethodGet, "/v1/accounts/acme/members", ""},
		{http.MethodPut, "/v1/accounts/acme/members/alice", `{"roles":["account_user"]}`},
		{http.MethodGet, "/v1/accounts/acme/members/alice", ""},
		{http.MethodDelete, "/v1/accounts/acme/members/alice", ""},
		{http.MethodPost, "/v1/accounts/acme/access-requests", `{}`},
		{http.MethodPost, "/v1/tenant-access-requests", `{}`},
		{http.MethodGet, "/v1/access-requests?account=acme", ""},
		{http.MethodGet, "/v1/access-requests/r1", ""},
		{http.MethodGet, "/v1/me/access-requests", ""},
		{http.MethodPost, "/v1/access-requests/r1/approve", `{}`},
		{http.MethodPost, "/v1/access-requests/r1/deny", `{}`},
		{http.MethodPatch, "/v1/access-requests/r1", `{"expires_at":null}`},
		{http.MethodPost, "/v1/access-requests/r1/revoke", `{}`},
		{http.MethodGet, "/v1/audit?account=acme", ""},
		{http.MethodGet, "/v1/events", ""},
	}
	for _, ep := range endpoints {
		for name, header := range headers {
			t.Run(ep.method+" "+ep.path+" "+name, func(t *testing.T) {
				req := httptest.NewRequest(ep.method, ep.path, strings.NewReader(ep.body))
				if header != "" {
					req.Header.Set("Authorization", header)
				}
				rec := httptest.NewRecorder()
				h.handler.ServeHTTP(rec, req)
				requireError(t, rec, http.StatusUnauthorized, "unauthenticated")
				assert.Contains(t, rec.Header().Get("WWW-Authenticate"), "Bearer")
			})
		}
	}

	t.Run("a server without a verifier refuses every token", func(t *testing.T) {
		bare := newHarness(t, openEmbedded(t), httpapi.WithVerifier(nil))
		rec := bare.call(http.MethodGet, "/v1/events", systemAdmin, nil)
		e := requireError(t, rec, http.StatusUnauthorized, "unauthenticated")
		assert.Contains(t, e.Error.Message, "no token verifier")
	})
}

// serveWith starts a real HTTP server with verifier, logging to the
// returned buffer.
func serveWith(t *testing.T, verifier httpapi.Verifier) (url string, logs *syncBuffer) {
	t.Helper()
	logs = &syncBuffer{}
	h := newEmbeddedHarness(t, httpapi.WithVerifier(verifier),
		httpapi.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	srv := httptest.NewServer(h.handler)
	t.Cleanup(srv.Close)
	return srv.URL, logs
}

// getEvents calls GET /v1/events with the bearer token and returns the
// status and body.
func getEvents(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/v1/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// R43 (issue 7, point 4): with --jwt-audience and --jwt-issuer set, a
// token for another audience or from another issuer is refused with a 401
// saying what is wrong, through a real HTTP server; the body and the logs
// never quote the token.
func TestAudienceAndIssuerR43(t *testing.T) {
	v, err := httpapi.NewHS256Verifier(testSecret, httpapi.WithAudience("gatehouse"), httpapi.WithIssuer("https://idp.example.com"))
	require.NoError(t, err)
	url, logs := serveWith(t, v)
	claims := func(extra jwt.MapClaims) jwt.MapClaims {
		c := validClaims(systemAdmin)
		for k, x := range extra {
			if x == nil {
				delete(c, k)
				continue
			}
			c[k] = x
		}
		return c
	}
	right := jwt.MapClaims{"aud": "gatehouse", "iss": "https://idp.example.com"}
	tests := []struct {
		name   string
		claims jwt.MapClaims
		want   string // "" for accepted
	}{
		{name: "right audience and issuer", claims: claims(right)},
		{name: "right audience among others", claims: claims(jwt.MapClaims{"aud": []string{"billing", "gatehouse"}, "iss": "https://idp.example.com"})},
		{name: "wrong audience", claims: claims(jwt.MapClaims{"aud": "billing", "iss": "https://idp.example.com"}),
			want: `the token's audience is not "gatehouse"`},
		{name: "missing audience", claims: claims(jwt.MapClaims{"iss": "https://idp.example.com"}),
			want: `the token has no aud claim: this server requires the audience "gatehouse"`},
		{name: "empty audience", claims: claims(jwt.MapClaims{"aud": "", "iss": "https://idp.example.com"}),
			want: `the token has no aud claim`},
		{name: "wrong issuer", claims: claims(jwt.MapClaims{"aud": "gatehouse", "iss": "https://evil.example.com"}),
			want: `the token's issuer is not "https://idp.example.com"`},
		{name: "missing issuer", claims: claims(jwt.MapClaims{"aud": "gatehouse"}),
			want: `the token has no iss claim: this server requires the issuer "https://idp.example.com"`},
		{name: "both wrong", claims: claims(jwt.MapClaims{"aud": "billing", "iss": "https://evil.example.com"}),
			want: `the token's audience is not "gatehouse"; the token's issuer is not "https://idp.example.com"`},
		{name: "right claims, expired", claims: claims(jwt.MapClaims{"aud": "gatehouse", "iss": "https://idp.example.com",
			"exp": time.Now().Add(-time.Hour).Unix()}), want: "the token expired at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := sign(t, jwt.SigningMethodHS256, testSecret, tt.claims)
			status, body := getEvents(t, url, token)
			if tt.want == "" {
				assert.Equal(t, http.StatusOK, status, body)
				return
			}
			assert.Equal(t, http.StatusUnauthorized, status, body)
			var e errorAnswer
			require.NoError(t, json.Unmarshal([]byte(body), &e), body)
			assert.Equal(t, "unauthenticated", e.Error.Code)
			assert.Contains(t, e.Error.Message, tt.want)
			assertNoTokenIn(t, token, body, logs.String())
		})
	}

	t.Run("a verifier without audience or issuer accepts either", func(t *testing.T) {
		plain, err := httpapi.NewHS256Verifier(testSecret)
		require.NoError(t, err)
		sub, err := plain.Verify(sign(t, jwt.SigningMethodHS256, testSecret, claims(jwt.MapClaims{"aud": "billing", "iss": "x"})))
		require.NoError(t, err)
		assert.Equal(t, systemAdmin, sub)
	})
	t.Run("the public key verifiers check them too", func(t *testing.T) {
		k := newKeys(t)
		rs, err := httpapi.NewPublicKeyVerifier(k.rsaPEM, httpapi.WithAudience("gatehouse"))
		require.NoError(t, err)
		_, err = rs.Verify(sign(t, jwt.SigningMethodRS256, k.rsa, claims(jwt.MapClaims{"aud": "billing"})))
		require.ErrorContains(t, err, `the token's audience is not "gatehouse"`)
		_, err = rs.Verify(sign(t, jwt.SigningMethodRS256, k.rsa, claims(jwt.MapClaims{"aud": "gatehouse"})))
		require.NoError(t, err)
	})
}

// R43: exp, nbf and iat are checked with a small leeway for clock skew,
// through a real HTTP server: inside it a token passes, beyond it it is
// refused with a 401 saying why.
func TestLeewayR43(t *testing.T) {
	v, err := httpapi.NewHS256Verifier(testSecret, httpapi.WithLeeway(30*time.Second))
	require.NoError(t, err)
	url, logs := serveWith(t, v)
	now := time.Now()
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }
	tests := []struct {
		name   string
		claims jwt.MapClaims
		want   string
	}{
		{name: "expired 10s ago, within 30s", claims: jwt.MapClaims{"sub": systemAdmin, "exp": at(-10 * time.Second)}},
		{name: "expired 2m ago, beyond 30s", claims: jwt.MapClaims{"sub": systemAdmin, "exp": at(-2 * time.Minute)},
			want: "the token expired at"},
		{name: "nbf 10s ahead, within 30s", claims: jwt.MapClaims{"sub": systemAdmin, "exp": at(time.Hour), "nbf": at(10 * time.Second)}},
		{name: "nbf 2m ahead, beyond 30s", claims: jwt.MapClaims{"sub": systemAdmin, "exp": at(time.Hour), "nbf": at(2 * time.Minute)},
			want: "the token is not valid before"},
		{name: "iat 10s ahead, within 30s", claims: jwt.MapClaims{"sub": systemAdmin, "exp": at(time.Hour), "iat": at(10 * time.Second)}},
		{name: "iat 2m ahead, beyond 30s", claims: jwt.MapClaims{"sub": systemAdmin, "exp": at(time.Hour), "iat": at(2 * time.Minute)},
			want: "the token is issued in the future"},
		{name: "no exp", claims: jwt.MapClaims{"sub": systemAdmin}, want: "the token has no exp claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := sign(t, jwt.SigningMethodHS256, testSecret, tt.claims)
			status, body := getEvents(t, url, token)
			if tt.want == "" {
				assert.Equal(t, http.StatusOK, status, body)
				return
			}
			assert.Equal(t, http.StatusUnauthorized, status, body)
			assert.Contains(t, body, tt.want)
			assertNoTokenIn(t, token, body, logs.String())
		})
	}

	t.Run("no leeway refuses a token expired 10s ago", func(t *testing.T) {
		strict, err := httpapi.NewHS256Verifier(testSecret, httpapi.WithLeeway(0))
		require.NoError(t, err)
		_, err = strict.Verify(sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "alice", "exp": at(-10 * time.Second)}))
		require.ErrorContains(t, err, "the token expired at")
	})
	t.Run("the leeway is bounded", func(t *testing.T) {
		for _, d := range []time.Duration{-time.Second, httpapi.MaxJWTLeeway + time.Second, time.Hour} {
			_, err := httpapi.NewHS256Verifier(testSecret, httpapi.WithLeeway(d))
			require.ErrorContains(t, err, "the JWT leeway must be between 0s and 5m0s", d)
			_, err = httpapi.NewPublicKeyVerifier(newKeys(t).ecPEM, httpapi.WithLeeway(d))
			require.ErrorContains(t, err, "the JWT leeway must be between", d)
		}
		_, err := httpapi.NewHS256Verifier(testSecret, httpapi.WithLeeway(httpapi.MaxJWTLeeway))
		require.NoError(t, err)
	})
}

// No credential in an error body or a log line (issue 7, point 4): a bad
// token, whatever is wrong with it, is never quoted back, nor any part of
// its header (alg) or claims that the jwt library would quote.
func TestBadTokenNeverEchoed(t *testing.T) {
	k := newKeys(t)
	url, logs := serveWith(t, mustHS256(t))
	header := base64URL(`{"alg":"HS999-secret-alg-marker","typ":"JWT"}`)
	claims := base64URL(`{"sub":"ops","exp":9999999999}`)
	tokens := map[string]string{
		"garbage":               "not-a-jwt-secret-marker-0123456789",
		"four parts":            "a.b.c.secret-marker-4",
		"unknown alg":           header + "." + claims + ".c2lnbmF0dXJl",
		"bad JSON claims":       base64URL(`{"alg":"HS256"}`) + "." + base64URL(`{"sub": secret-marker-json}`) + ".c2ln",
		"bad base64":            "@@@secret-marker@@@." + claims + ".c2ln",
		"wrong signature":       sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-0123"), validClaims("ops")),
		"alg none":              sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validClaims("ops")),
		"RS256 on HS256":        sign(t, jwt.SigningMethodRS256, k.rsa, validClaims("ops")),
		"exp of the wrong type": sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "ops", "exp": "tomorrow-secret-marker"}),
		"expired":               sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"sub": "ops", "exp": time.Now().Add(-time.Hour).Unix()}),
		"sub not an id":         sign(t, jwt.SigningMethodHS256, testSecret, validClaims("ops secret-marker")),
	}
	for name, token := range tokens {
		t.Run(name, func(t *testing.T) {
			status, body := getEvents(t, url, token)
			require.Equal(t, http.StatusUnauthorized, status, body)
			assertNoTokenIn(t, token, body, logs.String())
			assert.NotContains(t, body, "secret-marker")
			assert.NotContains(t, body, "HS999")
		})
	}
	assert.NotContains(t, logs.String(), "secret-marker")
}

func mustHS256(t *testing.T) *httpapi.JWTVerifier {
	t.Helper()
	v, err := httpapi.NewHS256Verifier(testSecret)
	require.NoError(t, err)
	return v
}

func base64URL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// assertNoTokenIn checks that no part of token (its whole, or any of its
// dot-separated parts long enough to mean something) is in texts.
func assertNoTokenIn(t *testing.T, token string, texts ...string) {
	t.Helper()
	for _, text := range texts {
		assert.NotContains(t, text, token)
		for part := range strings.SplitSeq(token, ".") {
			if len(part) >= 8 {
				assert.NotContains(t, text, part)
			}
		}
	}
}

// signRawHS256 signs a payload written by hand, so that it can hold what
// jwt.MapClaims cannot: a key twice, or keys in another case.
func signRawHS256(t *testing.T, payload string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(payload))
	sig, err := jwt.SigningMethodHS256.Sign(signing, testSecret)
	require.NoError(t, err)
	return signing + "." + enc.EncodeToString(sig)
}

// R43, R44: a signed token whose claims are ambiguous names no actor: a
// proxy or log reading the first "sub", or only "sub", would see another
// actor than encoding/json's last-wins, case-insensitive reading.
func TestAmbiguousClaimsAreRefusedR43(t *testing.T) {
	v, err := httpapi.NewHS256Verifier(testSecret)
	require.NoError(t, err)
	exp := time.Now().Add(time.Hour).Unix()
	claims := func(body string) string {
		return signRawHS256(t, `{"exp":`+strconv.FormatInt(exp, 10)+`,`+body+`}`)
	}

	sub, err := v.Verify(claims(`"sub":"alice"`))
	require.NoError(t, err, "the control token is valid")
	assert.Equal(t, "alice", sub)

	for name, body := range map[string]string{
		"sub twice":             `"sub":"alice","sub":"ops"`,
		"SUB beside sub":        `"sub":"alice","SUB":"ops"`,
		"Sub alone":             `"Sub":"ops"`,
		"exp in another case":   `"sub":"alice","EXP":1`,
		"a private claim twice": `"sub":"alice","role":"a","role":"b"`,
	} {
		t.Run(name, func(t *testing.T) {
			sub, err := v.Verify(claims(body))
			require.Error(t, err)
			assert.Empty(t, sub)
			assert.NotContains(t, err.Error(), "ops", "the error does not echo the token")
		})
	}
	t.Run("alg twice in the header", func(t *testing.T) {
		enc := base64.RawURLEncoding
		signing := enc.EncodeToString([]byte(`{"alg":"none","alg":"HS256","typ":"JWT"}`)) + "." +
			enc.EncodeToString([]byte(`{"sub":"alice","exp":`+strconv.FormatInt(exp, 10)+`}`))
		sig, err := jwt.SigningMethodHS256.Sign(signing, testSecret)
		require.NoError(t, err)
		sub, err := v.Verify(signing + "." + enc.EncodeToString(sig))
		require.ErrorContains(t, err, "the token's header names a key twice")
		assert.Empty(t, sub)
	})
}
