package engine

import (
	"context"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// QueryResult is the answer of the Data API: the value of a document under
// data, and whether it is defined.
type QueryResult struct {
	Result         any
	Defined        bool
	DecisionID     string
	PolicyRevision string
}

// Query evaluates the document at path (slash-separated, under data) with
// input, as OPA's Data API does. The query for a path is prepared once per
// policy revision.
func (e *Engine) Query(ctx context.Context, path string, input any) (QueryResult, error) {
	ref, err := dataRef(path)
	if err != nil {
		return QueryResult{}, err
	}
	p := e.policy.Load()
	out := QueryResult{DecisionID: newID(), PolicyRevision: p.Revision}
	pq, err := p.dataQuery(ctx, ref)
	if err != nil {
		return out, err
	}
	var opts []rego.EvalOption
	if input != nil {
		v, err := ast.InterfaceToValue(input)
		if err != nil {
			return out, Invalid("input", "is not a JSON value: %v", err)
		}
		opts = append(opts, rego.EvalParsedInput(v))
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	rs, err := pq.Eval(ctx, opts...)
	if err != nil {
		return out, err
	}
	if len(rs) == 1 && len(rs[0].Expressions) == 1 {
		out.Result, out.Defined = rs[0].Expressions[0].Value, true
	}
	return out, nil
}

// dataRef turns "gatehouse/decision/result" into data.gatehouse.decision.result.
func dataRef(path string) (ast.Ref, error) {
	ref := ast.Ref{ast.DefaultRootDocument}
	path = strings.Trim(path, "/")
	if path == "" {
		return ref, nil
	}
	for _, seg := range strings.Split(path, "/") {
		if !ValidID(seg) {
			return nil, Invalid("path", "segment %q must be 1-128 letters, digits, '.', '_', '-' or '@'", seg)
		}
		ref = append(ref, ast.StringTerm(seg))
	}
	return ref, nil
}
