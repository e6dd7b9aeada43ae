package console

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse/gatehouse/engine"
)

// Signing in to the console with an identity provider: the OpenID Connect
// authorization-code flow (OpenID Connect Core 1.0, section 3.1) with PKCE
// (RFC 7636, method S256). go-oidc discovers the provider and verifies the
// ID token; x/oauth2 builds the authorization URL and exchanges the code.

// Defaults of an OIDCLogin.
const (
	// DefaultOIDCFlowTimeout is how long a sign-in may take between Start
	// and the provider's redirect back: the life of the flow cookie.
	DefaultOIDCFlowTimeout = 10 * time.Minute
	// DefaultOIDCSubjectClaim is the ID token claim naming the user.
	DefaultOIDCSubjectClaim = "sub"
	// DefaultOIDCFetchTimeout bounds one request to the identity provider
	// (discovery, key set, code exchange) when no HTTPClient is given.
	DefaultOIDCFetchTimeout = 10 * time.Second
	// MaxOIDCAnswerBytes is the most read of one answer of the identity
	// provider by the default HTTPClient.
	MaxOIDCAnswerBytes = 1 << 20
	// OIDCCookieKeySize is the length in bytes of OIDCConfig.CookieKey
	// (an AES-256-GCM key).
	OIDCCookieKeySize = 32
	// OIDCFlowCookie is the name of the cookie that carries a sign-in in
	// progress (state, nonce and PKCE verifier, encrypted) over plain HTTP
	// to a loopback callback.
	OIDCFlowCookie = "gatehouse_oidc_flow"
	// OIDCSecureFlowCookie is its name when the cookie is Secure (an https
	// callback, or a request over TLS): browsers accept a __Secure- cookie
	// only from a secure origin, so no one on the network path can plant
	// a flow of their own (their state and code) to sign the browser in as
	// them; Finish then reads no cookie of the plain name.
	OIDCSecureFlowCookie = "__Secure-" + OIDCFlowCookie
)

// ErrSignInRefused is wrapped by every error of OIDCLogin.Finish: the
// sign-in did not succeed and no identity is returned.
var ErrSignInRefused = errors.New("sign-in refused")

// OIDCConfig configures the console's sign-in with an OpenID Connect
// identity provider.
type OIDCConfig struct {
	// IssuerURL is the provider's issuer: its discovery document is read at
	// IssuerURL/.well-known/openid-configuration and must name exactly
	// this issuer. The API trusts the same issuer (--jwt-issuer).
	IssuerURL string
	// ClientID and ClientSecret are the console's registration at the
	// provider (a confidential client). The ID token's aud must hold
	// ClientID.
	ClientID     string
	ClientSecret string
	// RedirectURL is the public URL of the console's callback, registered
	// at the provider; the flow cookie is scoped to its path.
	RedirectURL string
	// Scopes are asked for besides openid, which is always asked for
	// (default: profile and email).
	Scopes []string
	// SubjectClaim is the ID token claim naming the user (default sub; for
	// example email, as the API's --jwt-subject-claim). Its value must be a
	// valid gatehouse id.
	SubjectClaim string
	// CookieKey encrypts and authenticates the flow cookie: OIDCCookieKeySize
	// random bytes, the same on every replica behind one callback URL.
	CookieKey []byte
	// HTTPClient makes the requests to the provider (default: one with a
	// DefaultOIDCFetchTimeout timeout, reading at most MaxOIDCAnswerBytes
	// of an answer, that follows redirects only to https or loopback URLs).
	HTTPClient *http.Client
	// FlowTimeout is how long a sign-in may take (DefaultOIDCFlowTimeout).
	FlowTimeout time.Duration
	// Now is the clock (time.Now); tests move it.
	Now func() time.Time
}

// OIDCLogin is the LoginFlow of an OpenID Connect identity provider. It is
// safe for concurrent use.
type OIDCLogin struct {
	oauth        oauth2.Config
	verifier     *oidc.IDTokenVerifier
	client       *http.Client
	aead         cipher.AEAD
	subjectClaim string
	cookiePath   string
	secure       bool
	flowTimeout  time.Duration
	now          func() time.Time

	mu   sync.Mutex
	used map[string]time.Time // states of successful sign-ins, until their flow would expire
}

var _ LoginFlow = (*OIDCLogin)(nil)

// NewOIDCLogin checks cfg and discovers the identity provider. Discovery
// happens here, once: when the provider cannot be reached or its discovery
// document is unusable (another issuer, an endpoint neither https nor
// loopback), NewOIDCLogin returns an error and the server does not start,
// as discovery of the API's keys at --jwt-issuer does. Every URL (issuer,
// redirect, and the provider's authorization, token and key set endpoints)
// must be https, or http to a loopback host. Errors name the field and
// never quote the client secret.
func NewOIDCLogin(ctx context.Context, cfg OIDCConfig) (*OIDCLogin, error) {
	var errs []error
	if err := checkProviderURL(cfg.IssuerURL); err != nil {
		errs = append(errs, fmt.Errorf("the issuer URL: %w", err))
	} else if u, _ := url.Parse(cfg.IssuerURL); u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		errs = append(errs, errors.New("the issuer URL must have no user info, query or fragment (OpenID Connect Discovery)"))
	}
	redirect, err := url.Parse(cfg.RedirectURL)
	if err != nil {
		errs = append(errs, errors.New("the redirect URL: it is not a URL"))
	} else if err := checkURL(redirect); err != nil {
		errs = append(errs, fmt.Errorf("the redirect URL: %w", err))
	}
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("the client id is empty"))
	}
	if cfg.ClientSecret == "" {
		errs = append(errs, errors.New("the client secret is empty"))
	}
	if len(cfg.CookieKey) != OIDCCookieKeySize {
		errs = append(errs, fmt.Errorf("the cookie key must be %d bytes (it is %d)", OIDCCookieKeySize, len(cfg.CookieKey)))
	}
	if cfg.FlowTimeout < 0 {
		errs = append(errs, fmt.Errorf("the flow timeout must be positive (it is %s)", cfg.FlowTimeout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.SubjectClaim == "" {
		cfg.SubjectClaim = DefaultOIDCSubjectClaim
	}
	if cfg.FlowTimeout == 0 {
		cfg.FlowTimeout = DefaultOIDCFlowTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = newProviderClient(DefaultOIDCFetchTimeout)
	}
	scopes := []string{oidc.ScopeOpenID}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"profile", "email"}
	}
	for _, s := range cfg.Scopes {
		if s != oidc.ScopeOpenID && s != "" {
			scopes = append(scopes, s)
		}
	}
	block, err := aes.NewCipher(cfg.CookieKey)
	if err != nil {
		return nil, fmt.Errorf("the cookie key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("the cookie key: %w", err)
	}

	provider, authStyle, err := discover(oidc.ClientContext(ctx, cfg.HTTPClient), cfg.IssuerURL)
	if err != nil {
		return nil, err
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = authStyle
	verifier := provider.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: cfg.Now})
	path := redirect.EscapedPath()
	if path == "" {
		path = "/"
	}
	return &OIDCLogin{
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Endpoint:     endpoint,
			Scopes:       scopes,
		},
		verifier:     verifier,
		client:       cfg.HTTPClient,
		aead:         aead,
		subjectClaim: cfg.SubjectClaim,
		cookiePath:   path,
		secure:       redirect.Scheme == "https",
		flowTimeout:  cfg.FlowTimeout,
		now:          cfg.Now,
		used:         map[string]time.Time{},
	}, nil
}

// flowState is what the flow cookie carries from Start to Finish.
type flowState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"` // Unix seconds
}

// Start begins a sign-in: it makes a state, a nonce and a PKCE verifier,
// keeps them in the flow cookie (AES-GCM encrypted, HttpOnly,
// SameSite=Lax, Secure and named OIDCSecureFlowCookie when the redirect URL
// is https or the request came over TLS, scoped to the callback path,
// expiring after the flow timeout)
// and redirects (302) to the provider's authorization endpoint with the
// state, the nonce and the S256 code challenge. A sign-in started again
// replaces the one in progress.
func (l *OIDCLogin) Start(w http.ResponseWriter, r *http.Request) {
	now := l.now()
	f := flowState{
		State:    rand.Text(),
		Nonce:    rand.Text(),
		Verifier: oauth2.GenerateVerifier(),
		Expires:  now.Add(l.flowTimeout).Unix(),
	}
	plain, _ := json.Marshal(f) // a struct of strings and an int: cannot fail
	nonce := make([]byte, l.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	sealed := l.aead.Seal(nonce, nonce, plain, []byte(OIDCFlowCookie))
	http.SetCookie(w, &http.Cookie{
		Name:     l.flowCookieName(r),
		Value:    base64.RawURLEncoding.EncodeToString(sealed),
		Path:     l.cookiePath,
		MaxAge:   int(l.flowTimeout / time.Second),
		Expires:  now.Add(l.flowTimeout),
		HttpOnly: true,
		Secure:   l.secure || r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, l.oauth.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), http.StatusFound)
}

// Finish handles the provider's redirect back to the callback. It clears
// the flow cookie whatever happens (a sign-in is tried once), then checks,
// in order: the provider's error parameter (error=access_denied when the
// user declined); the flow cookie (present, unaltered, not expired); the
// state against the cookie's (constant time); that this state was not
// finished before (a replayed callback); the code, exchanged at the token
// endpoint with the PKCE verifier and the client's credentials; the ID
// token (signature by the provider's key set, iss, aud holding the client
// id, exp); its nonce against the cookie's; and the subject claim, a valid
// gatehouse id (an email subject must not be marked unverified). It
// returns the subject, the raw ID token (the bearer token the API accepts
// when it trusts the same issuer) and the token's expiry. Every error
// wraps ErrSignInRefused, says what was refused, and quotes no code, token
// or secret.
func (l *OIDCLogin) Finish(w http.ResponseWriter, r *http.Request) (Identity, error) {
	http.SetCookie(w, &http.Cookie{
		Name: l.flowCookieName(r), Value: "", Path: l.cookiePath, MaxAge: -1,
		HttpOnly: true, Secure: l.secure || r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	id, err := l.finish(r)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrSignInRefused, err)
	}
	return id, nil
}

func (l *OIDCLogin) finish(r *http.Request) (Identity, error) {
	q := r.URL.Query()
	if code := q.Get("error"); code != "" {
		return Identity{}, providerError(code)
	}
	f, err := l.readFlow(r)
	if err != nil {
		return Identity{}, err
	}
	state := q.Get("state")
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) != 1 {
		return Identity{}, errors.New("the state in the callback is not the one this browser's sign-in sent: start the sign-in again")
	}
	if l.finished(f.State) {
		return Identity{}, errAlreadyFinished
	}
	code := q.Get("code")
	if code == "" {
		return Identity{}, errors.New("the callback carries no authorization code")
	}
	ctx := oidc.ClientContext(r.Context(), l.client)
	tok, err := l.oauth.Exchange(ctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return Identity{}, exchangeProblem(err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, errors.New("the identity provider's token answer has no ID token (is the openid scope allowed for this client?)")
	}
	idt, err := l.verifier.Verify(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return Identity{}, fmt.Errorf("the ID token expired at %s", expired.Expiry.UTC().Format(time.RFC3339))
		}
		return Identity{}, fmt.Errorf("the ID token was refused: %s", strings.TrimPrefix(err.Error(), "oidc: "))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		return Identity{}, errors.New("the ID token's nonce is not the one this sign-in sent")
	}
	subject, err := l.subject(idt)
	if err != nil {
		return Identity{}, err
	}
	if !l.markFinished(f) {
		return Identity{}, errAlreadyFinished
	}
	return Identity{Subject: subject, Token: raw, Expiry: idt.Expiry}, nil
}

// flowCookieName is the name of the flow cookie on r: OIDCSecureFlowCookie
// when it is Secure (an https callback, or a request over TLS).
func (l *OIDCLogin) flowCookieName(r *http.Request) string {
	if l.secure || r.TLS != nil {
		return OIDCSecureFlowCookie
	}
	return OIDCFlowCookie
}

// readFlow decrypts the flow cookie and checks it has not expired.
func (l *OIDCLogin) readFlow(r *http.Request) (flowState, error) {
	var f flowState
	c, err := r.Cookie(l.flowCookieName(r))
	if err != nil || c.Value == "" {
		return f, errors.New("no sign-in is in progress in this browser (its cookie is missing or expired): start the sign-in again")
	}
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(sealed) < l.aead.NonceSize() {
		return f, errors.New("the sign-in cookie was altered")
	}
	ns := l.aead.NonceSize()
	plain, err := l.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(OIDCFlowCookie))
	if err != nil || json.Unmarshal(plain, &f) != nil {
		return f, errors.New("the sign-in cookie was altered")
	}
	if !l.now().Before(time.Unix(f.Expires, 0)) {
		return f, fmt.Errorf("the sign-in took longer than %s: start it again", l.flowTimeout)
	}
	return f, nil
}

// errAlreadyFinished refuses a replayed callback.
var errAlreadyFinished = errors.New("this sign-in was already finished: a callback is accepted once")

// finished reports whether a sign-in with this state succeeded before.
func (l *OIDCLogin) finished(state string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, seen := l.used[state]
	return seen
}

// markFinished records f's state as finished until f would expire, and
// forgets the states past theirs; it reports false when the state already
// was (two callbacks raced). Only sign-ins the provider completed are
// recorded, so the record grows no faster than real sign-ins.
func (l *OIDCLogin) markFinished(f flowState) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for s, until := range l.used {
		if !now.Before(until) {
			delete(l.used, s)
		}
	}
	if _, seen := l.used[f.State]; seen {
		return false
	}
	l.used[f.State] = time.Unix(f.Expires, 0)
	return true
}

// subject reads the configured claim of a verified ID token.
func (l *OIDCLogin) subject(idt *oidc.IDToken) (string, error) {
	subject := idt.Subject
	if l.subjectClaim != "sub" {
		var claims map[string]any
		if err := idt.Claims(&claims); err != nil {
			return "", errors.New("the ID token's claims are not a JSON object")
		}
		s, ok := claims[l.subjectClaim].(string)
		if !ok {
			return "", fmt.Errorf("the ID token has no string claim %q naming the user", l.subjectClaim)
		}
		if l.subjectClaim == "email" {
			if v, ok := claims["email_verified"].(bool); ok && !v {
				return "", errors.New("the identity provider says the ID token's email is not verified")
			}
		}
		subject = s
	}
	if !engine.ValidID(subject) {
		return "", fmt.Errorf("the ID token's %s claim is not a valid gatehouse id (letters, digits, '.', '_', '-', '@', at most %d)", l.subjectClaim, engine.MaxIDLength)
	}
	return subject, nil
}
