package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// httpQuestionQuery is the rule that turns an HTTP request a proxy asks
// about into a question (POLICIES.md, "Behind Envoy: the request mapping").
const httpQuestionQuery = "data.gatehouse.envoy.question"

// ErrNoQuestion: the policy asks no question about an HTTP request (its
// data.gatehouse.envoy.question is undefined for it), so it is denied.
var ErrNoQuestion = errors.New("no question")

// HTTPRequest is an HTTP request that a proxy (Envoy or Istio, through
// external authorization) asks about. The policy rule
// data.gatehouse.envoy.question sees it as its input, with these keys:
// "method", "path", "segments", "query", "headers", "host" and, when set,
// "subject".
type HTTPRequest struct {
	// Method is the request method as sent, e.g. "GET".
	Method string
	// Path is the request path without its query, e.g. "/accounts/acme".
	Path string
	// Segments are the path's segments, percent-decoded:
	// ["accounts", "acme"]. The caller refuses paths whose segments are
	// ambiguous (".", "..", an encoded "/").
	Segments []string
	// Query holds the query parameters by name, each with its values.
	Query map[string][]string
	// Headers holds the request headers by lowercase name, the values of a
	// repeated header joined by ",". Credentials are left out: Subject is
	// what they prove.
	Headers map[string]string
	// Host is the request's authority, e.g. "app.example:8443".
	Host string
	// Subject is the subject of the bearer token the caller verified, or ""
	// when the request carried none.
	Subject string
}

// input is the value the question rule is evaluated with.
func (r HTTPRequest) input() ast.Value {
	segments := make([]*ast.Term, len(r.Segments))
	for i, s := range r.Segments {
		segments[i] = ast.StringTerm(s)
	}
	query := ast.NewObject()
	for name, values := range r.Query {
		terms := make([]*ast.Term, len(values))
		for i, v := range values {
			terms[i] = ast.StringTerm(v)
		}
		query.Insert(ast.StringTerm(name), ast.ArrayTerm(terms...))
	}
	headers := ast.NewObject()
	for name, value := range r.Headers {
		headers.Insert(ast.StringTerm(name), ast.StringTerm(value))
	}
	in := ast.NewObject(
		ast.Item(ast.InternedTerm("method"), ast.StringTerm(r.Method)),
		ast.Item(ast.InternedTerm("path"), ast.StringTerm(r.Path)),
		ast.Item(ast.InternedTerm("segments"), ast.ArrayTerm(segments...)),
		ast.Item(ast.InternedTerm("query"), ast.NewTerm(query)),
		ast.Item(ast.InternedTerm("headers"), ast.NewTerm(headers)),
		ast.Item(ast.InternedTerm("host"), ast.StringTerm(r.Host)),
	)
	if r.Subject != "" {
		in.Insert(ast.InternedTerm("subject"), ast.StringTerm(r.Subject))
	}
	return in
}

// Question asks the active policy's data.gatehouse.envoy.question which
// decision the HTTP request is. The answer is not validated: Decide does
// that and denies a malformed question (R44). Errors: ErrNoQuestion when
// the rule is undefined for the request; an error naming the problem when
// the policy defines no such rule, fails or answers something other than
// {subject, action, resource: {account, virtual_account?}, context?};
// the context's error when it ends first.
func (e *Engine) Question(ctx context.Context, req HTTPRequest) (DecisionRequest, error) {
	return e.question(ctx, e.policy.Load(), req)
}

func (e *Engine) question(ctx context.Context, p *Policy, req HTTPRequest) (DecisionRequest, error) {
	if p.httpQuestion == nil {
		return DecisionRequest{}, fmt.Errorf("the policy defines no %s", httpQuestionQuery)
	}
	rs, err := p.httpQuestion.Eval(ctx, rego.EvalParsedInput(req.input()))
	if err != nil {
		return DecisionRequest{}, err
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return DecisionRequest{}, ErrNoQuestion
	}
	return readQuestion(rs[0].Expressions[0].Value)
}

// readQuestion reads the rule's answer; anything but the documented shape
// is an error.
func readQuestion(v any) (DecisionRequest, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return DecisionRequest{}, fmt.Errorf("%s is not an object", httpQuestionQuery)
	}
	resource, ok := obj["resource"].(map[string]any)
	if !ok {
		return DecisionRequest{}, fmt.Errorf("%s has no resource object", httpQuestionQuery)
	}
	var q DecisionRequest
	for _, f := range []struct {
		name string
		from map[string]any
		key  string
		to   *string
	}{
		{"subject", obj, "subject", &q.Subject},
		{"action", obj, "action", &q.Action},
		{"resource.account", resource, "account", &q.Resource.Account},
		{"resource.virtual_account", resource, "virtual_account", &q.Resource.VirtualAccount},
	} {
		raw, set := f.from[f.key]
		s, ok := raw.(string)
		if set && !ok {
			return DecisionRequest{}, fmt.Errorf("%s.%s is not a string", httpQuestionQuery, f.name)
		}
		*f.to = s
	}
	if raw, set := obj["context"]; set {
		if q.Context, ok = raw.(map[string]any); !ok {
			return DecisionRequest{}, fmt.Errorf("%s.context is not an object", httpQuestionQuery)
		}
	}
	return q, nil
}

// maxReasonMethod and maxReasonPath bound the request method and path
// quoted in a reason, in bytes: the reason travels in a response header.
const (
	maxReasonMethod = 32
	maxReasonPath   = 200
)

// clip returns s cut to at most n bytes, "..." marking a cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// DecideHTTP answers an HTTP request a proxy asks about: the policy's
// question (Question), then Decide's answer to it, both within one decision
// timeout (WithDecisionTimeout) and with one policy revision. It never fails
// open: a request the policy asks no question about is a deny whose reasons
// say so; a policy error or a timeout is a deny with Error set as Decide
// sets it. Either way the observers (metrics, decision log) are told, the
// request being then the empty question with context {"http": {"method",
// "path"}}. It returns the question asked and the decision.
func (e *Engine) DecideHTTP(ctx context.Context, req HTTPRequest) (DecisionRequest, Decision) {
	start := time.Now()
	p := e.policy.Load()
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	q, err := e.question(ctx, p, req)
	var d Decision
	if err == nil {
		d, _ = e.decideWith(ctx, p, q, nil)
	} else {
		method, path := clip(req.Method, maxReasonMethod), clip(req.Path, maxReasonPath)
		q = DecisionRequest{Context: map[string]any{"http": map[string]any{"method": method, "path": path}}}
		d = Decision{DecisionID: newID(), PolicyRevision: p.Revision, At: e.now()}
		if errors.Is(err, ErrNoQuestion) {
			d.Reasons = []string{fmt.Sprintf("denied: the policy asks no question about %q %q (%s is undefined)", method, path, httpQuestionQuery)}
		} else {
			d.failClosed(ctx, err, "the policy's request mapping failed")
		}
	}
	d.Duration = time.Since(start)
	if d.Error == "policy_error" {
		e.log.Error("decision policy failed", "revision", p.Revision, "reasons", d.Reasons)
	}
	for _, o := range e.observers {
		o.ObserveDecision(q, d)
	}
	return q, d
}
