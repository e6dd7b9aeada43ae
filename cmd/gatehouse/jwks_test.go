package main

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi/idptest"
)

// Issue 10, part 1 (R43): a real `gatehouse serve` process verifies the
// tokens of a local identity provider, found by OpenID Connect discovery
// at --jwt-issuer; it follows a key rotation, keeps answering while the
// identity provider is down, reads the actor from --jwt-subject-claim, and
// never logs a credential of the JWKS URL.
func TestServeWithIdentityProvider(t *testing.T) {
	bin := buildGatehouse(t)
	dir := seededDir(t)
	rsaKey, ecKey := idptest.NewRSAKey(t, "rsa-2026-01"), idptest.NewECKey(t, "ec-2026-01")
	idp := idptest.Start(t, rsaKey, ecKey)
	srv := startServer(t, "idp", bin, "--data-dir", dir, "--jwt-issuer", idp.URL, "--jwt-audience", "gatehouse",
		"--system-admins", "ops")
	assert.Contains(t, srv.logs(), "found the identity provider's keys by OpenID Connect discovery")
	claims := func(sub string) jwt.MapClaims {
		return jwt.MapClaims{"sub": sub, "aud": "gatehouse", "iss": idp.URL, "exp": time.Now().Add(time.Hour).Unix()}
	}
	events := func(token string) (int, string) { return call(t, http.MethodGet, srv.url+"/v1/events", token, "") }

	for _, key := range []idptest.Key{rsaKey, ecKey} {
		status, body := events(key.Sign(t, claims("ops")))
		require.Equal(t, http.StatusOK, status, "%s: %s", key.Kid, body)
	}
	status, body := events(rsaKey.Sign(t, jwt.MapClaims{"sub": "ops", "aud": "gatehouse", "iss": "https://evil.example.com",
		"exp": time.Now().Add(time.Hour).Unix()}))
	assert.Equal(t, http.StatusUnauthorized, status, body)

	// Rotation: the identity provider drops rsa-2026-01 for rsa-2026-02.
	rotated := idptest.NewRSAKey(t, "rsa-2026-02")
	idp.Serve(t, rotated, ecKey)
	start := time.Now()
	require.Eventually(t, func() bool {
		status, _ := events(rotated.Sign(t, claims("ops")))
		return status == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "a token of the new key passes after an early fetch")
	t.Logf("gatehouse serve accepted the new key %s after the rotation", time.Since(start))
	status, body = events(rsaKey.Sign(t, claims("ops")))
	assert.Equal(t, http.StatusUnauthorized, status, body)
	assert.Contains(t, body, "the token's key (kid) is not in the identity provider's key set")
	assert.NotContains(t, body, "rsa-2026-01", "the kid is not echoed")

	// The identity provider goes down: cached keys keep working, others
	// get a 401, the server keeps answering.
	idp.SetMode(idptest.Status500)
	status, body = events(ecKey.Sign(t, claims("ops")))
	assert.Equal(t, http.StatusOK, status, "a cached key works while the identity provider is down: %s", body)
	status, body = events(idptest.NewECKey(t, "unknown").Sign(t, claims("ops")))
	assert.Equal(t, http.StatusUnauthorized, status, body)
	status, _ = call(t, http.MethodGet, srv.url+"/health", "", "")
	assert.Equal(t, http.StatusOK, status)
	idp.SetMode(idptest.Healthy)

	// --jwt-jwks-url with credentials in it, and --jwt-subject-claim email.
	jwksURL := strings.Replace(idp.JWKSURL(), "http://", "http://jwksuser:JwksPassS3cret@", 1) + "?key=JwksQueryS3cret"
	byEmail := startServer(t, "email", bin, "--data-dir", seededDir(t), "--jwt-jwks-url", jwksURL,
		"--jwt-subject-claim", "email", "--jwt-audience", "gatehouse")
	emailClaims := jwt.MapClaims{"sub": "00u1b2c3", "email": "ops@example.com", "aud": "gatehouse", "exp": time.Now().Add(time.Hour).Unix()}
	status, body = call(t, http.MethodGet, byEmail.url+"/v1/events", ecKey.Sign(t, emailClaims), "")
	assert.Equal(t, http.StatusOK, status, body)
	delete(emailClaims, "email")
	status, body = call(t, http.MethodGet, byEmail.url+"/v1/events", ecKey.Sign(t, emailClaims), "")
	assert.Equal(t, http.StatusUnauthorized, status, body)
	assert.Contains(t, body, "the token's email claim, which names the actor, is missing or not a string")
	idp.SetMode(idptest.InvalidJSON)
	status, _ = call(t, http.MethodGet, byEmail.url+"/v1/events", idptest.NewECKey(t, "other").Sign(t, emailClaims), "")
	assert.Equal(t, http.StatusUnauthorized, status)
	idp.SetMode(idptest.Healthy)
	for _, s := range []*serverProcess{srv, byEmail} {
		assert.NotContains(t, s.logs(), "S3cret", "no credential of the JWKS URL in the logs")
	}
	assert.Contains(t, byEmail.logs(), "jwks=http://***@127.0.0.1")
}

// OpenID Connect discovery refuses to start a server whose --jwt-issuer
// is not exactly the issuer the identity provider announces, and a JWKS
// URL that is plain http to another host, each with an error saying why.
func TestServeRefusesAMisconfiguredIdentityProvider(t *testing.T) {
	bin := buildGatehouse(t)
	idp := idptest.Start(t, idptest.NewRSAKey(t, "k"))
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"issuer with a trailing slash": {[]string{"--jwt-issuer", idp.URL + "/"},
			`--jwt-issuer: OpenID Connect discovery (no --jwt-jwks-url, key file or secret is given): the OpenID configuration at ` +
				idp.URL + `/.well-known/openid-configuration names the issuer "` + idp.URL + `", not "` + idp.URL + `/"`},
		"issuer over http to another host": {[]string{"--jwt-issuer", "http://idp.example.com"},
			"--jwt-issuer http://idp.example.com: with no --jwt-jwks-url, key file or secret, the keys are found by OpenID Connect discovery at the issuer, and it must be https"},
		"JWKS URL over http to another host": {[]string{"--jwt-jwks-url", "http://user:JwksPassS3cret@idp.example.com/jwks"},
			"--jwt-jwks-url http://***@idp.example.com/***: it must be https: plain http is allowed only to a loopback host"},
		"a JWKS URL and a key file": {[]string{"--jwt-jwks-url", idp.JWKSURL(), "--jwt-public-key-file", "key.pem"},
			"give one of --jwt-hs256-secret-file, --jwt-public-key-file and --jwt-jwks-url, not both --jwt-jwks-url and --jwt-public-key-file"},
		"a subject claim that is exp": {[]string{"--jwt-jwks-url", idp.JWKSURL(), "--jwt-subject-claim", "exp"},
			"the subject claim cannot be exp"},
		"a cache lifetime shorter than the refresh": {[]string{"--jwt-jwks-url", idp.JWKSURL(), "--jwt-jwks-cache-lifetime", "1m"},
			"--jwt-jwks-cache-lifetime must be longer than --jwt-jwks-refresh-interval 15m0s (it is 1m0s)"},
	} {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, tc.args...)
			out, err := exec.Command(bin, args...).CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "serve must refuse to start: %s", out)
			assert.Contains(t, string(out), tc.want)
			assert.NotContains(t, string(out), "S3cret")
			assert.NotContains(t, string(out), "gatehouse serving")
		})
	}
}
