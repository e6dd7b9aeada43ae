package docs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file renders adapters/httpapi/openapi.yaml to docs/API.md. It reads
// the YAML as nodes, so that paths, fields and examples keep the order the
// contract gives them, and resolves local $refs itself.
//
// Examples are exchanges: an example name shared by a request body's
// examples, the parameters' examples and one response's examples is one
// request and its answer. A path or required query parameter without an
// example of that name takes its first example; optional parameters and
// headers appear only in the exchanges that name them. A response example
// with `x-no-token: true` is sent without a token.
//
// The examples are replayed against a real server, in document order, by
// apidoc_examples_test.go; three extensions tell it what the prose says:
//   - `x-caller: alice` on a response example (or, for an exchange without
//     one, on its operation): the subject of the token the request carries;
//   - `x-after: "POST /v1/access-requests/{id}/approve approve"` on a
//     response example (a list for several): the exchanges, named by
//     method, path and example, that must have run before it (the
//     exchanges of one operation keep their order);
//   - `x-files-from: policies` on a request body example: the body's
//     `files` also holds every .rego and .json file of that directory of
//     the repository, which the example does not repeat.
//
// The examples of the shared error response (the Errors section) name
// their request with `x-request` and `x-status` (see errorExamples).

// apiDoc is a parsed OpenAPI document.
type apiDoc struct {
	root     *yaml.Node // the document's top mapping
	problems []string   // what the renderer could not render
}

// parseAPIDoc parses src, an OpenAPI document in YAML.
func parseAPIDoc(src []byte) (*apiDoc, error) {
	var file yaml.Node
	if err := yaml.Unmarshal(src, &file); err != nil {
		return nil, err
	}
	if file.Kind != yaml.DocumentNode || len(file.Content) != 1 || file.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the document is not a YAML mapping")
	}
	return &apiDoc{root: file.Content[0]}, nil
}

func (d *apiDoc) problem(format string, args ...any) {
	d.problems = append(d.problems, fmt.Sprintf(format, args...))
}

// pair is one key and value of a mapping.
type pair struct {
	key   string
	value *yaml.Node
}

// pairs lists the entries of a mapping node in order (nil for other nodes).
func pairs(n *yaml.Node) []pair {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, pair{n.Content[i].Value, n.Content[i+1]})
	}
	return out
}

// raw returns the value of key in the mapping n, without resolving a $ref.
func raw(n *yaml.Node, key string) *yaml.Node {
	for _, p := range pairs(n) {
		if p.key == key {
			return p.value
		}
	}
	return nil
}

// refOf returns the $ref of n, "" when it has none.
func refOf(n *yaml.Node) string {
	if r := raw(n, "$ref"); r != nil {
		return r.Value
	}
	return ""
}

// resolve follows n's $refs (local JSON pointers) to the node they name.
func (d *apiDoc) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; i < 16 && n != nil; i++ {
		ref := refOf(n)
		if ref == "" {
			return n
		}
		if !strings.HasPrefix(ref, "#/") {
			d.problem("%s: only local $refs are rendered", ref)
			return nil
		}
		next := d.root
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
			next = raw(next, part)
		}
		if next == nil {
			d.problem("%s: the $ref names nothing", ref)
		}
		n = next
	}
	return n
}

// get returns the value of key in the mapping n (resolved), resolved.
func (d *apiDoc) get(n *yaml.Node, keys ...string) *yaml.Node {
	for _, key := range keys {
		n = d.resolve(raw(d.resolve(n), key))
	}
	return n
}

// str returns the scalar at key of n, "" when there is none.
func (d *apiDoc) str(n *yaml.Node, keys ...string) string {
	v := d.get(n, keys...)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

// schemaName returns the name of the schema n refers to, "" when n is no
// $ref to components/schemas.
func schemaName(n *yaml.Node) string {
	name, ok := strings.CutPrefix(refOf(n), "#/components/schemas/")
	if !ok {
		return ""
	}
	return name
}

// slug is the anchor GitHub gives a heading (as headingSlugs computes it).
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cell makes text fit one cell of a Markdown table.
func cell(text string) string {
	text = strings.TrimSpace(text)
	text = strings.ReplaceAll(text, "|", `\|`)
	return strings.Join(strings.Fields(text), " ")
}

// methods are the operations of a path item, in the order rendered.
var methods = []string{"get", "head", "post", "put", "patch", "delete", "options", "trace"}

// operation is one method of one path.
type operation struct {
	method, path string
	item, op     *yaml.Node
}

func (o operation) heading() string { return "`" + strings.ToUpper(o.method) + " " + o.path + "`" }

// operations lists every operation in the document's order.
func (d *apiDoc) operations() []operation {
	var ops []operation
	for _, p := range pairs(raw(d.root, "paths")) {
		item := d.resolve(p.value)
		for _, e := range pairs(item) {
			if slices.Contains(methods, e.key) {
				ops = append(ops, operation{method: e.key, path: p.key, item: item, op: e.value})
			}
		}
	}
	return ops
}

// secured reports whether the operation takes a token.
func (d *apiDoc) secured(o operation) bool {
	sec := raw(o.op, "security")
	if sec == nil {
		sec = raw(d.root, "security")
	}
	return sec != nil && len(sec.Content) > 0
}

// parameters lists the operation's parameters, the path item's first,
// resolved; an operation's parameter overrides the path item's.
func (d *apiDoc) parameters(o operation) []*yaml.Node {
	var out []*yaml.Node
	for _, list := range []*yaml.Node{raw(o.item, "parameters"), raw(o.op, "parameters")} {
		if list == nil {
			continue
		}
		for _, p := range list.Content {
			p = d.resolve(p)
			if p == nil {
				continue
			}
			out = slices.DeleteFunc(out, func(q *yaml.Node) bool {
				return d.str(q, "name") == d.str(p, "name") && d.str(q, "in") == d.str(p, "in")
			})
			out = append(out, p)
		}
	}
	return out
}

// typeOf describes a schema's type in a few words, linking named schemas.
func (d *apiDoc) typeOf(n *yaml.Node) string {
	if name := schemaName(n); name != "" {
		return "[" + name + "](#" + slug(name) + ")"
	}
	n = d.resolve(n)
	if n == nil {
		return "any"
	}
	for _, key := range []string{"oneOf", "anyOf"} {
		if alts := raw(n, key); alts != nil {
			var names []string
			for _, a := range alts.Content {
				names = append(names, d.typeOf(a))
			}
			return strings.Join(names, " or ")
		}
	}
	var types []string
	if t := raw(n, "type"); t != nil {
		if t.Kind == yaml.SequenceNode {
			for _, c := range t.Content {
				types = append(types, c.Value)
			}
		} else {
			types = []string{t.Value}
		}
	} else if raw(n, "properties") != nil || raw(n, "allOf") != nil {
		types = []string{"object"}
	}
	if len(types) == 0 {
		return "any"
	}
	for i, t := range types {
		switch t {
		case "array":
			types[i] = "array of " + d.typeOf(raw(n, "items"))
		case "object":
			if ap := raw(n, "additionalProperties"); ap != nil && ap.Kind == yaml.MappingNode {
				types[i] = "map of " + d.typeOf(ap)
			}
		default:
			if f := d.str(n, "format"); f != "" {
				types[i] = t + " (" + f + ")"
			}
		}
	}
	return strings.Join(types, " or ")
}

// constraints describes what a schema allows beyond its type.
func (d *apiDoc) constraints(n *yaml.Node) string {
	n = d.resolve(n)
	var parts []string
	if e := raw(n, "enum"); e != nil {
		var vals []string
		for _, v := range e.Content {
			if v.Value == "" {
				vals = append(vals, `""`)
			} else {
				vals = append(vals, "`"+v.Value+"`")
			}
		}
		parts = append(parts, "One of "+strings.Join(vals, ", ")+".")
	}
	if v := d.str(n, "pattern"); v != "" {
		parts = append(parts, "Pattern `"+v+"`.")
	}
	for _, r := range []struct{ min, max, unit string }{
		{"minimum", "maximum", ""}, {"minLength", "maxLength", " characters"}, {"minItems", "maxItems", " items"},
	} {
		lo, hi := d.str(n, r.min), d.str(n, r.max)
		switch {
		case lo != "" && hi != "":
			parts = append(parts, "From "+lo+" to "+hi+r.unit+".")
		case lo != "":
			parts = append(parts, "At least "+lo+r.unit+".")
		case hi != "":
			parts = append(parts, "At most "+hi+r.unit+".")
		}
	}
	if v := d.str(n, "default"); v != "" {
		parts = append(parts, "Default `"+v+"`.")
	}
	return strings.Join(parts, " ")
}

// field is one row of a fields table.
type field struct {
	name, typ, desc string
	required        bool
}

// properties lists an object schema's properties in order, allOf parts
// merged, with the names it requires.
func (d *apiDoc) properties(n *yaml.Node) ([]pair, []string) {
	n = d.resolve(n)
	var props []pair
	var required []string
	if all := raw(n, "allOf"); all != nil {
		for _, part := range all.Content {
			p, r := d.properties(part)
			props = append(props, p...)
			required = append(required, r...)
		}
	}
	props = append(props, pairs(raw(n, "properties"))...)
	if r := raw(n, "required"); r != nil {
		for _, c := range r.Content {
			required = append(required, c.Value)
		}
	}
	return props, required
}

// fields flattens a schema's properties: nested anonymous objects as
// `resource.account`, arrays of them as `associations[].users`; named
// schemas are linked, not repeated.
func (d *apiDoc) fields(n *yaml.Node, prefix string) []field {
	props, required := d.properties(n)
	var out []field
	for _, p := range props {
		s := d.resolve(p.value)
		desc := strings.TrimSpace(d.str(s, "description") + " " + d.constraints(s))
		out = append(out, field{
			name: prefix + p.key, typ: d.typeOf(p.value), desc: desc,
			required: slices.Contains(required, p.key),
		})
		if schemaName(p.value) != "" {
			continue
		}
		if raw(s, "properties") != nil {
			out = append(out, d.fields(s, prefix+p.key+".")...)
		}
		if items := raw(s, "items"); items != nil && schemaName(items) == "" && raw(d.resolve(items), "properties") != nil {
			out = append(out, d.fields(items, prefix+p.key+"[].")...)
		}
	}
	return out
}

// writeFields writes a fields table.
func writeFields(b *strings.Builder, fs []field) {
	b.WriteString("| Field | Type | Required | Description |\n|---|---|---|---|\n")
	for _, f := range fs {
		req := ""
		if f.required {
			req = "yes"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", f.name, f.typ, req, cell(f.desc))
	}
	b.WriteString("\n")
}

// paragraph writes text as a Markdown paragraph, followed by a blank line.
func paragraph(b *strings.Builder, text string) {
	if text = strings.TrimSpace(text); text != "" {
		b.WriteString(text + "\n\n")
	}
}

// statusText is "201 Created", or "default" for the default response.
func statusText(status string) string {
	code, err := strconv.Atoi(status)
	if err != nil {
		return status
	}
	return status + " " + http.StatusText(code)
}

// nodeJSON writes n as JSON, keys in the YAML's order; indent "" writes
// one line.
func nodeJSON(b *bytes.Buffer, n *yaml.Node, indent, at string) error {
	nl := func(level string) {
		if indent != "" {
			b.WriteString("\n" + level)
		}
	}
	switch n.Kind {
	case yaml.AliasNode:
		return nodeJSON(b, n.Alias, indent, at)
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteString("{")
		for i, p := range pairs(n) {
			if i > 0 {
				b.WriteString(",")
			}
			nl(at + indent)
			if err := writeString(b, p.key); err != nil {
				return err
			}
			b.WriteString(":")
			if indent != "" {
				b.WriteString(" ")
			}
			if err := nodeJSON(b, p.value, indent, at+indent); err != nil {
				return err
			}
		}
		nl(at)
		b.WriteString("}")
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[")
		for i, c := range n.Content {
			if i > 0 {
				b.WriteString(",")
			}
			nl(at + indent)
			if err := nodeJSON(b, c, indent, at+indent); err != nil {
				return err
			}
		}
		nl(at)
		b.WriteString("]")
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			b.WriteString("null")
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return err
			}
			out, err := json.Marshal(v)
			if err != nil {
				return err
			}
			b.Write(out)
		default:
			return writeString(b, n.Value)
		}
	default:
		return fmt.Errorf("line %d: not a JSON value", n.Line)
	}
	return nil
}

// writeString writes s as a JSON string, without escaping <, > and &.
func writeString(b *bytes.Buffer, s string) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// exampleJSON renders an example value as JSON.
func (d *apiDoc) exampleJSON(n *yaml.Node, indent string) string {
	var b bytes.Buffer
	if err := nodeJSON(&b, n, indent, ""); err != nil {
		d.problem("example at line %d: %v", n.Line, err)
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// urlSafe matches a query value that needs no encoding.
var urlSafe = regexp.MustCompile(`^[A-Za-z0-9._~-]*$`)

// namedExample returns the value of the example called name of a node
// with `examples` (a parameter or a media type), nil when it has none.
func (d *apiDoc) namedExample(n *yaml.Node, name string) *yaml.Node {
	ex := d.get(n, "examples", name)
	if ex == nil {
		return nil
	}
	return raw(ex, "value")
}

// defaultExample returns the value a parameter takes when the exchange
// names none: its first example, else its example.
func (d *apiDoc) defaultExample(p *yaml.Node) *yaml.Node {
	if ps := pairs(d.get(p, "examples")); len(ps) > 0 {
		return raw(d.resolve(ps[0].value), "value")
	}
	if ex := raw(p, "example"); ex != nil {
		return ex
	}
	return d.get(p, "schema", "example")
}

// strings is a scalar or a sequence of scalars as a list.
func (d *apiDoc) strings(n *yaml.Node) []string {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, c.Value)
	}
	return out
}

// exchange is one example request and its answer.
type exchange struct {
	name, summary string
	body          *yaml.Node // request body, nil for none
	status        string     // "" when no response names this example
	response      *yaml.Node // the response object
	answer        *yaml.Node // the answer's body, nil for none
	answerType    string     // its media type
	noToken       bool
	caller        string   // x-caller: the subject of the token it is sent with
	after         []string // x-after: exchanges it must follow ("POST /v1/path name")
	filesFrom     string   // x-files-from: the directory whose files the body also sends
}

// exchanges lists the operation's example exchanges, in the order their
// names first appear: request body examples, then responses by status.
// The shared error response's examples belong to the Errors section.
func (d *apiDoc) exchanges(o operation) []exchange {
	var out []exchange
	index := map[string]int{}
	add := func(name string) *exchange {
		if i, ok := index[name]; ok {
			return &out[i]
		}
		index[name] = len(out)
		out = append(out, exchange{name: name})
		return &out[len(out)-1]
	}
	media := func(n *yaml.Node) (string, *yaml.Node) {
		ps := pairs(d.get(n, "content"))
		if len(ps) == 0 {
			return "", nil
		}
		return ps[0].key, d.resolve(ps[0].value)
	}
	if _, m := media(d.get(o.op, "requestBody")); m != nil {
		for _, e := range pairs(d.get(m, "examples")) {
			x := add(e.key)
			ex := d.resolve(e.value)
			x.summary, x.body = d.str(ex, "summary"), raw(ex, "value")
			x.filesFrom = d.str(ex, "x-files-from")
		}
		if ex := raw(m, "example"); ex != nil {
			add("").body = ex
		}
	}
	for _, r := range pairs(raw(o.op, "responses")) {
		if refOf(r.value) == "#/components/responses/Error" {
			continue
		}
		resp := d.resolve(r.value)
		typ, m := media(resp)
		examples := pairs(d.get(m, "examples"))
		if ex := raw(m, "example"); ex != nil {
			examples = append(examples, pair{"", &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Value: "value"}, ex,
			}}})
		}
		for _, e := range examples {
			x := add(e.key)
			if x.status != "" {
				d.problem("%s: example %q answers twice (%s and %s)", o.heading(), e.key, x.status, r.key)
				continue
			}
			ex := d.resolve(e.value)
			if x.summary == "" {
				x.summary = d.str(ex, "summary")
			}
			x.status, x.response, x.answer, x.answerType = r.key, resp, raw(ex, "value"), typ
			x.noToken = d.str(ex, "x-no-token") == "true"
			x.caller = d.str(ex, "x-caller")
			x.after = d.strings(raw(ex, "x-after"))
		}
	}
	if !slices.ContainsFunc(out, func(x exchange) bool { return strings.HasPrefix(x.status, "2") }) {
		// No successful example: the request from the parameters' first
		// examples, answered by the first bodiless success (such as 204).
		for _, r := range pairs(raw(o.op, "responses")) {
			if _, m := media(d.resolve(r.value)); m == nil && strings.HasPrefix(r.key, "2") {
				out = append([]exchange{{status: r.key, response: d.resolve(r.value)}}, out...)
				break
			}
		}
	}
	for i := range out {
		if out[i].caller == "" {
			out[i].caller = d.str(o.op, "x-caller")
		}
	}
	for _, x := range out {
		if x.status == "" {
			d.problem("%s: example %q has no answer: give one of its responses an example of that name", o.heading(), x.name)
		}
	}
	if len(out) == 0 {
		d.problem("%s: no example: give its request body or a response an example", o.heading())
	}
	return out
}

// param is one parameter value of an example request.
type param struct{ name, value string }

// exampleRequest is the request of one exchange, as curl shows it and as
// the replay (apidoc_examples_test.go) sends it.
type exampleRequest struct {
	method, path string     // path with its parameters filled in
	query        []param    // in the order of the parameters
	headers      []param    // e.g. Idempotency-Key
	body         *yaml.Node // nil for none
	token        bool       // sent with the caller's token
}

// request builds the request of one exchange: each parameter takes the
// example of the exchange's name; a path or required query parameter
// without one takes its first example.
func (d *apiDoc) request(o operation, x exchange) exampleRequest {
	r := exampleRequest{method: strings.ToUpper(o.method), path: o.path, body: x.body, token: d.secured(o) && !x.noToken}
	for _, p := range d.parameters(o) {
		name, in := d.str(p, "name"), d.str(p, "in")
		v := d.namedExample(p, x.name)
		if v == nil && (in == "path" || (in == "query" && d.str(p, "required") == "true")) {
			v = d.defaultExample(p)
		}
		if v == nil {
			if d.str(p, "required") == "true" {
				d.problem("%s: parameter %s has no example", o.heading(), name)
			}
			continue
		}
		switch in {
		case "path":
			r.path = strings.ReplaceAll(r.path, "{"+name+"}", v.Value)
		case "query":
			r.query = append(r.query, param{name, v.Value})
		case "header":
			r.headers = append(r.headers, param{name, v.Value})
		}
	}
	return r
}

// errorExample is an example of the shared error response, which belongs
// to no operation: `x-request: "POST /v1/decisions/"` names the request
// that gets it, `x-status` its status and `x-caller`, if any, whose token
// the request carries.
type errorExample struct {
	x   exchange
	req exampleRequest
}

// errorExamples lists the examples of the shared error response.
func (d *apiDoc) errorExamples() []errorExample {
	var out []errorExample
	for _, e := range pairs(d.get(raw(d.root, "components"), "responses", "Error", "content", "application/json", "examples")) {
		ex := d.resolve(e.value)
		x := exchange{
			name: e.key, summary: d.str(ex, "summary"), status: d.str(ex, "x-status"),
			answer: raw(ex, "value"), answerType: "application/json", caller: d.str(ex, "x-caller"),
		}
		method, path, ok := strings.Cut(d.str(ex, "x-request"), " ")
		if !ok || x.status == "" {
			d.problem("the error example %q needs x-request (\"METHOD /path\") and x-status", e.key)
		}
		out = append(out, errorExample{x, exampleRequest{method: method, path: path, token: x.caller != ""}})
	}
	return out
}

// curl writes the command line of one exchange.
func (d *apiDoc) curl(b *strings.Builder, server string, o operation, x exchange) {
	r := d.request(o, x)
	var query, urlencoded []string
	for _, q := range r.query {
		if urlSafe.MatchString(q.value) {
			query = append(query, q.name+"="+q.value)
		} else {
			urlencoded = append(urlencoded, q.name+"="+q.value)
		}
	}
	url := server + r.path
	if len(query) > 0 {
		url += "?" + strings.Join(query, "&")
	}
	if strings.ContainsAny(url, "?&") {
		url = shellQuote(url)
	}
	lines := []string{"curl -s"}
	switch {
	case o.method == "get" && len(urlencoded) > 0:
		lines[0] += " -G"
	case o.method != "get":
		lines[0] += " -X " + strings.ToUpper(o.method)
	}
	lines[0] += " " + url
	if r.token {
		lines = append(lines, `-H "Authorization: Bearer $TOKEN"`)
	}
	for _, h := range r.headers {
		lines = append(lines, "-H "+shellQuote(h.name+": "+h.value))
	}
	for _, q := range urlencoded {
		lines = append(lines, "--data-urlencode "+shellQuote(q))
	}
	if r.body != nil {
		lines = append(lines, "-d "+shellQuote(d.exampleJSON(r.body, "")))
	}
	b.WriteString("```sh\n" + strings.Join(lines, " \\\n  ") + "\n```\n\n")
}

// answer writes the answer of one exchange.
func (d *apiDoc) answer(b *strings.Builder, x exchange) {
	if x.status == "" {
		return
	}
	if x.answer == nil {
		fmt.Fprintf(b, "Answer: `%s`, no body.\n\n", statusText(x.status))
		return
	}
	fmt.Fprintf(b, "Answer: `%s`\n\n", statusText(x.status))
	if strings.HasSuffix(x.answerType, "json") {
		b.WriteString("```json\n" + d.exampleJSON(x.answer, "  ") + "\n```\n\n")
		return
	}
	b.WriteString("```text\n" + strings.TrimRight(x.answer.Value, "\n") + "\n```\n\n")
}

// body describes a request or response body: a link to its named schema,
// or a fields table of an anonymous one.
func (d *apiDoc) body(b *strings.Builder, label string, n *yaml.Node) {
	ps := pairs(d.get(n, "content"))
	if len(ps) == 0 {
		return
	}
	typ, m := ps[0].key, d.resolve(ps[0].value)
	schema := raw(m, "schema")
	if name := schemaName(schema); name != "" && label != "Request body" {
		fmt.Fprintf(b, "%s: `%s`, [%s](#%s).\n\n", label, typ, name, slug(name))
		return
	}
	if fs := d.fields(schema, ""); len(fs) > 0 {
		extra := ""
		if name := schemaName(schema); name != "" {
			extra = fmt.Sprintf(" ([%s](#%s))", name, slug(name))
		}
		fmt.Fprintf(b, "%s: `%s`%s\n\n", label, typ, extra)
		writeFields(b, fs)
		return
	}
	fmt.Fprintf(b, "%s: `%s`, %s.\n\n", label, typ, d.typeOf(schema))
}

// renderOperation writes one operation's section.
func (d *apiDoc) renderOperation(b *strings.Builder, server string, o operation) {
	b.WriteString("### " + o.heading() + "\n\n")
	paragraph(b, d.str(o.op, "summary"))
	paragraph(b, d.str(o.item, "description"))
	paragraph(b, d.str(o.op, "description"))
	if d.secured(o) {
		b.WriteString("Token: required ([Authorization](#authorization)).\n\n")
	} else {
		b.WriteString("Token: none.\n\n")
	}
	if params := d.parameters(o); len(params) > 0 {
		b.WriteString("| Parameter | In | Type | Required | Description |\n|---|---|---|---|---|\n")
		for _, p := range params {
			name, in := d.str(p, "name"), d.str(p, "in")
			desc := d.str(p, "description")
			if in == "header" {
				desc = "See [" + name + "](#" + slug(name) + ")."
			}
			req := ""
			if d.str(p, "required") == "true" {
				req = "yes"
			}
			fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", name, in, d.typeOf(raw(p, "schema")), req,
				cell(desc+" "+d.constraints(raw(p, "schema"))))
		}
		b.WriteString("\n")
	}
	if rb := d.get(o.op, "requestBody"); rb != nil {
		label := "Request body"
		if d.str(rb, "required") != "true" {
			label += " (optional)"
		}
		d.body(b, label, rb)
	}
	b.WriteString("Responses:\n\n")
	for _, r := range pairs(raw(o.op, "responses")) {
		resp := d.resolve(r.value)
		status := "`" + statusText(r.key) + "`"
		if r.key == "default" {
			status = "Any other status (`default`)"
		}
		desc := strings.Join(strings.Fields(d.str(resp, "description")), " ")
		if refOf(r.value) == "#/components/responses/Error" {
			desc = "An [error](#errors)."
		}
		fmt.Fprintf(b, "- %s: %s", status, desc)
		var hs []string
		for _, h := range pairs(raw(resp, "headers")) {
			hs = append(hs, "[`"+h.key+"`](#"+slug(h.key)+")")
		}
		if len(hs) > 0 {
			b.WriteString(" Headers: " + strings.Join(hs, ", ") + ".")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	for _, r := range pairs(raw(o.op, "responses")) {
		if refOf(r.value) == "#/components/responses/Error" {
			continue
		}
		resp := d.resolve(r.value)
		if name := schemaName(raw(d.get(resp, "content", "application/json"), "schema")); name == "Error" || name == "OPAError" {
			continue
		}
		d.body(b, "`"+r.key+"` body", resp)
	}
	for _, x := range d.exchanges(o) {
		title := x.summary
		if title == "" {
			title = "Example"
		} else {
			title = "Example: " + title
		}
		b.WriteString("**" + strings.TrimSuffix(title, ".") + "**\n\n")
		d.curl(b, server, o, x)
		d.answer(b, x)
	}
}

// renderCodes writes the table of an error code enum with its
// x-enumDescriptions.
func (d *apiDoc) renderCodes(b *strings.Builder, code *yaml.Node) {
	descs := d.get(code, "x-enumDescriptions")
	b.WriteString("| Code | Status and meaning |\n|---|---|\n")
	for _, v := range d.get(code, "enum").Content {
		desc := d.str(descs, v.Value)
		if desc == "" {
			d.problem("error code %s has no x-enumDescriptions entry", v.Value)
		}
		fmt.Fprintf(b, "| `%s` | %s |\n", v.Value, cell(desc))
	}
	b.WriteString("\n")
}

// render writes the whole reference page.
func (d *apiDoc) render() string {
	var b strings.Builder
	server := d.str(raw(d.root, "servers").Content[0], "url")
	ops := d.operations()
	comps := raw(d.root, "components")

	b.WriteString("<!-- Generated from adapters/httpapi/openapi.yaml by docs/apidoc_test.go: do not edit.\n" +
		"     Change openapi.yaml, then run: go test ./docs -run TestAPIReferenceIsUpToDate -update -->\n\n")
	b.WriteString("# " + d.str(d.root, "info", "title") + " HTTP API\n\n")
	b.WriteString("This page is generated from [adapters/httpapi/openapi.yaml](../adapters/httpapi/openapi.yaml), " +
		"the machine-readable contract (OpenAPI " + d.str(d.root, "openapi") + "), which the server also serves at " +
		"`GET /v1/openapi.yaml`. Examples assume the server of `make run`, `" + server + "`.\n\n")
	paragraph(&b, d.str(d.root, "info", "description"))

	b.WriteString("## Contents\n\n")
	b.WriteString("- [Authentication](#authentication), [Errors](#errors), [Headers](#headers), [Schemas](#schemas)\n")
	for _, tag := range pairsOfTags(d) {
		fmt.Fprintf(&b, "- [%s](#%s)\n", tag, slug(tag))
		for _, o := range ops {
			if d.tagOf(o) == tag {
				fmt.Fprintf(&b, "  - [%s](#%s): %s\n", o.heading(), slug(o.heading()), strings.TrimSuffix(cell(d.str(o.op, "summary")), "."))
			}
		}
	}
	b.WriteString("\n")

	b.WriteString("## Authentication\n\n")
	paragraph(&b, d.str(comps, "securitySchemes", "bearer", "description"))
	var open []string
	for _, o := range ops {
		if !d.secured(o) {
			open = append(open, o.heading())
		}
	}
	paragraph(&b, "Without a token: "+strings.Join(open, ", ")+".")

	b.WriteString("## Errors\n\n")
	errSchema := d.get(comps, "schemas", "Error")
	paragraph(&b, d.str(errSchema, "description"))
	paragraph(&b, d.str(comps, "responses", "Error", "description"))
	writeFields(&b, d.fields(errSchema, ""))
	b.WriteString("### Error codes\n\n")
	d.renderCodes(&b, d.get(errSchema, "properties", "error", "properties", "code"))
	for _, e := range d.errorExamples() {
		b.WriteString("**Example: " + e.x.summary + "**\n\n")
		if e.x.status != "" {
			fmt.Fprintf(&b, "Answer: `%s`\n\n", statusText(e.x.status))
		}
		b.WriteString("```json\n" + d.exampleJSON(e.x.answer, "  ") + "\n```\n\n")
	}
	b.WriteString("### The Data API's errors\n\n")
	opaSchema := d.get(comps, "schemas", "OPAError")
	paragraph(&b, d.str(opaSchema, "description"))
	writeFields(&b, d.fields(opaSchema, ""))
	d.renderCodes(&b, d.get(opaSchema, "properties", "code"))

	b.WriteString("## Headers\n\n")
	b.WriteString("### Authorization\n\nRequest. `Bearer <JWT>`: see [Authentication](#authentication).\n\n")
	idem := d.get(comps, "parameters", "idempotencyKey")
	b.WriteString("### " + d.str(idem, "name") + "\n\n")
	paragraph(&b, "Request, on writes. "+d.typeOf(raw(idem, "schema"))+". "+d.constraints(raw(idem, "schema")))
	paragraph(&b, d.str(idem, "description"))
	for _, h := range pairs(raw(comps, "headers")) {
		b.WriteString("### " + h.key + "\n\n")
		paragraph(&b, "Response. "+d.str(h.value, "description"))
	}

	for _, tag := range pairsOfTags(d) {
		b.WriteString("## " + tag + "\n\n")
		for _, t := range raw(d.root, "tags").Content {
			if d.str(t, "name") == tag {
				paragraph(&b, d.str(t, "description"))
			}
		}
		for _, o := range ops {
			if d.tagOf(o) == tag {
				d.renderOperation(&b, server, o)
			}
		}
	}

	b.WriteString("## Schemas\n\n")
	b.WriteString("The named objects of the bodies above.\n\n")
	for _, s := range pairs(raw(comps, "schemas")) {
		b.WriteString("### " + s.key + "\n\n")
		paragraph(&b, d.str(s.value, "description"))
		if fs := d.fields(s.value, ""); len(fs) > 0 {
			writeFields(&b, fs)
		} else {
			paragraph(&b, d.typeOf(s.value)+".")
		}
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// pairsOfTags lists the document's tag names in order.
func pairsOfTags(d *apiDoc) []string {
	var names []string
	if t := raw(d.root, "tags"); t != nil {
		for _, c := range t.Content {
			names = append(names, d.str(c, "name"))
		}
	}
	return names
}

// tagOf is the operation's first tag; an operation without one is a
// problem (it would appear nowhere).
func (d *apiDoc) tagOf(o operation) string {
	tags := raw(o.op, "tags")
	if tags == nil || len(tags.Content) == 0 {
		d.problem("%s: no tag: give it one of the document's tags", o.heading())
		return ""
	}
	if !slices.Contains(pairsOfTags(d), tags.Content[0].Value) {
		d.problem("%s: tag %q is not in the document's tags", o.heading(), tags.Content[0].Value)
	}
	return tags.Content[0].Value
}
