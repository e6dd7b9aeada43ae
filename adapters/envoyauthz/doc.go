// Package envoyauthz serves Envoy's external authorization API
// (envoy.service.auth.v3.Authorization/Check, the gRPC service Envoy's
// ext_authz filter and Istio's CUSTOM authorization policies call) and the
// standard gRPC health service, so that Envoy or Istio asks gatehouse about
// every HTTP request before it reaches the application.
//
// For each CheckRequest the Server
//
//   - reads the HTTP request: method, path (percent-decoded into segments,
//     a path whose segments are ambiguous refused with 400), query, headers
//     by lowercase name and host;
//   - verifies a bearer token when the request carries one, with the
//     server's Verifier: an invalid token is a 401 deny, a valid one gives
//     the subject (R43);
//   - asks the engine (engine.Engine.DecideHTTP), whose policy rule
//     data.gatehouse.envoy.question turns the request into a gatehouse
//     question, decided as any other (R4, R7); the decision goes to the
//     decision log and the metrics;
//   - answers an allow with an OkHttpResponse adding the headers
//     x-gatehouse-decision-id and x-gatehouse-policy-revision to the request
//     sent upstream, and anything else with a DeniedHttpResponse: 403 (503
//     when the store is unavailable, R45), the reasons joined in the header
//     x-gatehouse-reasons and a JSON body {"allow": false, "reasons": [...],
//     "decision_id": "..."}.
//
// It never fails open, as opa-envoy-plugin does not: no question, a policy
// error, an unavailable store or a timeout are denies, answered as such
// rather than as gRPC errors, so the answer does not depend on Envoy's
// failure_mode_allow (which must still be false).
//
// The health service reports SERVING for "" and for
// envoy.service.auth.v3.Authorization while the engine is ready (its store
// answers) and NOT_SERVING otherwise, and after Shutdown.
package envoyauthz
