package console

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// oidcTestIdP is an OpenID provider for the console's sign-in tests: discovery,
// a key set, an authorization endpoint that signs the user in at once (or
// answers the error the test sets) and redirects back with a code bound to
// the PKCE challenge, and a token endpoint that checks the client's
// credentials, the redirect URI and the code verifier (S256) before it
// returns an ID token carrying the nonce. A code is accepted once. Knobs
// make the ID token wrong in one way at a time.
type oidcTestIdP struct {
	URL          string
	ClientID     string
	ClientSecret string

	key *rsa.PrivateKey
	srv *httptest.Server

	mu       sync.Mutex
	redirect string // the registered redirect URI
	claims   jwt.MapClaims
	deny     string // error code /authorize answers, when set
	token    idTokenKnobs
	codes    map[string]oidcGrant
	down     bool
	exchange int // token requests answered
}

// idTokenKnobs change the ID token the token endpoint returns.
type idTokenKnobs struct {
	issuer   string        // iss (default: the provider's URL)
	audience string        // aud (default: the client id)
	nonce    string        // nonce (default: the one /authorize was given)
	life     time.Duration // exp - now (default: one hour; negative: expired)
	otherKey bool          // signed by a key the key set does not hold
}

// oidcGrant is what an issued code stands for.
type oidcGrant struct {
	challenge, method, nonce, redirect, clientID string
}

// startOIDCTestIdP runs a provider for a client whose callback is redirect, with
// the user's claims, closed when the test ends.
func startOIDCTestIdP(tb testing.TB, redirect string, claims jwt.MapClaims) *oidcTestIdP {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatalf("generate an RSA key: %v", err)
	}
	p := &oidcTestIdP{
		ClientID: "gatehouse-console", ClientSecret: "console-secret-" + rand.Text(),
		key: key, redirect: redirect, claims: claims, codes: map[string]oidcGrant{},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.handle))
	p.URL = p.srv.URL
	tb.Cleanup(p.srv.Close)
	return p
}

// set changes the ID token the next exchanges return.
func (p *oidcTestIdP) set(k idTokenKnobs) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.token = k
}

// denyWith makes /authorize answer error=code.
func (p *oidcTestIdP) denyWith(code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deny = code
}

// setDown makes every endpoint answer 503.
func (p *oidcTestIdP) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// exchanges is how many token requests the provider answered.
func (p *oidcTestIdP) exchanges() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exchange
}

func (p *oidcTestIdP) handle(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		http.Error(w, "the identity provider is down", http.StatusServiceUnavailable)
		return
	}
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		idpWriteJSON(w, http.StatusOK, map[string]any{
			"issuer":                                p.URL,
			"authorization_endpoint":                p.URL + "/authorize",
			"token_endpoint":                        p.URL + "/token",
			"jwks_uri":                              p.URL + "/jwks",
			"response_types_supported":              []string{"code"},
			"code_challenge_methods_supported":      []string{"S256"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic"},
		})
	case "/jwks":
		pub := p.key.PublicKey
		idpWriteJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		}}})
	case "/authorize":
		p.authorize(w, r)
	case "/token":
		p.tokenEndpoint(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (p *oidcTestIdP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	if q.Get("client_id") != p.ClientID || q.Get("redirect_uri") != p.redirect {
		http.Error(w, "unknown client or redirect_uri", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(p.redirect)
	v := url.Values{"state": {q.Get("state")}}
	switch {
	case p.deny != "":
		v.Set("error", p.deny)
		v.Set("error_description", "the user said no")
	case q.Get("response_type") != "code" || !strings.Contains(" "+q.Get("scope")+" ", " openid "):
		v.Set("error", "invalid_request")
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		v.Set("error", "invalid_request")
		v.Set("error_description", "PKCE with S256 is required")
	default:
		code := rand.Text()
		p.codes[code] = oidcGrant{
			challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"),
			nonce: q.Get("nonce"), redirect: q.Get("redirect_uri"), clientID: q.Get("client_id"),
		}
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *oidcTestIdP) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		idpWriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exchange++
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		idpWriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	code := r.PostForm.Get("code")
	g, found := p.codes[code]
	delete(p.codes, code) // a code is used once
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code":
		idpWriteJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	case !found || g.clientID != id || g.redirect != r.PostForm.Get("redirect_uri"):
		idpWriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "unknown code " + code})
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		idpWriteJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "code_verifier does not match the challenge of code " + code})
		return
	}
	k := p.token
	now := time.Now()
	claims := jwt.MapClaims{"iss": p.URL, "aud": p.ClientID, "nonce": g.nonce, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for name, v := range p.claims {
		claims[name] = v
	}
	if k.issuer != "" {
		claims["iss"] = k.issuer
	}
	if k.audience != "" {
		claims["aud"] = k.audience
	}
	if k.nonce != "" {
		claims["nonce"] = k.nonce
	}
	if k.life != 0 {
		claims["exp"] = now.Add(k.life).Unix()
	}
	signer := p.key
	if k.otherKey {
		var err error
		if signer, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			idpWriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
			return
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "k1"
	raw, err := tok.SignedString(signer)
	if err != nil {
		idpWriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	idpWriteJSON(w, http.StatusOK, map[string]any{
		"access_token": "access-" + rand.Text(), "token_type": "Bearer", "expires_in": 3600, "id_token": raw,
	})
}

func idpWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
