// Package idptest runs a local identity provider for tests of token
// verification with a JSON Web Key Set (R43): an httptest server answering
// OpenID Connect discovery at /.well-known/openid-configuration and its key
// set at /jwks, with RSA and EC signing keys made in the test. Tests rotate
// the keys it serves, break it (an error status, a body that is no key
// set, an answer slower than any fetch timeout) and count its key set
// fetches.
package idptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// Key is a signing key of the identity provider: its key id, private key
// and the algorithm its tokens use.
type Key struct {
	Kid     string
	Private crypto.Signer
	Method  jwt.SigningMethod
	// Alg, when set, is published as the JWK's alg.
	Alg string
}

// NewRSAKey makes a 2048-bit RSA key signing RS256 tokens.
func NewRSAKey(tb testing.TB, kid string) Key {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatalf("idptest: generate an RSA key: %v", err)
	}
	return Key{Kid: kid, Private: k, Method: jwt.SigningMethodRS256}
}

// NewECKey makes a P-256 key signing ES256 tokens.
func NewECKey(tb testing.TB, kid string) Key {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("idptest: generate an EC key: %v", err)
	}
	return Key{Kid: kid, Private: k, Method: jwt.SigningMethodES256}
}

// Sign returns a token with claims, signed by k with its kid in the
// header.
func (k Key) Sign(tb testing.TB, claims jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(k.Method, claims)
	tok.Header["kid"] = k.Kid
	s, err := tok.SignedString(k.Private)
	if err != nil {
		tb.Fatalf("idptest: sign: %v", err)
	}
	return s
}

// Mode is how the key set endpoint answers.
type Mode int

// The modes of the key set endpoint.
const (
	Healthy     Mode = iota // the keys Serve set, as a JSON Web Key Set
	Status500               // 500 Internal Server Error
	InvalidJSON             // 200 with a body that is not JSON
	Slow                    // no answer until the test ends or another mode is set
)

// IdP is a running identity provider. Its methods are safe for concurrent
// use.
type IdP struct {
	// URL is the server's base URL, also the issuer it announces unless
	// SetIssuer says otherwise.
	URL string

	mu      sync.Mutex
	body    []byte
	mode    Mode
	issuer  string
	release chan struct{}
	fetches atomic.Int64
}

// Start runs an identity provider serving keys, closed when the test ends.
func Start(tb testing.TB, keys ...Key) *IdP {
	tb.Helper()
	p := &IdP{release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(p.handle))
	p.URL = srv.URL
	p.issuer = srv.URL
	p.Serve(tb, keys...)
	tb.Cleanup(func() {
		p.SetMode(Healthy) // lets slow answers end
		srv.Close()
	})
	return p
}

// JWKSURL is where the key set is served.
func (p *IdP) JWKSURL() string { return p.URL + "/jwks" }

// Serve replaces the keys served: a rotation when it drops a key.
func (p *IdP) Serve(tb testing.TB, keys ...Key) {
	tb.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := jwk.Import(k.Private.Public())
		if err != nil {
			tb.Fatalf("idptest: import a public key: %v", err)
		}
		if err := pub.Set(jwk.KeyIDKey, k.Kid); err != nil {
			tb.Fatalf("idptest: set kid: %v", err)
		}
		if err := pub.Set(jwk.KeyUsageKey, "sig"); err != nil {
			tb.Fatalf("idptest: set use: %v", err)
		}
		if k.Alg != "" {
			if err := pub.Set(jwk.AlgorithmKey, k.Alg); err != nil {
				tb.Fatalf("idptest: set alg: %v", err)
			}
		}
		if err := set.AddKey(pub); err != nil {
			tb.Fatalf("idptest: add a key: %v", err)
		}
	}
	body, err := json.Marshal(set)
	if err != nil {
		tb.Fatalf("idptest: marshal the key set: %v", err)
	}
	p.ServeRaw(body)
}

// ServeRaw serves body as the key set, as it is.
func (p *IdP) ServeRaw(body []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.body = body
}

// SetMode makes the key set endpoint answer as mode says.
func (p *IdP) SetMode(mode Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == Slow && mode != Slow {
		close(p.release)
		p.release = make(chan struct{})
	}
	p.mode = mode
}

// SetIssuer sets the issuer the discovery document announces.
func (p *IdP) SetIssuer(issuer string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.issuer = issuer
}

// Fetches is how many times the key set was asked for.
func (p *IdP) Fetches() int { return int(p.fetches.Load()) }

func (p *IdP) handle(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	body, mode, issuer, release := p.body, p.mode, p.issuer, p.release
	p.mu.Unlock()
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": issuer, "jwks_uri": p.JWKSURL()})
	case "/jwks":
		p.fetches.Add(1)
		switch mode {
		case Status500:
			http.Error(w, "the identity provider is down", http.StatusInternalServerError)
		case InvalidJSON:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"keys": [ this is not json`))
		case Slow:
			select {
			case <-release:
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
			http.Error(w, "too late", http.StatusServiceUnavailable)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}
	default:
		http.NotFound(w, r)
	}
}
