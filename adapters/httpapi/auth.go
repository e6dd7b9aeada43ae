package httpapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/engine"
)

// Verifier checks a bearer token and returns its subject, the actor of
// the request (R43).
type Verifier interface {
	Verify(token string) (subject string, err error)
}

// MinHS256SecretBytes is the shortest HS256 secret accepted: the size of
// the hash output, as RFC 7518 section 3.2 requires.
const MinHS256SecretBytes = 32

// DefaultJWTLeeway is the clock skew a verifier tolerates on exp, nbf and
// iat unless WithLeeway says otherwise; MaxJWTLeeway is the most it may be
// given (R43: a token must not outlive its exp by more than a little).
const (
	DefaultJWTLeeway = 30 * time.Second
	MaxJWTLeeway     = 5 * time.Minute
)

// JWTVerifier verifies JWTs signed with one key and one algorithm (R43).
// Tokens must carry exp and a sub that is a valid id; "alg: none" and any
// other algorithm than the key's are refused, so no algorithm confusion is
// possible. When an audience or an issuer is configured, tokens must name
// it in aud or iss. exp, nbf and iat are checked with a small leeway for
// clock skew. It is safe for concurrent use.
type JWTVerifier struct {
	key      any
	method   string
	audience string
	issuer   string
	leeway   time.Duration
	parser   *jwt.Parser
}

var _ Verifier = (*JWTVerifier)(nil)

// VerifierOption configures a JWTVerifier.
type VerifierOption func(*JWTVerifier)

// WithAudience makes the verifier refuse tokens whose aud claim does not
// name aud (or has none). An empty aud checks nothing.
func WithAudience(aud string) VerifierOption { return func(v *JWTVerifier) { v.audience = aud } }

// WithIssuer makes the verifier refuse tokens whose iss claim is not iss
// (or is missing). An empty iss checks nothing.
func WithIssuer(iss string) VerifierOption { return func(v *JWTVerifier) { v.issuer = iss } }

// WithLeeway sets the clock skew tolerated on exp, nbf and iat
// (DefaultJWTLeeway): a token expired less than d ago still passes. It
// must be between 0 and MaxJWTLeeway, or the constructor fails.
func WithLeeway(d time.Duration) VerifierOption { return func(v *JWTVerifier) { v.leeway = d } }

// NewHS256Verifier returns a verifier of HS256 tokens signed with secret,
// which must hold at least MinHS256SecretBytes bytes.
func NewHS256Verifier(secret []byte, opts ...VerifierOption) (*JWTVerifier, error) {
	if len(secret) < MinHS256SecretBytes {
		return nil, fmt.Errorf("httpapi: an HS256 secret needs at least %d bytes (it has %d)", MinHS256SecretBytes, len(secret))
	}
	return newVerifier(append([]byte(nil), secret...), jwt.SigningMethodHS256.Alg(), opts)
}

// NewPublicKeyVerifier returns a verifier of tokens signed by the private
// half of the PEM public key (PKIX "PUBLIC KEY", PKCS#1 "RSA PUBLIC KEY" or
// a certificate): RS256 for an RSA key, ES256 for a P-256 ECDSA key.
func NewPublicKeyVerifier(pemBytes []byte, opts ...VerifierOption) (*JWTVerifier, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("httpapi: the public key file holds no PEM block")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		return nil, fmt.Errorf("httpapi: the PEM block is a %q, not a public key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("httpapi: parse public key: %w", err)
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("httpapi: an RSA key needs at least 2048 bits (it has %d)", k.N.BitLen())
		}
		return newVerifier(k, jwt.SigningMethodRS256.Alg(), opts)
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("httpapi: an ECDSA key must be on P-256 for ES256 (it is on %s)", k.Curve.Params().Name)
		}
		return newVerifier(k, jwt.SigningMethodES256.Alg(), opts)
	}
	return nil, fmt.Errorf("httpapi: a %T key is not supported: use RSA (RS256) or ECDSA P-256 (ES256)", key)
}

// newVerifier applies opts and prepares the parser, which holds every
// check but the subject's.
func newVerifier(key any, method string, opts []VerifierOption) (*JWTVerifier, error) {
	v := &JWTVerifier{key: key, method: method, leeway: DefaultJWTLeeway}
	for _, opt := range opts {
		opt(v)
	}
	if v.leeway < 0 || v.leeway > MaxJWTLeeway {
		return nil, fmt.Errorf("httpapi: the JWT leeway must be between 0s and %s (it is %s)", MaxJWTLeeway, v.leeway)
	}
	parserOpts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{v.method}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.leeway),
	}
	if v.audience != "" {
		parserOpts = append(parserOpts, jwt.WithAudience(v.audience))
	}
	if v.issuer != "" {
		parserOpts = append(parserOpts, jwt.WithIssuer(v.issuer))
	}
	v.parser = jwt.NewParser(parserOpts...)
	return v, nil
}

// Algorithm is the only JWT algorithm the verifier accepts.
func (v *JWTVerifier) Algorithm() string { return v.method }

// Verify checks the token's signature, algorithm, expiry (with the
// leeway), audience and issuer, and returns its sub claim. Its error says
// what is wrong in a sentence for the caller; it never quotes the token.
func (v *JWTVerifier) Verify(token string) (string, error) {
	claims := jwt.RegisteredClaims{}
	if _, err := v.parser.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return v.key, nil }); err != nil {
		return "", v.explain(err, &claims)
	}
	if err := checkClaimKeys(token); err != nil {
		return "", err
	}
	if !engine.ValidID(claims.Subject) {
		return "", errors.New("the token's sub claim is missing or not a valid id")
	}
	return claims.Subject, nil
}

// registeredClaims are the claims Verify reads (RFC 7519, section 4.1).
var registeredClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// checkClaimKeys refuses a verified token whose claims are ambiguous: a key
// given twice, or a registered claim spelled in another case ("SUB").
// encoding/json keeps the last of two equal keys and reads "SUB" as sub, so
// a proxy or an audit trail reading the same token could see another actor
// than the one gatehouse acts for (R43, R44).
func checkClaimKeys(token string) error {
	_, rest, _ := strings.Cut(token, ".")
	payload, _, _ := strings.Cut(rest, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return errors.New("the token's claims are not base64url")
	}
	if err := engine.CheckJSONKeys(raw, nil); err != nil {
		return errors.New("the token's claims name a key twice")
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(raw, &claims); err != nil {
		return errors.New("the token's claims are not a JSON object")
	}
	for key := range claims {
		for _, name := range registeredClaims {
			if key != name && strings.EqualFold(key, name) {
				return fmt.Errorf("the token spells the %s claim in another case", name)
			}
		}
	}
	return nil
}

// explain turns a jwt error into sentences naming what is wrong. The jwt
// library's own messages may quote parts of the token (its alg header, a
// JSON fragment), so they are never passed on.
func (v *JWTVerifier) explain(err error, claims *jwt.RegisteredClaims) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errors.New("the token is not a well-formed JWT: three base64url parts (header, claims, signature) holding JSON, with exp, nbf and iat as numbers")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return fmt.Errorf("the token is not signed with this server's key and algorithm (%s)", v.method)
	case !errors.Is(err, jwt.ErrTokenInvalidClaims):
		return errors.New("the token is not valid")
	}
	var why []string
	if errors.Is(err, jwt.ErrInvalidType) {
		why = append(why, "a claim of the token has the wrong type (exp, nbf and iat are numbers, aud a string or a list of strings, iss a string)")
	}
	if claims.ExpiresAt == nil {
		why = append(why, "the token has no exp claim")
	}
	if errors.Is(err, jwt.ErrTokenExpired) && claims.ExpiresAt != nil {
		why = append(why, fmt.Sprintf("the token expired at %s, beyond the %s allowed for clock skew",
			claims.ExpiresAt.UTC().Format(time.RFC3339), v.leeway))
	}
	if errors.Is(err, jwt.ErrTokenNotValidYet) && claims.NotBefore != nil {
		why = append(why, fmt.Sprintf("the token is not valid before %s (nbf), beyond the %s allowed for clock skew",
			claims.NotBefore.UTC().Format(time.RFC3339), v.leeway))
	}
	if errors.Is(err, jwt.ErrTokenUsedBeforeIssued) && claims.IssuedAt != nil {
		why = append(why, fmt.Sprintf("the token is issued in the future (iat %s), beyond the %s allowed for clock skew",
			claims.IssuedAt.UTC().Format(time.RFC3339), v.leeway))
	}
	if v.audience != "" {
		switch {
		case len(claims.Audience) == 0 || len(claims.Audience) == 1 && claims.Audience[0] == "":
			why = append(why, fmt.Sprintf("the token has no aud claim: this server requires the audience %q", v.audience))
		case errors.Is(err, jwt.ErrTokenInvalidAudience):
			why = append(why, fmt.Sprintf("the token's audience is not %q", v.audience))
		}
	}
	if v.issuer != "" {
		switch {
		case claims.Issuer == "":
			why = append(why, fmt.Sprintf("the token has no iss claim: this server requires the issuer %q", v.issuer))
		case errors.Is(err, jwt.ErrTokenInvalidIssuer):
			why = append(why, fmt.Sprintf("the token's issuer is not %q", v.issuer))
		}
	}
	if len(why) == 0 {
		return errors.New("the token's claims are not valid")
	}
	return errors.New(strings.Join(why, "; "))
}

// MintOption sets a claim of a token MintHS256 mints.
type MintOption func(*jwt.RegisteredClaims)

// MintAudience sets the token's aud claim (nothing when aud is empty).
func MintAudience(aud string) MintOption {
	return func(c *jwt.RegisteredClaims) {
		if aud != "" {
			c.Audience = jwt.ClaimStrings{aud}
		}
	}
}

// MintIssuer sets the token's iss claim.
func MintIssuer(iss string) MintOption { return func(c *jwt.RegisteredClaims) { c.Issuer = iss } }

// MintHS256 returns an HS256 token for sub, expiring after ttl, with the
// claims opts set (audience, issuer): for the CLI's token command and
// tests.
func MintHS256(secret []byte, sub string, ttl time.Duration, opts ...MintOption) (string, error) {
	if len(secret) < MinHS256SecretBytes {
		return "", fmt.Errorf("httpapi: an HS256 secret needs at least %d bytes (it has %d)", MinHS256SecretBytes, len(secret))
	}
	if !engine.ValidID(sub) {
		return "", fmt.Errorf("httpapi: subject %q %s", sub, idRule)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("httpapi: the token lifetime must be positive (it is %s)", ttl)
	}
	now := time.Now()
	claims := jwt.RegisteredClaims{
		Subject:   sub,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
	}
	for _, opt := range opts {
		opt(&claims)
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}

// actorKey is where authenticate keeps the actor in the gin context.
const actorKey = "gatehouse.actor"

// authenticate refuses a request without a valid bearer token (R43) and
// records its subject as the actor.
func (s *Server) authenticate(c *gin.Context) {
	if s.verifier == nil {
		s.renderError(c, unauthenticated("this server has no token verifier configured"))
		return
	}
	header := c.GetHeader("Authorization")
	scheme, token, ok := strings.Cut(header, " ")
	if header == "" {
		s.renderError(c, unauthenticated("a bearer token is required (Authorization: Bearer <JWT>)"))
		return
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		s.renderError(c, unauthenticated("the Authorization header must be \"Bearer <JWT>\""))
		return
	}
	sub, err := s.verifier.Verify(strings.TrimSpace(token))
	if err != nil {
		s.renderError(c, unauthenticated("the bearer token is not valid: %v", err))
		return
	}
	c.Set(actorKey, sub)
	c.Next()
}

// actor is the authenticated subject of the request.
func actor(c *gin.Context) string { return c.GetString(actorKey) }
