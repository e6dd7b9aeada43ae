package envoyauthz

import (
	"encoding/json"
	"net/http"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/gatehouse/gatehouse/engine"
)

// The headers gatehouse sets: on the request sent upstream when it is
// allowed, on the response sent back when it is denied.
const (
	HeaderDecisionID     = "x-gatehouse-decision-id"
	HeaderPolicyRevision = "x-gatehouse-policy-revision"
	HeaderReasons        = "x-gatehouse-reasons"
)

// MaxReasonsHeader bounds the x-gatehouse-reasons header, in bytes; the
// body carries the reasons whole.
const MaxReasonsHeader = 2048

const (
	statusBadRequest   = http.StatusBadRequest
	statusUnauthorized = http.StatusUnauthorized
	statusForbidden    = http.StatusForbidden
	statusUnavailable  = http.StatusServiceUnavailable
)

// grpcCodes is the gRPC status of a CheckResponse by its HTTP status: any
// but OK tells Envoy to deny.
var grpcCodes = map[int]codes.Code{
	statusBadRequest:   codes.InvalidArgument,
	statusUnauthorized: codes.Unauthenticated,
	statusForbidden:    codes.PermissionDenied,
	statusUnavailable:  codes.Unavailable,
}

// deniedBody is the JSON body of a denied response.
type deniedBody struct {
	Allow      bool     `json:"allow"`
	Reasons    []string `json:"reasons"`
	DecisionID string   `json:"decision_id,omitempty"`
}

// decided answers with the engine's decision: an allow, or a deny with
// status 403, 503 when the store was unavailable (R45).
func decided(d engine.Decision) *authv3.CheckResponse {
	if d.Allow {
		return &authv3.CheckResponse{
			Status: &rpcstatus.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
				Headers: []*corev3.HeaderValueOption{
					header(HeaderDecisionID, d.DecisionID),
					header(HeaderPolicyRevision, d.PolicyRevision),
				},
			}},
		}
	}
	status := statusForbidden
	if d.Error == "store_unavailable" {
		status = statusUnavailable
	}
	return denied(status, d)
}

// refused denies a request gatehouse could not ask about, with status.
func refused(status int, reason string) *authv3.CheckResponse {
	return denied(status, engine.Decision{Reasons: []string{reason}})
}

// unauthenticated denies a request whose credentials are not valid (401).
func unauthenticated(reason string) *authv3.CheckResponse {
	r := refused(statusUnauthorized, reason)
	resp := r.GetDeniedResponse()
	resp.Headers = append(resp.Headers, header("www-authenticate", `Bearer error="invalid_token"`))
	return r
}

// denied is the DeniedHttpResponse of d with status.
func denied(status int, d engine.Decision) *authv3.CheckResponse {
	body, _ := json.Marshal(deniedBody{Reasons: d.Reasons, DecisionID: d.DecisionID}) // strings only: cannot fail
	headers := []*corev3.HeaderValueOption{
		header("content-type", "application/json"),
		header(HeaderReasons, headerValue(strings.Join(d.Reasons, "; "))),
	}
	if d.DecisionID != "" {
		headers = append(headers, header(HeaderDecisionID, d.DecisionID), header(HeaderPolicyRevision, d.PolicyRevision))
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(grpcCodes[status]), Message: http.StatusText(status)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(status)},
			Headers: headers,
			Body:    string(body),
		}},
	}
}

// header is a header that replaces any the request or response had of
// that name: a client cannot forge gatehouse's headers.
func header(name, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: name, Value: value},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// headerValue makes s a valid header value: visible ASCII and spaces only
// (any other character, line breaks included, becomes "?"), at most
// MaxReasonsHeader bytes, "..." marking a cut.
func headerValue(s string) string {
	v := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
	if len(v) > MaxReasonsHeader {
		v = v[:MaxReasonsHeader-len("...")] + "..."
	}
	return strings.TrimSpace(v)
}
