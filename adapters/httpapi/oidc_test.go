package httpapi_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/adapters/httpapi/idptest"
)

// No credential of the JWKS URL (user info, path, query) appears in a log
// line, even when fetches fail.
func TestKeySetLogsHideTheURL(t *testing.T) {
	key := idptest.NewRSAKey(t, "k")
	idp := idptest.Start(t, key)
	secretURL := strings.Replace(idp.JWKSURL(), "http://", "http://user:pa55-secret-marker@", 1) + "?token=query-secret-marker"
	v, logs := keySetVerifier(t, secretURL, []httpapi.KeySetOption{httpapi.WithKeySetFetchTimeout(300 * time.Millisecond)})
	_, err := v.Verify(key.Sign(t, validClaims("alice")))
	require.NoError(t, err)
	for _, mode := range []idptest.Mode{idptest.Status500, idptest.InvalidJSON, idptest.Slow} {
		idp.SetMode(mode)
		kid := idptest.NewRSAKey(t, "unknown-"+hex.EncodeToString([]byte{byte(mode)}))
		v2, logs2 := keySetVerifier(t, secretURL, []httpapi.KeySetOption{httpapi.WithKeySetFetchTimeout(300 * time.Millisecond)})
		_, err := v2.Verify(kid.Sign(t, validClaims("alice")))
		require.Error(t, err)
		assert.NotContains(t, logs2.String(), "secret-marker")
		assert.Contains(t, logs2.String(), "jwks=http://***@127.0.0.1")
	}
	assert.NotContains(t, logs.String(), "secret-marker")
}

// The JWKS and issuer URLs must be https, or http to a loopback host; the
// error says so and never quotes the URL.
func TestCheckKeySetURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://idp.example.com/.well-known/jwks.json": "",
		"http://127.0.0.1:8080/jwks":                    "",
		"http://localhost/jwks":                         "",
		"http://[::1]:9000/jwks":                        "",
		"http://idp.example.com/jwks?secret-marker":     "plain http is allowed only to a loopback host",
		"ftp://idp.example.com/jwks":                    "it must be an https URL",
		"/jwks":                                         "it must be an absolute https URL",
		"https://idp.example.com/%zz":                   "it is not a URL",
	} {
		err := httpapi.CheckKeySetURL(raw)
		if want == "" {
			assert.NoError(t, err, raw)
			continue
		}
		require.ErrorContains(t, err, want, raw)
		assert.NotContains(t, err.Error(), "secret-marker")
	}
	_, err := httpapi.NewKeySet(t.Context(), "http://idp.example.com/jwks")
	require.ErrorContains(t, err, "the JWKS URL: it must be https: plain http is allowed only to a loopback host")
}

// OpenID Connect discovery: the configuration at the issuer gives the
// jwks_uri; an issuer that differs from the document's, even by a slash,
// is refused with an error naming both.
func TestDiscoverKeySetURL(t *testing.T) {
	idp := idptest.Start(t, idptest.NewRSAKey(t, "k"))
	got, err := httpapi.DiscoverKeySetURL(t.Context(), idp.URL)
	require.NoError(t, err)
	assert.Equal(t, idp.JWKSURL(), got)

	_, err = httpapi.DiscoverKeySetURL(t.Context(), idp.URL+"/")
	require.ErrorContains(t, err, `names the issuer "`+idp.URL+`", not "`+idp.URL+`/"`)

	idp.SetIssuer("https://evil.example.com")
	_, err = httpapi.DiscoverKeySetURL(t.Context(), idp.URL)
	require.ErrorContains(t, err, `names the issuer "https://evil.example.com", not "`+idp.URL+`": the issuer must be exactly the iss its tokens carry`)

	_, err = httpapi.DiscoverKeySetURL(t.Context(), idp.URL+"/realms/none")
	require.ErrorContains(t, err, "the server answered 404 Not Found")
	_, err = httpapi.DiscoverKeySetURL(t.Context(), "http://idp.example.com")
	require.ErrorContains(t, err, "the issuer: it must be https")
	_, err = httpapi.DiscoverKeySetURL(t.Context(), idp.URL+"?x=1")
	require.ErrorContains(t, err, "without user info, query or fragment")
}
