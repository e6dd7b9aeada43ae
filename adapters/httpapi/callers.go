package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// DecisionAuth says how the callers of the decision endpoints
// (POST /v1/decisions, /v1/decisions/batch and the Data API) are
// authenticated. The identity found is the application asking: it reaches
// the policy as input.caller, which decides which applications may ask
// about what (POLICIES.md, data.json decision_callers).
type DecisionAuth string

// The decision authentication modes (serve --decision-auth).
const (
	// DecisionAuthNone asks no credentials: anyone who reaches the
	// listener may ask any decision, and input.caller is absent. The
	// default, for compatibility; production sets one of the others.
	DecisionAuthNone DecisionAuth = "none"
	// DecisionAuthToken requires a bearer JWT checked by the server's
	// verifier (WithVerifier, the same as the admin API's); its subject is
	// the caller.
	DecisionAuthToken DecisionAuth = "token"
	// DecisionAuthClientCert requires a TLS client certificate verified by
	// the listener (serve --tls-client-ca-file); its first URI SAN (a
	// SPIFFE id, say), or else its subject common name, is the caller.
	DecisionAuthClientCert DecisionAuth = "client-cert"
)

// DecisionAuthModes lists the modes ParseDecisionAuth accepts.
var DecisionAuthModes = []DecisionAuth{DecisionAuthNone, DecisionAuthToken, DecisionAuthClientCert}

// ParseDecisionAuth reads a mode named as the --decision-auth flag names
// it: none, token or client-cert. Any other name is an error listing them.
func ParseDecisionAuth(s string) (DecisionAuth, error) {
	for _, m := range DecisionAuthModes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("must be none, token or client-cert, not %q", s)
}

// WithDecisionAuth sets how decision callers are authenticated
// (DecisionAuthNone by default). With DecisionAuthToken and no verifier,
// every decision answers 401.
func WithDecisionAuth(mode DecisionAuth) Option { return func(s *Server) { s.decisionAuth = mode } }

// callerKey is where the decision middlewares keep the caller's identity.
const callerKey = "gatehouse.caller"

// opaCodeUnauthorized is OPA's error code of a 401.
const opaCodeUnauthorized = "unauthorized"

// decisionCaller authenticates the caller of /v1/decisions and
// /v1/decisions/batch as s.decisionAuth says, refusing it with 401 in the
// API's error shape.
func (s *Server) decisionCaller(c *gin.Context) {
	if s.decisionAuth == "" || s.decisionAuth == DecisionAuthNone {
		return
	}
	id, err := s.callerIdentity(c.Request)
	if err != nil {
		s.renderError(c, err)
		return
	}
	c.Set(callerKey, id)
}

// dataCaller authenticates the caller of the Data API as decisionCaller
// does, refusing it with 401 in OPA's error shape
// {"code": "unauthorized", "message"}.
func (s *Server) dataCaller(c *gin.Context) {
	if s.decisionAuth == "" || s.decisionAuth == DecisionAuthNone {
		return
	}
	id, err := s.callerIdentity(c.Request)
	if err != nil {
		s.renderDataError(c, err)
		return
	}
	c.Set(callerKey, id)
}

// caller is the authenticated application asking, "" when decision
// callers are not authenticated.
func caller(c *gin.Context) string { return c.GetString(callerKey) }

// callerIdentity returns the identity of the application sending r, or an
// unauthenticated error saying what is missing. It never quotes the token.
func (s *Server) callerIdentity(r *http.Request) (string, error) {
	switch s.decisionAuth {
	case DecisionAuthToken:
		if s.verifier == nil {
			return "", unauthenticated("decisions require a bearer token, and this server has no token verifier configured")
		}
		token, err := bearerToken(r.Header.Get("Authorization"))
		if err != nil {
			return "", err
		}
		sub, err := s.verifier.Verify(token)
		if err != nil {
			return "", unauthenticated("the bearer token is not valid: %v", err)
		}
		return sub, nil
	case DecisionAuthClientCert:
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
			return "", unauthenticated("decisions require a TLS client certificate signed by the server's client CA (--tls-client-ca-file)")
		}
		leaf := r.TLS.VerifiedChains[0][0]
		if len(leaf.URIs) > 0 {
			return leaf.URIs[0].String(), nil
		}
		if leaf.Subject.CommonName != "" {
			return leaf.Subject.CommonName, nil
		}
		return "", unauthenticated("the client certificate names no application: it has no URI SAN and no subject common name")
	}
	return "", errors.New("httpapi: unknown decision authentication mode " + string(s.decisionAuth))
}

// bearerToken reads the token of an Authorization header "Bearer <JWT>".
func bearerToken(header string) (string, error) {
	if header == "" {
		return "", unauthenticated("a bearer token is required (Authorization: Bearer <JWT>)")
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", unauthenticated("the Authorization header must be \"Bearer <JWT>\"")
	}
	return strings.TrimSpace(token), nil
}
