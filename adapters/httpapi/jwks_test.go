package httpapi_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/adapters/httpapi/idptest"
)

// Issue 10, part 1: tokens of a real identity provider, verified with the
// keys of its JSON Web Key Set (R43), against a local identity provider
// (idptest) over HTTP.

// keySetVerifier returns a verifier of the key set at jwksURL, its logs
// going to the returned buffer; the set stops when the test ends.
func keySetVerifier(t *testing.T, jwksURL string, opts []httpapi.KeySetOption, vopts ...httpapi.VerifierOption) (*httpapi.JWTVerifier, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	opts = append([]httpapi.KeySetOption{
		httpapi.WithKeySetLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	}, opts...)
	ks, err := httpapi.NewKeySet(t.Context(), jwksURL, opts...)
	require.NoError(t, err)
	t.Cleanup(ks.Close)
	v, err := httpapi.NewKeySetVerifier(ks, vopts...)
	require.NoError(t, err)
	return v, logs
}

// unauthenticatedMessage checks a 401 and returns its message.
func unauthenticatedMessage(t *testing.T, status int, body string) string {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, status, body)
	var e errorAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	assert.Equal(t, "unauthenticated", e.Error.Code)
	return e.Error.Message
}

// R43: a key set verifies RS256 and ES256 tokens by their kid; a token's
// algorithm must be one its own key allows, so an HS256 token keyed with
// the RSA public key, an RS256 token naming the EC key, or alg none never
// pass; exp, aud and iss are checked as with one key.
func TestKeySetVerifierR43(t *testing.T) {
	rsaKey := idptest.NewRSAKey(t, "rsa-1")
	ecKey := idptest.NewECKey(t, "ec-1")
	pinned := idptest.NewRSAKey(t, "rsa-pinned")
	pinned.Alg = "RS256"
	idp := idptest.Start(t, rsaKey, ecKey, pinned)
	v, _ := keySetVerifier(t, idp.JWKSURL(), nil, httpapi.WithAudience("gatehouse"), httpapi.WithIssuer(idp.URL))
	claims := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "alice", "aud": "gatehouse", "iss": idp.URL, "exp": time.Now().Add(time.Hour).Unix()}
		for k, x := range extra {
			c[k] = x
		}
		return c
	}
	rsaPEM := publicPEM(t, rsaKey.Private.Public())
	withKid := func(method jwt.SigningMethod, kid string, key any) string {
		tok := jwt.NewWithClaims(method, claims(nil))
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	tests := []struct {
		name  string
		token string
		want  string // "" for accepted
	}{
		{name: "RS256", token: rsaKey.Sign(t, claims(nil))},
		{name: "ES256", token: ecKey.Sign(t, claims(nil))},
		{name: "RS384 with an RSA key that names no alg", token: withKid(jwt.SigningMethodRS384, "rsa-1", rsaKey.Private)},
		{name: "RS384 with an RSA key whose JWK says RS256", token: withKid(jwt.SigningMethodRS384, "rsa-pinned", pinned.Private),
			want: "the token's algorithm is not one its key allows (RS256)"},
		{name: "alg confusion: HS256 keyed with the RSA public key", token: withKid(jwt.SigningMethodHS256, "rsa-1", rsaPEM),
			want: "the token is not signed with the identity provider's key"},
		{name: "RS256 naming the EC key", token: withKid(jwt.SigningMethodRS256, "ec-1", rsaKey.Private),
			want: "the token's algorithm is not one its key allows (ES256)"},
		{name: "ES256 naming the RSA key", token: withKid(jwt.SigningMethodES256, "rsa-1", ecKey.Private),
			want: "the token's algorithm is not one its key allows (RS256, RS384, RS512, PS256, PS384, PS512)"},
		{name: "alg none", token: withKid(jwt.SigningMethodNone, "rsa-1", jwt.UnsafeAllowNoneSignatureType),
			want: "the token is not signed with the identity provider's key"},
		{name: "signed by another key under a known kid", token: withKid(jwt.SigningMethodRS256, "rsa-1", idptest.NewRSAKey(t, "x").Private),
			want: "the token is not signed with the identity provider's key its kid names"},
		{name: "no kid", token: sign(t, jwt.SigningMethodRS256, rsaKey.Private, claims(nil)),
			want: "the token's header names no key (kid)"},
		{name: "expired", token: rsaKey.Sign(t, claims(jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()})),
			want: "the token expired at"},
		{name: "another audience", token: ecKey.Sign(t, claims(jwt.MapClaims{"aud": "billing"})),
			want: `the token's audience is not "gatehouse"`},
		{name: "another issuer", token: ecKey.Sign(t, claims(jwt.MapClaims{"iss": "https://evil.example.com"})),
			want: "the token's issuer is not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := v.Verify(tt.token)
			if tt.want == "" {
				require.NoError(t, err)
				assert.Equal(t, "alice", sub)
				return
			}
			require.ErrorContains(t, err, tt.want)
			assert.Empty(t, sub)
		})
	}
	assert.Equal(t, strings.Join([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}, ", "), v.Algorithm())
}

// R43: keys rotate. The identity provider serves a new kid and drops the
// old one: the first token of the new key makes the set fetched early and
// passes; tokens of the old key are refused once the set is refreshed.
// Through a real HTTP server; the latency is logged, not asserted.
func TestKeySetRotationOnUnknownKidR43(t *testing.T) {
	oldKey, newKey := idptest.NewRSAKey(t, "2026-old"), idptest.NewECKey(t, "2026-new")
	idp := idptest.Start(t, oldKey)
	// A long minimum refresh interval: only the first early fetch is allowed.
	v, logs := keySetVerifier(t, idp.JWKSURL(), []httpapi.KeySetOption{httpapi.WithKeySetMinRefreshInterval(time.Hour),
		httpapi.WithKeySetRefreshInterval(time.Hour), httpapi.WithKeySetLifetime(24 * time.Hour)})
	url, _ := serveWith(t, v)
	oldToken := oldKey.Sign(t, validClaims(systemAdmin))
	newToken := newKey.Sign(t, validClaims(systemAdmin))
	status, body := getEvents(t, url, oldToken)
	require.Equal(t, http.StatusOK, status, body)
	fetchesBefore := idp.Fetches()

	idp.Serve(t, newKey)
	status, body = getEvents(t, url, oldToken)
	require.Equal(t, http.StatusOK, status, "the cached key keeps working until the set is refreshed: %s", body)

	start := time.Now()
	require.Eventually(t, func() bool {
		status, _ := getEvents(t, url, newToken)
		return status == http.StatusOK
	}, 30*time.Second, 10*time.Millisecond, "a token of the new key passes once the set is fetched early")
	t.Logf("new key accepted %s after the rotation, %d early fetch(es)", time.Since(start), idp.Fetches()-fetchesBefore)
	assert.Equal(t, 1, idp.Fetches()-fetchesBefore, "one early fetch")

	status, body = getEvents(t, url, oldToken)
	msg := unauthenticatedMessage(t, status, body)
	assert.Contains(t, msg, "the token's key (kid) is not in the identity provider's key set")
	assert.NotContains(t, msg, "2026-old", "the kid, a part of the token, is not echoed")
	assertNoTokenIn(t, oldToken, body, logs.String())
}

// R43: keys rotate without any token naming the new kid: the scheduled
// refresh alone drops the old key, whose tokens are then refused.
func TestKeySetRotationOnScheduleR43(t *testing.T) {
	oldKey, newKey := idptest.NewRSAKey(t, "old"), idptest.NewRSAKey(t, "new")
	idp := idptest.Start(t, oldKey)
	v, _ := keySetVerifier(t, idp.JWKSURL(), []httpapi.KeySetOption{httpapi.WithKeySetRefreshInterval(time.Second),
		httpapi.WithKeySetMinRefreshInterval(time.Second), httpapi.WithKeySetLifetime(time.Hour)})
	oldToken := oldKey.Sign(t, validClaims("alice"))
	_, err := v.Verify(oldToken)
	require.NoError(t, err)

	idp.Serve(t, newKey)
	start := time.Now()
	require.Eventually(t, func() bool {
		_, err := v.Verify(oldToken)
		return err != nil
	}, 30*time.Second, 20*time.Millisecond, "the old key is dropped by a scheduled refresh")
	t.Logf("old key refused %s after the rotation (refresh interval 1s), after %d fetches", time.Since(start), idp.Fetches())
	sub, err := v.Verify(newKey.Sign(t, validClaims("alice")))
	require.NoError(t, err)
	assert.Equal(t, "alice", sub)
}

// R43: a flood of 1,000 tokens naming made-up kids, 50 callers at a time,
// is refused with 401s and makes the identity provider see at most one
// early fetch (the minimum refresh interval, an hour, is longer than the
// flood).
func TestUnknownKidFloodIsBoundedR43(t *testing.T) {
	known := idptest.NewRSAKey(t, "known")
	idp := idptest.Start(t, known)
	v, _ := keySetVerifier(t, idp.JWKSURL(), []httpapi.KeySetOption{httpapi.WithKeySetMinRefreshInterval(time.Hour),
		httpapi.WithKeySetRefreshInterval(time.Hour)})
	url, _ := serveWith(t, v)
	before := idp.Fetches()

	const tokens, callers = 1000, 50
	jobs := make(chan string)
	statuses := make(chan int, tokens)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for token := range jobs {
				status, _ := getEvents(t, url, token)
				statuses <- status
			}
		})
	}
	start := time.Now()
	for range tokens {
		kid := make([]byte, 8)
		_, _ = rand.Read(kid)
		bogus := known
		bogus.Kid = hex.EncodeToString(kid)
		jobs <- bogus.Sign(t, validClaims(systemAdmin))
	}
	close(jobs)
	wg.Wait()
	close(statuses)
	for status := range statuses {
		require.Equal(t, http.StatusUnauthorized, status)
	}
	fetches := idp.Fetches() - before
	t.Logf("%d tokens with random kids in %s made %d key set fetch(es)", tokens, time.Since(start), fetches)
	assert.LessOrEqual(t, fetches, 1, "at most one early fetch per minimum refresh interval")

	status, body := getEvents(t, url, known.Sign(t, validClaims(systemAdmin)))
	assert.Equal(t, http.StatusOK, status, "the known key still works: %s", body)
}

// R43, fail closed: when the identity provider breaks (an error status, a
// body that is no key set, no answer within the fetch timeout), the server
// keeps answering: 401 for a token it cannot verify, never a hang or a
// 5xx, and tokens of the keys fetched before keep passing.
func TestBrokenKeySetFailsClosedR43(t *testing.T) {
	for name, breakIt := range map[string]func(*idptest.IdP){
		"500":                     func(idp *idptest.IdP) { idp.SetMode(idptest.Status500) },
		"invalid JSON":            func(idp *idptest.IdP) { idp.SetMode(idptest.InvalidJSON) },
		"slower than the timeout": func(idp *idptest.IdP) { idp.SetMode(idptest.Slow) },
		"larger than 1 MiB": func(idp *idptest.IdP) {
			idp.ServeRaw([]byte(`{"keys":[]` + strings.Repeat(" ", httpapi.MaxKeySetBytes) + `}`))
		},
	} {
		t.Run(name, func(t *testing.T) {
			cached, rotated := idptest.NewRSAKey(t, "cached"), idptest.NewECKey(t, "rotated")
			idp := idptest.Start(t, cached)
			v, logs := keySetVerifier(t, idp.JWKSURL(), []httpapi.KeySetOption{
				httpapi.WithKeySetFetchTimeout(500 * time.Millisecond), httpapi.WithKeySetRefreshInterval(time.Hour)})
			url, _ := serveWith(t, v)
			idp.Serve(t, cached, rotated)
			breakIt(idp)
			before := idp.Fetches()

			start := time.Now()
			status, body := getEvents(t, url, rotated.Sign(t, validClaims(systemAdmin)))
			t.Logf("a token of a key not cached answered %d in %s while the key set is broken (fetch timeout 500ms)", status, time.Since(start))
			assert.Contains(t, unauthenticatedMessage(t, status, body), "the token's key (kid) is not in the identity provider's key set")
			assert.Equal(t, 1, idp.Fetches()-before, "the unknown kid made one early fetch")

			status, body = getEvents(t, url, cached.Sign(t, validClaims(systemAdmin)))
			assert.Equal(t, http.StatusOK, status, "the cached key keeps working: %s", body)
			assert.Contains(t, logs.String(), "the keys fetched last stay in use")
		})
	}
}

// R43, fail closed: the keys fetched last stay usable only for the key
// set's lifetime; past it, with the identity provider still down, every
// token is refused (401), and when it comes back its keys are used again.
func TestKeySetLifetimeR43(t *testing.T) {
	key := idptest.NewRSAKey(t, "k")
	idp := idptest.Start(t, key)
	v, _ := keySetVerifier(t, idp.JWKSURL(), []httpapi.KeySetOption{httpapi.WithKeySetRefreshInterval(time.Second),
		httpapi.WithKeySetMinRefreshInterval(time.Second), httpapi.WithKeySetLifetime(3 * time.Second)})
	url, _ := serveWith(t, v)
	token := key.Sign(t, validClaims(systemAdmin))
	status, body := getEvents(t, url, token)
	require.Equal(t, http.StatusOK, status, body)

	idp.SetMode(idptest.Status500)
	down := time.Now()
	require.Eventually(t, func() bool {
		status, _ := getEvents(t, url, token)
		return status == http.StatusUnauthorized
	}, 30*time.Second, 50*time.Millisecond, "past the lifetime the cached keys are no longer trusted")
	t.Logf("cached key refused %s after the identity provider went down (lifetime 3s)", time.Since(down))
	status, body = getEvents(t, url, token)
	assert.Contains(t, unauthenticatedMessage(t, status, body), "could not be refreshed within their lifetime")

	idp.SetMode(idptest.Healthy)
	up := time.Now()
	require.Eventually(t, func() bool {
		status, _ := getEvents(t, url, token)
		return status == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "the keys are used again once the identity provider answers")
	t.Logf("key accepted again %s after the identity provider came back", time.Since(up))
}

// R43, fail closed: a server started while its identity provider is down
// starts, refuses every token with a 401 saying why, and recovers without
// a restart.
func TestKeySetDownAtStartR43(t *testing.T) {
	key := idptest.NewECKey(t, "k")
	idp := idptest.Start(t, key)
	idp.SetMode(idptest.Status500)
	v, _ := keySetVerifier(t, idp.JWKSURL(), []httpapi.KeySetOption{httpapi.WithKeySetMinRefreshInterval(time.Second)})
	url, _ := serveWith(t, v)
	token := key.Sign(t, validClaims(systemAdmin))
	status, body := getEvents(t, url, token)
	assert.Contains(t, unauthenticatedMessage(t, status, body), "the identity provider's keys could not be fetched")

	idp.SetMode(idptest.Healthy)
	up := time.Now()
	require.Eventually(t, func() bool {
		status, _ := getEvents(t, url, token)
		return status == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond)
	t.Logf("key accepted %s after the identity provider came up (minimum refresh interval 1s)", time.Since(up))
}

// R43: --jwt-subject-claim email makes the email claim the actor; it must
// still be a valid id, a string, and spelled in one case only.
func TestSubjectClaimR43(t *testing.T) {
	key := idptest.NewRSAKey(t, "k")
	idp := idptest.Start(t, key)
	ks, _ := keySetVerifier(t, idp.JWKSURL(), nil, httpapi.WithSubjectClaim("email"))
	hs, err := httpapi.NewHS256Verifier(testSecret, httpapi.WithSubjectClaim("email"))
	require.NoError(t, err)
	exp := time.Now().Add(time.Hour).Unix()

	sub, err := ks.Verify(key.Sign(t, jwt.MapClaims{"sub": "00u1a2b3c", "email": "alice@example.com", "exp": exp}))
	require.NoError(t, err)
	assert.Equal(t, "alice@example.com", sub, "the actor is the email, not sub")
	sub, err = hs.Verify(sign(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"email": "bob@example.com", "exp": exp}))
	require.NoError(t, err)
	assert.Equal(t, "bob@example.com", sub)

	for name, tt := range map[string]struct {
		claims jwt.MapClaims
		want   string
	}{
		"no email":           {jwt.MapClaims{"sub": "alice", "exp": exp}, "the token's email claim, which names the actor, is missing or not a string"},
		"email not a string": {jwt.MapClaims{"email": 42, "exp": exp}, "missing or not a string"},
		"email null":         {jwt.MapClaims{"email": nil, "exp": exp}, "the token's email claim is missing or not a valid id"},
		"email not an id":    {jwt.MapClaims{"email": "alice smith@example.com", "exp": exp}, "the token's email claim is missing or not a valid id"},
		"EMAIL beside email": {jwt.MapClaims{"email": "alice@example.com", "EMAIL": "ops", "exp": exp}, "the token spells the email claim in another case"},
	} {
		t.Run(name, func(t *testing.T) {
			sub, err := ks.Verify(key.Sign(t, tt.claims))
			require.ErrorContains(t, err, tt.want)
			assert.Empty(t, sub)
		})
	}
	_, err = httpapi.NewHS256Verifier(testSecret, httpapi.WithSubjectClaim("exp"))
	require.ErrorContains(t, err, "the subject claim cannot be exp")
}

// R43: keys a key set must not be trusted with are left out, and the
// operator told why: a symmetric key (an HS256 token naming it never
// passes, whoever knows its secret), a key for encryption, an RSA key under
// 2048 bits, a kid given twice.
func TestKeySetLeavesOutKeysItCannotTrustR43(t *testing.T) {
	good := idptest.NewRSAKey(t, "good")
	enc := idptest.NewRSAKey(t, "enc")
	dup1, dup2 := idptest.NewECKey(t, "dup"), idptest.NewECKey(t, "dup")
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	jwkOf := func(raw any, fields map[string]any) json.RawMessage {
		k, err := jwk.Import(raw)
		require.NoError(t, err)
		for name, v := range fields {
			require.NoError(t, k.Set(name, v))
		}
		b, err := json.Marshal(k)
		require.NoError(t, err)
		return b
	}
	set, err := json.Marshal(map[string][]json.RawMessage{"keys": {
		jwkOf(good.Private.Public(), map[string]any{"kid": "good"}),
		jwkOf(testSecret, map[string]any{"kid": "hmac", "alg": "HS256"}),
		jwkOf(enc.Private.Public(), map[string]any{"kid": "enc", "use": "enc"}),
		jwkOf(&weak.PublicKey, map[string]any{"kid": "weak"}),
		jwkOf(dup1.Private.Public(), map[string]any{"kid": "dup"}),
		jwkOf(dup2.Private.Public(), map[string]any{"kid": "dup"}),
	}})
	require.NoError(t, err)
	idp := idptest.Start(t)
	idp.ServeRaw(set)
	v, logs := keySetVerifier(t, idp.JWKSURL(), []httpapi.KeySetOption{httpapi.WithKeySetMinRefreshInterval(time.Hour),
		httpapi.WithKeySetRefreshInterval(time.Hour)})

	_, err = v.Verify(good.Sign(t, validClaims("alice")))
	require.NoError(t, err)
	hmac := jwt.NewWithClaims(jwt.SigningMethodHS256, validClaims("alice"))
	hmac.Header["kid"] = "hmac"
	hmacToken, err := hmac.SignedString(testSecret)
	require.NoError(t, err)
	weakToken := jwt.NewWithClaims(jwt.SigningMethodRS256, validClaims("alice"))
	weakToken.Header["kid"] = "weak"
	weakSigned, err := weakToken.SignedString(weak)
	require.NoError(t, err)
	for name, tt := range map[string]struct{ token, want string }{
		"HS256 naming a symmetric key": {hmacToken, "the token is not signed with the identity provider's key"},
		"a key for encryption":         {enc.Sign(t, validClaims("alice")), "is not in the identity provider's key set"},
		"a weak RSA key":               {weakSigned, "is not in the identity provider's key set"},
		"a kid given twice":            {dup1.Sign(t, validClaims("alice")), "the token's key (kid) is given twice"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(tt.token)
			require.ErrorContains(t, err, tt.want)
		})
	}
	logged := strings.ReplaceAll(logs.String(), `\"`, `"`)
	for _, why := range []string{`key "hmac": it is not a public signing key (RSA, EC or Ed25519) but of type oct`, `key "enc": its use is "enc", not sig`,
		`key "weak": an RSA key needs at least 2048 bits (it has 1024)`, `key "dup": given twice, refused`} {
		assert.Contains(t, logged, why)
	}
}
