package envoyauthz

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/gatehouse/gatehouse/engine"
)

// httpAttributes is the HTTP request of a CheckRequest.
type httpAttributes = *authv3.AttributeContext_HttpRequest

var (
	errTwoAuthorizations = errors.New("the request carries more than one authorization header")
	errEmptyBearer       = errors.New("the bearer token is empty")
)

// credentialHeaders are left out of the policy's input: the subject of a
// verified token is what they prove.
var credentialHeaders = map[string]bool{"authorization": true, "proxy-authorization": true}

// httpRequest reads the request of a CheckRequest as the engine's
// HTTPRequest, without its subject, and returns beside it the values of its
// authorization header. A request target that is not a path
// ("*", an absolute URL), a malformed query and a path whose segments are
// ambiguous are errors naming the problem: the policy would judge a path
// the application may read otherwise.
func httpRequest(attrs httpAttributes) (engine.HTTPRequest, []string, error) {
	path, rawQuery, _ := strings.Cut(attrs.GetPath(), "?")
	segments, err := pathSegments(path)
	if err != nil {
		return engine.HTTPRequest{}, nil, err
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return engine.HTTPRequest{}, nil, fmt.Errorf("the request query is malformed: %w", err)
	}
	all := allHeaders(attrs)
	headers := make(map[string]string, len(all))
	for name, values := range all {
		if !credentialHeaders[name] {
			headers[name] = strings.Join(values, ",")
		}
	}
	return engine.HTTPRequest{
		Method:   attrs.GetMethod(),
		Path:     path,
		Segments: segments,
		Query:    query,
		Headers:  headers,
		Host:     attrs.GetHost(),
	}, all["authorization"], nil
}

// pathSegments splits a request path into its percent-decoded segments:
// "/accounts/acme/" is ["accounts", "acme"], "/" is []. An empty segment
// ("//"), a "." or ".." segment (encoded or not), an encoded "/" and a
// malformed escape are refused: applications and proxies read them
// differently, and the policy must judge the path the application serves.
func pathSegments(path string) ([]string, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("the request path %q does not begin with /", clip(path))
	}
	raw := strings.Split(strings.TrimSuffix(path[1:], "/"), "/")
	if len(raw) == 1 && raw[0] == "" {
		return []string{}, nil
	}
	segments := make([]string, len(raw))
	for i, r := range raw {
		s, err := url.PathUnescape(r)
		switch {
		case err != nil:
			return nil, fmt.Errorf("the request path %q has a malformed escape", clip(path))
		case s == "":
			return nil, fmt.Errorf("the request path %q has an empty segment", clip(path))
		case s == "." || s == "..":
			return nil, fmt.Errorf("the request path %q has a %q segment", clip(path), s)
		case strings.Contains(s, "/"):
			return nil, fmt.Errorf("the request path %q has an encoded /", clip(path))
		}
		segments[i] = s
	}
	return segments, nil
}

// allHeaders returns the request's headers by lowercase name: from
// header_map when Envoy sends raw headers (encode_raw_headers), else from
// headers.
func allHeaders(attrs httpAttributes) map[string][]string {
	out := map[string][]string{}
	if hm := attrs.GetHeaderMap(); hm != nil {
		for _, h := range hm.GetHeaders() {
			v := string(h.GetRawValue())
			if v == "" {
				v = h.GetValue()
			}
			name := strings.ToLower(h.GetKey())
			out[name] = append(out[name], v)
		}
		return out
	}
	for name, v := range attrs.GetHeaders() {
		name = strings.ToLower(name)
		out[name] = append(out[name], v)
	}
	for _, values := range out {
		slices.Sort(values) // names that differ by case only: in one order
	}
	return out
}

// maxQuoted bounds, in bytes, the part of a request path quoted in a reason.
const maxQuoted = 200

// clip cuts s to maxQuoted bytes, "..." marking a cut.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	return s[:maxQuoted] + "..."
}
