package engine

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The Data API (OPA's POST and GET /v1/data/{path}) answers only its
// documented entry points, each a real decision made by Decide:
//
//	gatehouse/decision/result           the result object {allow, reasons, grant}
//	gatehouse/decision/result/allow     and the documents below it: reasons,
//	gatehouse/decision/result/reasons/0 reasons/<i>, grant, grant/<field>
//	gatehouse/decision/allow            the boolean allow (false on a deny)
//
// Every other path (the data root, package roots, test packages, the
// admission package, helper rules) is an undefined document: nothing is
// evaluated for it, so no caller can run a test rule or an expensive helper.
const (
	dataPackage    = "gatehouse/decision"
	dataResultRule = "result"
	dataAllowRule  = "allow"
	maxRefInError  = 200
)

// resultFields are the documented fields of the decision result and the
// documented fields below each (nil: a leaf, or an array for reasons).
var resultFields = map[string][]string{
	"allow":   nil,
	"reasons": nil,
	"grant":   {"kind", "account", "request", "approved_by"},
}

// DataPath is a Data API path that names a documented entry point. The zero
// value is gatehouse/decision/result.
type DataPath struct {
	// allowRule: the path is gatehouse/decision/allow.
	allowRule bool
	// below is the path under gatehouse/decision/result (nil: the result).
	below []string
}

// UndefinedDocumentError is a Data API path that names no entry point, or
// (Evaluated) an entry point whose document the decision left undefined:
// OPA answers both 404 undefined_document where it answers an undefined
// document with an error (its default decision, POST /). It wraps
// ErrNotFound.
type UndefinedDocumentError struct {
	// Ref is the path as an OPA reference, e.g. data.gatehouse.roles.
	Ref string
	// Evaluated: the path is an entry point, and the decision left its
	// document undefined (e.g. the grant of a deny).
	Evaluated bool
}

func (e *UndefinedDocumentError) Error() string {
	if e.Evaluated {
		// OPA's own words for a rule that exists but is undefined.
		return "document undefined: " + e.Ref
	}
	return "document missing: " + e.Ref + " (the Data API answers " + dataPackage + "/" + dataResultRule +
		", the documents below it, and " + dataPackage + "/" + dataAllowRule + ")"
}

// Unwrap makes errors.Is(err, ErrNotFound) true.
func (e *UndefinedDocumentError) Unwrap() error { return ErrNotFound }

// ParseDataPath reads a slash-separated Data API path (leading and trailing
// slashes ignored). A path that is not a documented entry point is a
// *UndefinedDocumentError; nothing is evaluated to find that out.
func ParseDataPath(path string) (DataPath, error) {
	trimmed := strings.Trim(path, "/")
	rest, ok := strings.CutPrefix(trimmed, dataPackage+"/")
	if !ok {
		return DataPath{}, undefinedDocument(trimmed)
	}
	segs := strings.Split(rest, "/")
	switch {
	case len(segs) == 1 && segs[0] == dataAllowRule:
		return DataPath{allowRule: true}, nil
	case segs[0] != dataResultRule:
		return DataPath{}, undefinedDocument(trimmed)
	}
	below := segs[1:]
	if !documentedBelowResult(below) {
		return DataPath{}, undefinedDocument(trimmed)
	}
	if len(below) == 0 {
		below = nil
	}
	return DataPath{below: below}, nil
}

// documentedBelowResult reports whether below names a documented document
// under the result: a field, a reason by index, or a field of the grant.
func documentedBelowResult(below []string) bool {
	if len(below) == 0 {
		return true
	}
	sub, ok := resultFields[below[0]]
	switch {
	case !ok:
		return false
	case len(below) == 1:
		return true
	case len(below) > 2:
		return false
	case below[0] == "reasons":
		return isIndex(below[1])
	}
	for _, f := range sub {
		if below[1] == f {
			return true
		}
	}
	return false
}

// isIndex reports whether s is an array index written as OPA writes one.
func isIndex(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && strconv.Itoa(n) == s
}

// String returns the path as it is queried, e.g. gatehouse/decision/result/allow.
func (p DataPath) String() string {
	if p.allowRule {
		return dataPackage + "/" + dataAllowRule
	}
	return strings.Join(append([]string{dataPackage, dataResultRule}, p.below...), "/")
}

// Ref returns the path as an OPA reference, e.g.
// data.gatehouse.decision.result.allow.
func (p DataPath) Ref() string { return dataRef(p.String()) }

// Undefined is the error of an entry point whose document the decision
// left undefined, for the answers that make it an error (OPA's default
// decision): an *UndefinedDocumentError, "document undefined: <ref>".
func (p DataPath) Undefined() error {
	return &UndefinedDocumentError{Ref: p.Ref(), Evaluated: true}
}

// undefinedDocument is the error of a path that names no entry point.
func undefinedDocument(path string) error {
	return &UndefinedDocumentError{Ref: dataRef(path)}
}

// dataRef names a slash-separated path as OPA does (data.a.b,
// data.a["b c"]), shortened when long.
func dataRef(path string) string {
	ref := ast.Ref{ast.DefaultRootDocument}
	if path != "" {
		for _, seg := range strings.Split(path, "/") {
			ref = append(ref, ast.StringTerm(seg))
		}
	}
	s := ref.String()
	if len(s) > maxRefInError {
		s = s[:maxRefInError] + "..."
	}
	return s
}

// QueryResult is the answer of the Data API: the document at the path,
// whether it is defined, and the decision it was read from.
type QueryResult struct {
	// Result is the document: a DecisionResult, a bool, []string, a
	// string or a *DecisionGrant. Undefined documents leave it nil.
	Result         any
	Defined        bool
	DecisionID     string
	PolicyRevision string
	// Decision is the decision the document was read from.
	Decision Decision
}

// DecisionResult is the decision's result object as the policy defines it
// (POLICIES.md): allow, reasons, and on an allow the grant.
type DecisionResult struct {
	Allow   bool           `json:"allow"`
	Reasons []string       `json:"reasons"`
	Grant   *DecisionGrant `json:"grant,omitempty"`
}

// Query answers a Data API query on an entry point: req is decided by
// Decide (store snapshot, decision cache, fail-closed, observers: the
// decision is logged and counted like any other), and the document at path
// is read from the decision. The same question gets the same allow, reasons
// and grant as Decide gives. The error is a *FieldError naming the bad
// input field (input.subject...); a decision that failed closed is a deny,
// not an error (R7, R45).
func (e *Engine) Query(ctx context.Context, path DataPath, req DecisionRequest) (QueryResult, error) {
	if err := req.Validate(); err != nil {
		return QueryResult{}, prefixInputField(err)
	}
	d := e.Decide(ctx, req)
	out := QueryResult{DecisionID: d.DecisionID, PolicyRevision: d.PolicyRevision, Decision: d}
	out.Result, out.Defined = path.document(d)
	return out, nil
}

// BatchQueryResult is the answer of the batch Data API (Enterprise OPA's
// POST /v1/batch/data/{path}): one QueryResult per question, in the order
// asked, and the id of the batch.
type BatchQueryResult struct {
	BatchDecisionID string
	Results         []QueryResult
}

// QueryBatch answers several Data API queries on one path, in order, each
// a decision made as Query makes it (logged and counted like any other).
// Every question is validated before any is decided: when one is not
// valid, the error is a *FieldError naming its field below input (the
// caller, who knows how it named the question, names it better: validate
// with ParseDecisionInput first) and nothing is decided.
func (e *Engine) QueryBatch(ctx context.Context, path DataPath, reqs []DecisionRequest) (BatchQueryResult, error) {
	for _, req := range reqs {
		if err := req.Validate(); err != nil {
			return BatchQueryResult{}, prefixInputField(err)
		}
	}
	out := BatchQueryResult{BatchDecisionID: newID(), Results: make([]QueryResult, len(reqs))}
	for i, req := range reqs {
		res, err := e.Query(ctx, path, req)
		if err != nil {
			return BatchQueryResult{}, err
		}
		out.Results[i] = res
	}
	return out, nil
}

// document reads the document at p from d.
func (p DataPath) document(d Decision) (any, bool) {
	if p.allowRule {
		return d.Allow, true
	}
	reasons := d.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	if len(p.below) == 0 {
		return DecisionResult{Allow: d.Allow, Reasons: reasons, Grant: d.Grant}, true
	}
	switch p.below[0] {
	case "allow":
		return d.Allow, true
	case "reasons":
		if len(p.below) == 1 {
			return reasons, true
		}
		i, _ := strconv.Atoi(p.below[1])
		if i < len(reasons) {
			return reasons[i], true
		}
		return nil, false
	case "grant":
		if d.Grant == nil {
			return nil, false
		}
		if len(p.below) == 1 {
			return d.Grant, true
		}
		v := grantField(d.Grant, p.below[1])
		return v, v != ""
	}
	return nil, false
}

func grantField(g *DecisionGrant, field string) string {
	switch field {
	case "kind":
		return g.Kind
	case "account":
		return g.Account
	case "request":
		return g.Request
	case "approved_by":
		return g.ApprovedBy
	}
	return ""
}

// ParseDecisionInput reads the input of a Data API query (decoded JSON,
// numbers as json.Number to keep them exact) as the decision question:
// {"subject", "action", "resource": {"account", "virtual_account"},
// "context", "consistency": {"at_least": token}}, validated as
// DecisionRequest.Validate does; consistency.at_least is a write's token
// (ParseToken), given to the store, not to the policy. The keys that
// gatehouse fills from the store, the clock or the caller's credentials
// (user, account, membership, partner_membership, tenant, now_ns, caller)
// are refused, and so is any other key:
// a caller never supplies the records a decision is made on. Errors are
// *FieldError values naming the field, e.g. input.user (R44).
func ParseDecisionInput(input any) (DecisionRequest, error) {
	var req DecisionRequest
	if input == nil {
		return req, Invalid("input", "is required: the decision question {subject, action, resource, context}")
	}
	obj, ok := input.(map[string]any)
	if !ok {
		return req, Invalid("input", "must be an object: the decision question {subject, action, resource, context}")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if from, filled := filledInputKeys[k]; filled {
			return req, Invalid("input."+k, "is filled by gatehouse from %s; a caller may not set it", from)
		}
	}
	for _, k := range keys {
		var err error
		switch k {
		case inputSubject:
			req.Subject, err = inputString("input."+k, obj[k])
		case inputAction:
			req.Action, err = inputString("input."+k, obj[k])
		case inputResource:
			req.Resource, err = inputResourceOf(obj[k])
		case inputContext:
			req.Context, err = inputContextOf(obj[k])
		case inputConsistency:
			req.AtLeast, err = inputConsistencyOf(obj[k])
		default:
			err = Invalid("input."+k, "is not a known field (the question has subject, action, resource, context and consistency)")
		}
		if err != nil {
			return DecisionRequest{}, err
		}
	}
	if err := req.Validate(); err != nil {
		return DecisionRequest{}, prefixInputField(err)
	}
	return req, nil
}

func inputString(field string, v any) (string, error) {
	switch s := v.(type) {
	case string:
		return s, nil
	case nil:
		return "", nil
	}
	return "", Invalid(field, "must be a string")
}

func inputResourceOf(v any) (Resource, error) {
	var r Resource
	if v == nil {
		return r, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return r, Invalid("input.resource", "must be an object {account, virtual_account}")
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var err error
		switch k {
		case resourceAccount:
			r.Account, err = inputString("input.resource."+k, obj[k])
		case resourceVirtualAccount:
			r.VirtualAccount, err = inputString("input.resource."+k, obj[k])
		default:
			err = Invalid("input.resource."+k, "is not a known field (a resource has account and virtual_account)")
		}
		if err != nil {
			return Resource{}, err
		}
	}
	return r, nil
}

func inputContextOf(v any) (map[string]any, error) {
	switch c := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return c, nil
	}
	return nil, Invalid("input.context", "must be an object")
}

// inputConsistencyOf reads {"at_least": token}; null asks for nothing.
func inputConsistencyOf(v any) (*Token, error) {
	const field = "input." + inputConsistency
	if v == nil {
		return nil, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, Invalid(field, "must be an object {at_least}")
	}
	for k := range obj {
		if k != "at_least" {
			return nil, Invalid(field+"."+k, "is not a known field (consistency has at_least)")
		}
	}
	text, ok := obj["at_least"].(string)
	if !ok {
		return nil, Invalid(field+".at_least", "must be a string: a consistency token, as a write answers it")
	}
	t, err := ParseToken(field+".at_least", text)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// prefixInputField names a field of the question as a field of input.
func prefixInputField(err error) error {
	if fe, ok := err.(*FieldError); ok {
		return &FieldError{Field: "input." + fe.Field, Message: fe.Message}
	}
	return fmt.Errorf("input: %w", err)
}
