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
	"slices"
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

// JWTVerifier verifies JWTs (R43): signed with one key and one algorithm
// (NewHS256Verifier, NewPublicKeyVerifier) or with a key of an identity
// provider's key set, found by the token's kid (NewKeySetVerifier). Tokens
// must carry exp and a subject claim (sub unless WithSubjectClaim names
// another) that is a valid id; "alg: none" is refused, and a token's
// algorithm must be one its key allows, so no algorithm confusion is
// possible (an HS256 token never verifies against an RSA public key). When
// an audience or an issuer is configured, tokens must name it in aud or
// iss. exp, nbf and iat are checked with a small leeway for clock skew. It
// is safe for concurrent use.
type JWTVerifier struct {
	keyfunc      jwt.Keyfunc
	methods      []string
	signer       string
	audience     string
	issuer       string
	subjectClaim string
	leeway       time.Duration
	parser       *jwt.Parser
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

// DefaultSubjectClaim is the claim naming the actor unless WithSubjectClaim
// names another.
const DefaultSubjectClaim = "sub"

// WithSubjectClaim names the claim whose value is the actor (R43) when an
// identity provider puts it elsewhere than in sub, e.g. "email". Its value
// must be a string that is a valid id, or the token is refused. An empty
// name means sub; another registered claim (exp, iss ...) is refused by
// the constructor.
func WithSubjectClaim(name string) VerifierOption {
	return func(v *JWTVerifier) { v.subjectClaim = name }
}

// NewHS256Verifier returns a verifier of HS256 tokens signed with secret,
// which must hold at least MinHS256SecretBytes bytes.
func NewHS256Verifier(secret []byte, opts ...VerifierOption) (*JWTVerifier, error) {
	if len(secret) < MinHS256SecretBytes {
		return nil, fmt.Errorf("httpapi: an HS256 secret needs at least %d bytes (it has %d)", MinHS256SecretBytes, len(secret))
	}
	return newSingleKeyVerifier(append([]byte(nil), secret...), jwt.SigningMethodHS256.Alg(), opts)
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
		return newSingleKeyVerifier(k, jwt.SigningMethodRS256.Alg(), opts)
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("httpapi: an ECDSA key must be on P-256 for ES256 (it is on %s)", k.Curve.Params().Name)
		}
		return newSingleKeyVerifier(k, jwt.SigningMethodES256.Alg(), opts)
	}
	return nil, fmt.Errorf("httpapi: a %T key is not supported: use RSA (RS256) or ECDSA P-256 (ES256)", key)
}

// NewKeySetVerifier returns a verifier of tokens signed by a key of ks, an
// identity provider's key set: the token's kid header names the key, and
// its alg must be one that key allows (RS256 ... PS512 for RSA, ES256,
// ES384 or ES512 by the curve of an EC key, EdDSA for Ed25519, or the
// JWK's own alg when it names one). Tokens the set cannot vouch for (no
// kid, a kid not in the set even after an early fetch, keys unavailable)
// are refused with the reason.
func NewKeySetVerifier(ks *KeySet, opts ...VerifierOption) (*JWTVerifier, error) {
	keyfunc := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return ks.key(kid, t.Method.Alg())
	}
	return newVerifier(keyfunc, keySetAlgorithms, "the identity provider's key its kid names", opts)
}

// newSingleKeyVerifier returns a verifier of tokens signed with key by
// method, and no other algorithm.
func newSingleKeyVerifier(key any, method string, opts []VerifierOption) (*JWTVerifier, error) {
	keyfunc := func(*jwt.Token) (any, error) { return key, nil }
	return newVerifier(keyfunc, []string{method}, fmt.Sprintf("this server's key and algorithm (%s)", method), opts)
}

// newVerifier applies opts and prepares the parser, which holds every
// check but the subject's. methods are the only algorithms the parser
// accepts; keyfunc may narrow them per key. signer names the key in
// messages.
func newVerifier(keyfunc jwt.Keyfunc, methods []string, signer string, opts []VerifierOption) (*JWTVerifier, error) {
	v := &JWTVerifier{keyfunc: keyfunc, methods: methods, signer: signer, leeway: DefaultJWTLeeway}
	for _, opt := range opts {
		opt(v)
	}
	if v.leeway < 0 || v.leeway > MaxJWTLeeway {
		return nil, fmt.Errorf("httpapi: the JWT leeway must be between 0s and %s (it is %s)", MaxJWTLeeway, v.leeway)
	}
	if v.subjectClaim == "" {
		v.subjectClaim = DefaultSubjectClaim
	}
	if v.subjectClaim != DefaultSubjectClaim && slices.Contains(registeredClaims, v.subjectClaim) {
		return nil, fmt.Errorf("httpapi: the subject claim cannot be %s, a registered claim that names no actor", v.subjectClaim)
	}
	parserOpts := []jwt.ParserOption{
		jwt.WithValidMethods(v.methods),
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

// Algorithm lists the JWT algorithms the verifier accepts, comma-separated:
// one for a single key, those of the key types for a key set (where each
// key narrows them further).
func (v *JWTVerifier) Algorithm() string { return strings.Join(v.methods, ", ") }

// Verify checks the token's signature, algorithm, expiry (with the
// leeway), audience and issuer, and returns its subject claim. Its error
// says what is wrong in a sentence for the caller; it never quotes the
// token.
func (v *JWTVerifier) Verify(token string) (string, error) {
	claims := jwt.RegisteredClaims{}
	if _, err := v.parser.ParseWithClaims(token, &claims, v.keyfunc); err != nil {
		return "", v.explain(err, &claims)
	}
	raw, err := checkClaimKeys(token, v.subjectClaim)
	if err != nil {
		return "", err
	}
	subject := claims.Subject
	if v.subjectClaim != DefaultSubjectClaim {
		subject = ""
		if value, ok := raw[v.subjectClaim]; !ok || json.Unmarshal(value, &subject) != nil {
			return "", fmt.Errorf("the token's %s claim, which names the actor, is missing or not a string", v.subjectClaim)
		}
	}
	if !engine.ValidID(subject) {
		return "", fmt.Errorf("the token's %s claim is missing or not a valid id", v.subjectClaim)
	}
	return subject, nil
}

// registeredClaims are the claims Verify reads (RFC 7519, section 4.1).
var registeredClaims = []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti"}

// checkClaimKeys refuses a verified token whose header or claims are
// ambiguous: a key given twice, or a registered claim or the subject claim
// spelled in another case ("SUB"). encoding/json keeps the last of two
// equal keys and reads "SUB" as sub, so a proxy or an audit trail reading
// the same token could see another actor than the one gatehouse acts for
// (R43, R44). It returns the claims, undecoded.
func checkClaimKeys(token, subjectClaim string) (map[string]json.RawMessage, error) {
	header, rest, _ := strings.Cut(token, ".")
	payload, _, _ := strings.Cut(rest, ".")
	rawHeader, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil || engine.CheckJSONKeys(rawHeader, nil) != nil {
		return nil, errors.New("the token's header names a key twice")
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, errors.New("the token's claims are not base64url")
	}
	if err := engine.CheckJSONKeys(raw, nil); err != nil {
		return nil, errors.New("the token's claims name a key twice")
	}
	var claims map[string]json.RawMessage
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, errors.New("the token's claims are not a JSON object")
	}
	names := append(slices.Clone(registeredClaims), subjectClaim)
	for key := range claims {
		for _, name := range names {
			if key != name && strings.EqualFold(key, name) {
				return nil, fmt.Errorf("the token spells the %s claim in another case", name)
			}
		}
	}
	return claims, nil
}

// explain turns a jwt error into sentences naming what is wrong. The jwt
// library's own messages may quote parts of the token (its alg header, a
// JSON fragment), so they are never passed on.
func (v *JWTVerifier) explain(err error, claims *jwt.RegisteredClaims) error {
	var ke *keyError
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errors.New("the token is not a well-formed JWT: three base64url parts (header, claims, signature) holding JSON, with exp, nbf and iat as numbers")
	case errors.As(err, &ke):
		return ke
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return fmt.Errorf("the token is not signed with %s", v.signer)
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
