package docs

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// update rewrites docs/API.md from openapi.yaml instead of comparing.
var update = flag.Bool("update", false, "rewrite docs/API.md from adapters/httpapi/openapi.yaml")

const (
	// contractFile is the HTTP contract the server serves at /v1/openapi.yaml.
	contractFile = "adapters/httpapi/openapi.yaml"
	// apiPage is the HTTP reference rendered from it.
	apiPage = "docs/API.md"
)

// loadContract reads the contract and checks it with kin-openapi: it must
// load, every $ref must resolve, it must validate as OpenAPI, and its
// examples must fit their schemas (see checkExamples).
func loadContract(t *testing.T) (*openapi3.T, []byte) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(contractFile)))
	if err != nil {
		t.Fatal(err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(src)
	if err != nil {
		t.Fatalf("%s does not load as OpenAPI: %v", contractFile, err)
	}
	if err := doc.Validate(loader.Context, openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("%s is not valid OpenAPI: %v", contractFile, err)
	}
	for _, p := range checkExamples(doc) {
		t.Errorf("%s: %s", contractFile, p)
	}
	return doc, src
}

// checkExamples checks every example against its schema: every answer,
// and every request body and parameter unless the example shows a refusal
// (its answer, the response example of the same name, is a 4xx): those
// may break the schema on purpose.
func checkExamples(doc *openapi3.T) []string {
	var problems []string
	check := func(where string, schema *openapi3.SchemaRef, value any) {
		if schema == nil || schema.Value == nil {
			return
		}
		if err := doc.ValidateSchemaJSON(schema.Value, value, openapi3.EnableJSONSchema2020()); err != nil {
			problems = append(problems, fmt.Sprintf("%s: the example does not fit its schema: %v", where, err))
		}
	}
	checkContent := func(where string, content openapi3.Content) {
		for typ, mt := range content {
			if mt.Example != nil {
				check(where+" "+typ, mt.Schema, mt.Example)
			}
			for name, ex := range mt.Examples {
				check(where+" "+typ+" example "+name, mt.Schema, ex.Value.Value)
			}
		}
	}
	for _, c := range doc.Components.Responses {
		checkContent("components response", c.Value.Content)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			// refused[name] is whether the exchange called name is refused;
			// a name absent is no exchange of this operation.
			refused := map[string]bool{}
			for status, r := range op.Responses.Map() {
				checkContent(where+" response "+status, r.Value.Content)
				for _, mt := range r.Value.Content {
					for name := range mt.Examples {
						refused[name] = strings.HasPrefix(status, "4")
					}
				}
			}
			if op.RequestBody != nil {
				for typ, mt := range op.RequestBody.Value.Content {
					for name, ex := range mt.Examples {
						if !refused[name] {
							check(where+" request body "+typ+" example "+name, mt.Schema, ex.Value.Value)
						}
					}
				}
			}
			// A parameter's examples are named after the exchanges of the
			// operations that share it; only this operation's are sent here.
			for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
				for name, ex := range p.Value.Examples {
					if isRefused, ok := refused[name]; ok && !isRefused {
						check(where+" parameter "+p.Value.Name+" example "+name, p.Value.Schema, ex.Value.Value)
					}
				}
			}
		}
	}
	slices.Sort(problems)
	return problems
}

// TestAPIReferenceIsUpToDate: docs/API.md is exactly what openapi.yaml
// renders to, so the reference a user reads cannot drift from the contract
// the server serves; and the contract is valid OpenAPI whose every
// operation has an example.
func TestAPIReferenceIsUpToDate(t *testing.T) {
	_, src := loadContract(t)
	doc, err := parseAPIDoc(src)
	if err != nil {
		t.Fatalf("%s: %v", contractFile, err)
	}
	want := doc.render()
	slices.Sort(doc.problems)
	for _, p := range slices.Compact(doc.problems) {
		t.Errorf("%s: %s", contractFile, p)
	}
	page := filepath.Join(repoRoot(t), filepath.FromSlash(apiPage))
	if *update {
		if err := os.WriteFile(page, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(page)
	if err != nil {
		t.Fatalf("%v: run go test ./docs -run TestAPIReferenceIsUpToDate -update", err)
	}
	if string(got) != want {
		t.Errorf("%s differs from what %s renders to (first difference at line %d): "+
			"run go test ./docs -run TestAPIReferenceIsUpToDate -update", apiPage, contractFile, firstDiffLine(string(got), want))
	}
}

// firstDiffLine is the number of the first line where a and b differ.
func firstDiffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}

// TestContractDocumentsEveryRoute: every route the server registers is an
// operation of openapi.yaml with the same method and path, and every
// operation is a route (":id" is "{id}", the catch-all "*path" is
// "{path}"). HEAD, answered wherever GET is, is documented once for all.
func TestContractDocumentsEveryRoute(t *testing.T) {
	doc, _ := loadContract(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range newServer(t).Routes() {
		served[r.Method+" "+openAPIPath(r.Path)] = true
	}
	for _, r := range sortedKeys(served) {
		if !documented[r] {
			t.Errorf("the server answers %s, which %s does not document: add the operation, with its fields and an example", r, contractFile)
		}
	}
	for _, op := range sortedKeys(documented) {
		if !served[op] {
			t.Errorf("%s documents %s, which the server has no route for", contractFile, op)
		}
	}
}

// openAPIPath spells a router path pattern as OpenAPI does.
func openAPIPath(pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// newServer is the HTTP API over a real engine, with the built-in policies
// and an embedded store in a temporary directory.
func newServer(t *testing.T) *httpapi.Server {
	t.Helper()
	store, err := embedded.Open(t.TempDir(), embedded.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	files, err := engine.ReadPolicyFiles(policies.FS())
	if err != nil {
		t.Fatal(err)
	}
	policy, err := engine.CompilePolicy(context.Background(), files, "built-in")
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(store, policy)
	if err != nil {
		t.Fatal(err)
	}
	return httpapi.New(eng)
}
