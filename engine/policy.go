package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/util"
)

// Queries the engine asks of every policy revision.
const (
	decisionQuery  = "data.gatehouse.decision.result"
	admissionQuery = "data.gatehouse.admission.result"
	// maxCachedQueries bounds the prepared Data API queries kept per revision.
	maxCachedQueries = 256
)

// Policy is one compiled, immutable revision of the policy set. Its queries
// are prepared once, when it is compiled, and shared by every decision.
type Policy struct {
	// Revision is a content hash of the policy files.
	Revision string
	// Source says where the files came from (a directory, "built-in", a push).
	Source string
	// LoadedAt is when this revision was compiled.
	LoadedAt time.Time
	// Files holds the raw files by slash-separated path, tests included.
	Files map[string][]byte

	// cacheable: the policy's data allows its answers to be cached.
	cacheable bool
	compiler  *ast.Compiler
	data      storage.Store
	// txn is a read transaction on data, open for the life of the revision:
	// data is never written after compilation, and a read transaction of
	// OPA's in-memory store holds no state, so every decision shares it
	// instead of opening and closing one (a lock) per evaluation.
	txn       storage.Transaction
	decision  rego.PreparedEvalQuery
	admission *rego.PreparedEvalQuery
	// httpQuestion maps a proxy's HTTP request to a question (DecideHTTP);
	// nil when the policy defines no data.gatehouse.envoy.question.
	httpQuestion *rego.PreparedEvalQuery
	// derived holds the value of each rule of the derived package, by rule
	// name (nil: undefined), computed once when the revision is compiled.
	derived map[string]*ast.Term
	// plan is the decision rule's compiled plan for EvaluatorPlan, or why
	// this revision has none; planFallback logs that reason once.
	plan         decisionPlan
	planFallback sync.Once

	mu      sync.Mutex
	queries map[string]rego.PreparedEvalQuery
}

// compileMu serializes policy compilation in the process: OPA's type
// checker updates type values it can share between compilations, so two
// compiles at once (two replicas in one test process, a reload racing a
// push) race. Compiles are rare; decisions never take this lock.
var compileMu sync.Mutex

// IsPolicyFile reports whether name is a file a policy set is made of:
// Rego modules and JSON data documents.
func IsPolicyFile(name string) bool {
	ext := path.Ext(name)
	return ext == ".rego" || ext == ".json"
}

// IsTestFile reports whether name holds Rego unit tests.
func IsTestFile(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// ReadPolicyFiles reads every policy file of fsys, by slash-separated path.
func ReadPolicyFiles(fsys fs.FS) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !IsPolicyFile(p) {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read policy files: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("read policy files: no .rego or .json files found")
	}
	return files, nil
}

// Revision returns the content hash of a set of policy files: the same
// files give the same revision on every replica.
func Revision(files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(files[name]))
		h.Write(files[name])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// CompilePolicy parses, strictly compiles and prepares the policy files,
// and computes the rules of data.gatehouse.derived once for the revision.
// Errors name the file and line. The decision package must exist, and the
// derived rules must read data only (POLICIES.md, "Derived data").
func CompilePolicy(ctx context.Context, files map[string][]byte, source string) (*Policy, error) {
	modules, data, err := parsePolicyFiles(files)
	if err != nil {
		return nil, err
	}
	compileMu.Lock()
	defer compileMu.Unlock()
	compiler := ast.NewCompiler().WithStrict(true).WithEnablePrintStatements(false)
	if compiler.Compile(modules); compiler.Failed() {
		return nil, fmt.Errorf("compile policy: %w", compiler.Errors)
	}

	p := &Policy{
		Revision:  Revision(files),
		Source:    source,
		LoadedAt:  time.Now().UTC(),
		Files:     files,
		compiler:  compiler,
		cacheable: cacheDecisions(data),
		data:      inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true)),
		queries:   map[string]rego.PreparedEvalQuery{},
	}
	if p.txn, err = p.data.NewTransaction(ctx); err != nil {
		return nil, fmt.Errorf("compile policy: %w", err)
	}
	if p.derived, err = p.computeDerived(ctx); err != nil {
		return nil, err
	}
	if !p.defines("gatehouse", "decision", "result") {
		return nil, fmt.Errorf("compile policy: no rule %s is defined", decisionQuery)
	}
	if p.decision, err = p.prepare(ctx, ast.MustParseBody(decisionQuery)); err != nil {
		return nil, err
	}
	p.plan = p.compilePlan(ctx, modules)
	if p.defines("gatehouse", "admission", "result") {
		q, err := p.prepare(ctx, ast.MustParseBody(admissionQuery))
		if err != nil {
			return nil, err
		}
		p.admission = &q
	}
	if p.defines("gatehouse", "envoy", "question") {
		q, err := p.prepare(ctx, ast.MustParseBody(httpQuestionQuery))
		if err != nil {
			return nil, err
		}
		p.httpQuestion = &q
	}
	return p, nil
}

// loadDocument parses a JSON data file and nests it under the path of its
// directory, as OPA does (a/b/data.json is data.a.b).
func loadDocument(name string, raw []byte) (map[string]any, error) {
	// A key given twice would silently keep the last value (R44).
	if err := CheckJSONKeys(raw, nil); err != nil {
		return nil, fmt.Errorf("parse policy data %s: %w", name, err)
	}
	var doc any
	if err := util.UnmarshalJSON(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse policy data %s: %w", name, err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse policy data %s: the top level must be an object", name)
	}
	if dir := path.Dir(name); dir != "." {
		parts := strings.Split(dir, "/")
		for i := len(parts) - 1; i >= 0; i-- {
			obj = map[string]any{parts[i]: obj}
		}
	}
	return obj, nil
}

// mergeDocument merges src into dst, refusing two files that set one key.
func mergeDocument(dst, src map[string]any) error {
	for k, v := range src {
		existing, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		a, aok := existing.(map[string]any)
		b, bok := v.(map[string]any)
		if !aok || !bok {
			return fmt.Errorf("parse policy data: key %q is set by two data files", k)
		}
		if err := mergeDocument(a, b); err != nil {
			return err
		}
	}
	return nil
}

// defines reports whether some rule of the policy is named by the path.
func (p *Policy) defines(parts ...string) bool {
	ref := ast.Ref{ast.DefaultRootDocument}
	for _, s := range parts {
		ref = append(ref, ast.StringTerm(s))
	}
	return len(p.compiler.GetRules(ref)) > 0
}

func (p *Policy) prepare(ctx context.Context, query ast.Body) (rego.PreparedEvalQuery, error) {
	pq, err := rego.New(
		rego.ParsedQuery(query),
		rego.Compiler(p.compiler),
		rego.Store(p.data),
	).PrepareForEval(ctx)
	if err != nil {
		return rego.PreparedEvalQuery{}, fmt.Errorf("prepare %s: %w", query, err)
	}
	return pq, nil
}

// dataQuery returns the prepared query for a Data API path, preparing it on
// first use and keeping it for the life of the revision.
func (p *Policy) dataQuery(ctx context.Context, ref ast.Ref) (rego.PreparedEvalQuery, error) {
	key := ref.String()
	p.mu.Lock()
	pq, ok := p.queries[key]
	p.mu.Unlock()
	if ok {
		return pq, nil
	}
	compileMu.Lock()
	pq, err := p.prepare(ctx, ast.NewBody(ast.NewExpr(ast.NewTerm(ref))))
	compileMu.Unlock()
	if err != nil {
		return pq, err
	}
	p.mu.Lock()
	if len(p.queries) < maxCachedQueries {
		p.queries[key] = pq
	}
	p.mu.Unlock()
	return pq, nil
}

// parsePolicyFiles parses the Rego modules (Rego v1) and merges the data
// documents of a policy set, as CompilePolicy reads them.
func parsePolicyFiles(files map[string][]byte) (map[string]*ast.Module, map[string]any, error) {
	modules := map[string]*ast.Module{}
	data := map[string]any{}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		raw := files[name]
		switch path.Ext(name) {
		case ".rego":
			m, err := ast.ParseModuleWithOpts(name, string(raw), ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				return nil, nil, fmt.Errorf("parse policy: %w", err)
			}
			modules[name] = m
		case ".json":
			doc, err := loadDocument(name, raw)
			if err != nil {
				return nil, nil, err
			}
			if err := mergeDocument(data, doc); err != nil {
				return nil, nil, err
			}
		}
	}
	return modules, data, nil
}
