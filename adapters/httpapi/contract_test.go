package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The contract test (issue 10 §4): every exchange of this package's HTTP
// tests goes through contractChecked, which validates it against
// openapi.yaml with kin-openapi and fails the test that made it when the
// server answers something the document does not describe. The document
// therefore cannot drift from the server: a new field, status, header or
// error body must be documented before the suite passes.
//
// What is checked, per exchange:
//   - the operation exists (method and path), else the answer must be a 404
//     or 405 in the Error shape (OPAError below /v1/data), a 405 with Allow;
//   - the status is documented for the operation explicitly (a `default`
//     response documents nothing);
//   - the response's headers and body fit the response's schema
//     (openapi3filter.ValidateResponse), and the body names no field its
//     schema does not (objects with properties are closed; free-form
//     objects such as context, settings, before and after stay open);
//   - the request fits the operation (openapi3filter.ValidateRequest), and
//     its body names no field its schema does not, for 2xx answers only:
//     the tests of bad input send invalid requests on purpose, and their
//     refusals are checked as responses;
//   - HEAD answers as the GET would, without a body;
//   - /metrics and /v1/openapi.yaml, which are not JSON: their content type.

// contractFile is the document the server serves at /v1/openapi.yaml.
const contractFile = "openapi.yaml"

// contract is openapi.yaml loaded and validated once per test binary.
type contract struct {
	doc    *openapi3.T
	router routers.Router
	// errorSchema and opaErrorSchema are the bodies of unrouted answers.
	errorSchema, opaErrorSchema *openapi3.Schema
}

var loadContract = sync.OnceValues(func() (*contract, error) {
	src, err := os.ReadFile(contractFile)
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(src)
	if err != nil {
		return nil, fmt.Errorf("%s does not load: %w", contractFile, err)
	}
	if err := doc.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("%s is not valid OpenAPI: %w", contractFile, err)
	}
	// The servers name the demo's address; tests answer on any host.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", contractFile, err)
	}
	c := &contract{doc: doc, router: router}
	for name, dst := range map[string]**openapi3.Schema{"Error": &c.errorSchema, "OPAError": &c.opaErrorSchema} {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			return nil, fmt.Errorf("%s has no schema %s", contractFile, name)
		}
		*dst = ref.Value
	}
	return c, nil
})

// dataPrefixes are the Data API's paths whose {path} parameter spans
// segments, which no OpenAPI router matches: they are routed as one segment.
var dataPrefixes = []string{"/v1/data/", "/v1/batch/data/"}

// isOPAPath reports whether path answers in OPA's shapes (OPAError).
func isOPAPath(path string) bool {
	if path == "/" {
		return true
	}
	for _, root := range []string{"/v1/data", "/v1/batch/data"} {
		if path == root || strings.HasPrefix(path, root+"/") {
			return true
		}
	}
	return false
}

// contractCheck collects the contract failures of the exchanges one test
// made, and reports them when the test ends.
type contractCheck struct {
	contract *contract
	mu       sync.Mutex
	failures []string
}

// contractChecked returns next validated against openapi.yaml: every
// failure fails tb when it ends. Benchmarks are served unchecked, so that
// they measure the server alone.
func contractChecked(tb testing.TB, next http.Handler) http.Handler {
	tb.Helper()
	if _, ok := tb.(*testing.B); ok {
		return next
	}
	c, err := loadContract()
	if err != nil {
		tb.Fatalf("contract: %v", err)
	}
	check := &contractCheck{contract: c}
	tb.Cleanup(func() {
		check.mu.Lock()
		defer check.mu.Unlock()
		for _, f := range check.failures {
			tb.Errorf("contract (%s): %s", contractFile, f)
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var reqBody []byte
		if r.Body != nil {
			reqBody, _ = io.ReadAll(r.Body)
			_ = r.Body.Close()
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		if problems := c.check(r, reqBody, rec); len(problems) > 0 {
			check.mu.Lock()
			defer check.mu.Unlock()
			for _, p := range problems {
				check.failures = append(check.failures, fmt.Sprintf("%s %s answered %d: %s", r.Method, r.URL.RequestURI(), rec.Code, p))
			}
		}
	})
}

// check validates one exchange and returns what does not fit the contract.
func (c *contract) check(r *http.Request, reqBody []byte, rec *httptest.ResponseRecorder) []string {
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	route, params, err := c.find(r, method)
	if err != nil {
		return c.checkUnrouted(r, rec, err)
	}
	op := route.Method + " " + route.Path
	status := rec.Code
	response := route.Operation.Responses.Status(status)
	if response == nil || response.Value == nil {
		return []string{fmt.Sprintf("%s: status %d is not documented (documented: %s)", op, status, documented(route.Operation))}
	}
	if r.Method == http.MethodHead {
		var problems []string
		if rec.Body.Len() > 0 {
			problems = append(problems, op+": HEAD answered a body")
		}
		if ct := rec.Header().Get("Content-Type"); len(response.Value.Content) > 0 && response.Value.Content.Get(ct) == nil {
			problems = append(problems, fmt.Sprintf("%s %d: content type %q is not documented", op, status, ct))
		}
		return problems
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	ctx := context.Background()
	reqInput := &openapi3filter.RequestValidationInput{Request: cloneRequest(r, reqBody), PathParams: params, Route: route, Options: opts}
	var problems []string
	if status >= 200 && status < 300 {
		if err := openapi3filter.ValidateRequest(ctx, reqInput); err != nil {
			problems = append(problems, fmt.Sprintf("%s: the request does not fit: %v", op, err))
		}
		if rb := route.Operation.RequestBody; rb != nil && rb.Value != nil && len(reqBody) > 0 {
			if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
				var body any
				if err := json.Unmarshal(reqBody, &body); err == nil {
					for _, u := range undocumented(mt.Schema.Value, body, "") {
						problems = append(problems, fmt.Sprintf("%s: the server accepted a request with %s, which its schema does not name", op, u))
					}
				}
			}
		}
	}
	ct := rec.Header().Get("Content-Type")
	if !strings.Contains(ct, "json") {
		// /metrics and /v1/openapi.yaml: the content type alone.
		if len(response.Value.Content) > 0 && response.Value.Content.Get(ct) == nil {
			problems = append(problems, fmt.Sprintf("%s %d: content type %q is not documented", op, status, ct))
		}
		opts.ExcludeResponseBody = true
	}
	respInput := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput,
		Status:                 status,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, respInput); err != nil {
		problems = append(problems, fmt.Sprintf("%s %d: the response does not fit: %v", op, status, err))
	} else if strings.Contains(ct, "json") {
		if mt := response.Value.Content.Get(ct); mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
			var body any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err == nil {
				for _, u := range undocumented(mt.Schema.Value, body, "") {
					problems = append(problems, fmt.Sprintf("%s %d: the body has %s, which its schema does not name", op, status, u))
				}
			}
		}
	}
	return problems
}

// find routes r (as method) to its operation.
func (c *contract) find(r *http.Request, method string) (*routers.Route, map[string]string, error) {
	probe := r.Clone(context.Background())
	probe.Method = method
	probe.Body = http.NoBody
	var rest string
	isData := false
	for _, prefix := range dataPrefixes {
		if tail, ok := strings.CutPrefix(r.URL.Path, prefix); ok {
			rest, isData = tail, true
			probe.URL = &url.URL{Path: prefix + "_", RawQuery: r.URL.RawQuery}
			break
		}
	}
	route, params, err := c.router.FindRoute(probe)
	if err != nil {
		return nil, nil, err
	}
	// The legacy router forgives a trailing slash and an empty segment;
	// the server does not (a 404 or 405), so neither does the contract.
	if expand(route.Path, params) != probe.URL.Path {
		return nil, nil, routers.ErrPathNotFound
	}
	if isData {
		params["path"] = rest
	}
	return route, params, nil
}

// checkUnrouted checks the answer to a path or method the document has
// not: a 404 or 405 in the error shape of its part of the API.
func (c *contract) checkUnrouted(r *http.Request, rec *httptest.ResponseRecorder, routeErr error) []string {
	var want []int
	switch routeErr.Error() {
	case routers.ErrPathNotFound.Error():
		want = []int{http.StatusNotFound, http.StatusMethodNotAllowed}
	case routers.ErrMethodNotAllowed.Error():
		want = []int{http.StatusMethodNotAllowed}
	default:
		return []string{fmt.Sprintf("no route: %v", routeErr)}
	}
	var problems []string
	if !slices.Contains(want, rec.Code) {
		problems = append(problems, fmt.Sprintf("no operation in the document (%v), yet the answer is not a %v", routeErr, want))
	}
	if rec.Code == http.StatusMethodNotAllowed && rec.Header().Get("Allow") == "" {
		problems = append(problems, "a 405 without an Allow header")
	}
	if r.Method == http.MethodHead {
		return problems
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return append(problems, fmt.Sprintf("content type %q of an error is not application/json", ct))
	}
	schema, name := c.errorSchema, "Error"
	if isOPAPath(r.URL.Path) {
		schema, name = c.opaErrorSchema, "OPAError"
	}
	var body any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		return append(problems, fmt.Sprintf("the error body is not JSON: %v", err))
	}
	if err := c.doc.ValidateSchemaJSON(schema, body, openapi3.EnableJSONSchema2020()); err != nil {
		problems = append(problems, fmt.Sprintf("the error body does not fit %s: %v", name, err))
	}
	for _, u := range undocumented(schema, body, "") {
		problems = append(problems, fmt.Sprintf("the error body has %s, which %s does not name", u, name))
	}
	return problems
}

// documented lists an operation's documented statuses.
func documented(op *openapi3.Operation) string {
	var codes []string
	for code := range op.Responses.Map() {
		if _, err := strconv.Atoi(code); err == nil {
			codes = append(codes, code)
		}
	}
	sort.Strings(codes)
	return strings.Join(codes, ", ")
}

// expand fills a path template's parameters; an empty one stays a
// placeholder, which no request path holds.
func expand(template string, params map[string]string) string {
	for name, value := range params {
		if value == "" {
			continue
		}
		template = strings.ReplaceAll(template, "{"+name+"}", value)
	}
	return template
}

// cloneRequest returns r with its body readable again. A body sent without
// a Content-Type is read as JSON by the server (every body is JSON), so it
// is validated as JSON.
func cloneRequest(r *http.Request, body []byte) *http.Request {
	c := r.Clone(context.Background())
	c.Body = io.NopCloser(bytes.NewReader(body))
	c.ContentLength = int64(len(body))
	if len(body) > 0 && c.Header.Get("Content-Type") == "" {
		c.Header.Set("Content-Type", "application/json")
	}
	return c
}

// undocumented returns the paths of the fields of v that schema does not
// name. An object schema with properties (its own, or its allOf, anyOf or
// oneOf members') is closed; one without any, or with additionalProperties,
// is free-form.
func undocumented(schema *openapi3.Schema, v any, at string) []string {
	if schema == nil {
		return nil
	}
	if alts := append(slices.Clone(schema.AnyOf), schema.OneOf...); len(alts) > 0 && len(schema.Properties) == 0 && len(schema.AllOf) == 0 {
		var first []string
		for _, alt := range alts {
			if alt.Value == nil || !fitsType(alt.Value, v) {
				continue
			}
			u := undocumented(alt.Value, v, at)
			if len(u) == 0 {
				return nil
			}
			if first == nil {
				first = u
			}
		}
		return first
	}
	switch v := v.(type) {
	case map[string]any:
		var problems []string
		open := schema.AdditionalProperties.Has != nil && *schema.AdditionalProperties.Has
		extra := schema.AdditionalProperties.Schema
		closed := hasProperties(schema)
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			field := k
			if at != "" {
				field = at + "." + k
			}
			switch prop := property(schema, k); {
			case prop != nil:
				problems = append(problems, undocumented(prop, v[k], field)...)
			case extra != nil && extra.Value != nil:
				problems = append(problems, undocumented(extra.Value, v[k], field)...)
			case closed && !open:
				problems = append(problems, strconv.Quote(field))
			}
		}
		return problems
	case []any:
		if schema.Items == nil || schema.Items.Value == nil {
			return nil
		}
		var problems []string
		for i, item := range v {
			problems = append(problems, undocumented(schema.Items.Value, item, fmt.Sprintf("%s[%d]", at, i))...)
		}
		return problems
	}
	return nil
}

// hasProperties reports whether schema or a member of its allOf, anyOf or
// oneOf names properties.
func hasProperties(schema *openapi3.Schema) bool {
	if len(schema.Properties) > 0 {
		return true
	}
	for _, refs := range [][]*openapi3.SchemaRef{schema.AllOf, schema.AnyOf, schema.OneOf} {
		for _, ref := range refs {
			if ref.Value != nil && hasProperties(ref.Value) {
				return true
			}
		}
	}
	return false
}

// property returns the schema of the property name in schema or its
// allOf, anyOf or oneOf members.
func property(schema *openapi3.Schema, name string) *openapi3.Schema {
	if p := schema.Properties[name]; p != nil && p.Value != nil {
		return p.Value
	}
	for _, refs := range [][]*openapi3.SchemaRef{schema.AllOf, schema.AnyOf, schema.OneOf} {
		for _, ref := range refs {
			if ref.Value == nil {
				continue
			}
			if p := property(ref.Value, name); p != nil {
				return p
			}
		}
	}
	return nil
}

// fitsType reports whether v has a JSON type schema allows.
func fitsType(schema *openapi3.Schema, v any) bool {
	if schema.Type == nil || len(*schema.Type) == 0 {
		return true
	}
	var typ string
	switch v.(type) {
	case map[string]any:
		typ = openapi3.TypeObject
	case []any:
		typ = openapi3.TypeArray
	case string:
		typ = openapi3.TypeString
	case bool:
		typ = openapi3.TypeBoolean
	case nil:
		typ = openapi3.TypeNull
	default:
		typ = openapi3.TypeNumber
	}
	return schema.Type.Includes(typ) || (typ == openapi3.TypeNumber && schema.Type.Includes(openapi3.TypeInteger))
}

// The contract check refuses what the document does not say: each answer
// here breaks it one way, and the check names how.
func TestContractCheckRefusesWhatTheDocumentDoesNotSay(t *testing.T) {
	c, err := loadContract()
	require.NoError(t, err)
	answer := func(status int, contentType, body string, header ...string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		if contentType != "" {
			rec.Header().Set("Content-Type", contentType)
		}
		for i := 0; i+1 < len(header); i += 2 {
			rec.Header().Set(header[i], header[i+1])
		}
		rec.WriteHeader(status)
		_, _ = rec.WriteString(body)
		return rec
	}
	const js = "application/json; charset=utf-8"
	question := `{"subject":"alice","action":"view","resource":{"account":"acme"}}`
	for _, tc := range []struct {
		name, method, path, body string
		rec                      *httptest.ResponseRecorder
		want                     string // in a problem; "" for none
	}{
		{"a documented answer", http.MethodGet, "/health", "", answer(200, js, `{"status":"ok"}`), ""},
		{"an undocumented status", http.MethodGet, "/health", "", answer(418, js, `{"status":"ok"}`), "status 418 is not documented"},
		{"a field the schema does not name", http.MethodGet, "/health", "", answer(200, js, `{"status":"ok","uptime":3}`), `"uptime"`},
		{"a nested undocumented field", http.MethodPost, "/v1/decisions", question,
			answer(200, js, `{"allow":true,"reasons":[],"decision_id":"d","policy_revision":"r","grant":{"kind":"membership","secret":"x"}}`), `"grant.secret"`},
		{"a value out of its enum", http.MethodGet, "/health", "", answer(200, js, `{"status":"fine"}`), "does not fit"},
		{"an error body outside the Error shape", http.MethodGet, "/v1/events", "", answer(401, js, `{"message":"no"}`), "does not fit"},
		{"an undocumented content type", http.MethodGet, "/metrics", "", answer(200, "text/html", "<p>"), `content type "text/html"`},
		{"an invalid request answered 200", http.MethodPost, "/v1/decisions", `{"subject":7}`,
			answer(200, js, `{"allow":false,"reasons":[],"decision_id":"d","policy_revision":"r"}`), "the request does not fit"},
		{"an invalid request refused", http.MethodPost, "/v1/decisions", `{"subject":7}`,
			answer(400, js, `{"error":{"code":"invalid_input","message":"subject: must be a string"}}`), ""},
		{"OPA's path in gatehouse's error shape", http.MethodGet, "/v1/data/gatehouse/decision_test?input={}", "",
			answer(404, js, `{"error":{"code":"not_found","message":"no"}}`), "does not fit"},
		{"an unknown path answered 200", http.MethodGet, "/v1/nowhere", "", answer(200, js, `{}`), "is not a"},
		{"a 405 without Allow", http.MethodDelete, "/v1/nowhere", "",
			answer(405, js, `{"error":{"code":"method_not_allowed","message":"no"}}`), "without an Allow header"},
		{"a trailing slash is no operation", http.MethodGet, "/v1/events/", "", answer(200, js, `{"items":[]}`), "is not a"},
		{"HEAD with a body", http.MethodHead, "/health", "", answer(200, js, `{"status":"ok"}`), "HEAD answered a body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			problems := c.check(req, []byte(tc.body), tc.rec)
			if tc.want == "" {
				assert.Empty(t, problems)
				return
			}
			assert.NotEmpty(t, problems, "the check must refuse this")
			assert.Contains(t, strings.Join(problems, "\n"), tc.want)
		})
	}
}

// Every operation the document describes is one the server has: each is
// called once (as the system administrator, with an empty JSON object as
// its body), and none may answer the router's 404 or 405, whatever else
// it answers. The contract check validates each answer as for every test.
// docs/apidoc_test.go checks the other direction (every route documented).
func TestContractEveryDocumentedOperationIsServed(t *testing.T) {
	c, err := loadContract()
	require.NoError(t, err)
	h := newEmbeddedHarness(t)
	seedAcme(h)
	values := strings.NewReplacer("{id}", "acme", "{user}", "alice", "{revision}", "0123456789abcdef",
		"{path}", "gatehouse/decision/allow")
	operations := 0
	for _, path := range c.doc.Paths.InMatchingOrder() {
		for method, op := range c.doc.Paths.Value(path).Operations() {
			operations++
			var body any
			if op.RequestBody != nil {
				body = "{}"
			}
			rec := h.call(method, values.Replace(path), systemAdmin, body)
			what := method + " " + path
			if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
				var e errorAnswer
				_ = json.Unmarshal(rec.Body.Bytes(), &e)
				assert.False(t, e.Error.Code == "not_found" && strings.HasPrefix(e.Error.Message, "no endpoint"),
					"%s: the server has no such endpoint: %s", what, rec.Body.String())
				assert.NotEqual(t, "method_not_allowed", e.Error.Code, "%s: %s", what, rec.Body.String())
			}
		}
	}
	t.Logf("%d documented operations called", operations)
}
