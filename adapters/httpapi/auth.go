package httpapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
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

// JWTVerifier verifies JWTs signed with one key and one algorithm. Tokens
// must carry exp and a sub that is a valid id; "alg: none" and any other
// algorithm than the key's are refused, so no algorithm confusion is
// possible.
type JWTVerifier struct {
	key    any
	method string
}

var _ Verifier = (*JWTVerifier)(nil)

// NewHS256Verifier returns a verifier of HS256 tokens signed with secret,
// which must hold at least MinHS256SecretBytes bytes.
func NewHS256Verifier(secret []byte) (*JWTVerifier, error) {
	if len(secret) < MinHS256SecretBytes {
		return nil, fmt.Errorf("httpapi: an HS256 secret needs at least %d bytes (it has %d)", MinHS256SecretBytes, len(secret))
	}
	return &JWTVerifier{key: append([]byte(nil), secret...), method: jwt.SigningMethodHS256.Alg()}, nil
}

// NewPublicKeyVerifier returns a verifier of tokens signed by the private
// half of the PEM public key (PKIX "PUBLIC KEY", PKCS#1 "RSA PUBLIC KEY" or
// a certificate): RS256 for an RSA key, ES256 for a P-256 ECDSA key.
func NewPublicKeyVerifier(pemBytes []byte) (*JWTVerifier, error) {
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
		return &JWTVerifier{key: k, method: jwt.SigningMethodRS256.Alg()}, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("httpapi: an ECDSA key must be on P-256 for ES256 (it is on %s)", k.Curve.Params().Name)
		}
		return &JWTVerifier{key: k, method: jwt.SigningMethodES256.Alg()}, nil
	}
	return nil, fmt.Errorf("httpapi: a %T key is not supported: use RSA (RS256) or ECDSA P-256 (ES256)", key)
}

// Algorithm is the only JWT algorithm the verifier accepts.
func (v *JWTVerifier) Algorithm() string { return v.method }

// Verify checks the token's signature, algorithm and expiry, and returns
// its sub claim.
func (v *JWTVerifier) Verify(token string) (string, error) {
	claims := jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(token, &claims,
		func(*jwt.Token) (any, error) { return v.key, nil },
		jwt.WithValidMethods([]string{v.method}),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		return "", err
	}
	if !engine.ValidID(claims.Subject) {
		return "", errors.New("the token's sub claim is missing or not a valid id")
	}
	return claims.Subject, nil
}

// MintHS256 returns an HS256 token for sub, expiring after ttl: for the
// CLI's token command and tests.
func MintHS256(secret []byte, sub string, ttl time.Duration) (string, error) {
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
