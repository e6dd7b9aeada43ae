package docs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// How the replay (apidoc_examples_test.go) tells a drifted answer from one
// that differs only by what differs on every run.

// varying matches the values that differ on every run, by shape: a ULID
// (request, decision, audit and event ids), an RFC 3339 time, a policy
// revision (16 hex digits).
var varying = regexp.MustCompile(`\b(?:[0-9A-HJKMNP-TV-Z]{26}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})|[0-9a-f]{16})\b`)

// shapes are the patterns of varying's kinds.
var shapes = map[string]string{
	"id":       `[0-9A-HJKMNP-TV-Z]{26}`,
	"time":     `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})`,
	"revision": `[0-9a-f]{16}`,
}

// kindOf says which kind of varying value s (a match of varying) is.
func kindOf(s string) string {
	switch {
	case len(s) == 26 && !strings.Contains(s, "-"):
		return "id"
	case len(s) == 16 && !strings.Contains(s, "-"):
		return "revision"
	default:
		return "time"
	}
}

// substitute replaces the documented ids and revisions in text by the ones
// the server gave for them. A documented id that no earlier answer gave is
// a problem: the request would name an object that does not exist.
func (r *replayer) substitute(res *result, text string) string {
	return varying.ReplaceAllStringFunc(text, func(v string) string {
		if kindOf(v) == "time" {
			return v
		}
		if real, ok := r.ids[v]; ok {
			return real
		}
		if kindOf(v) == "id" {
			res.problems = append(res.problems, fmt.Sprintf("the request names %s, which no earlier answer gave: "+
				"document the exchange that creates it first (or x-after it)", v))
		}
		return v
	})
}

// documented replaces the ids and revisions the server gave in text by
// the documented ones they stand for.
func (r *replayer) documented(text string) string {
	return varying.ReplaceAllStringFunc(text, func(v string) string {
		if d, ok := r.docIDs[v]; ok {
			return d
		}
		return v
	})
}

// comparison compares one documented answer with the server's.
type comparison struct {
	r     *replayer
	sent  map[string]bool // times the request sent
	diffs []string
}

func (c *comparison) diff(path, format string, args ...any) {
	if path == "" {
		path = "body"
	}
	c.diffs = append(c.diffs, path+": "+fmt.Sprintf(format, args...))
}

// node compares doc with got at path and returns the answer to document:
// got, with the documented values kept where they fit.
func (c *comparison) node(path string, doc, got *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.AliasNode {
		doc = doc.Alias
	}
	if doc.Kind != got.Kind || doc.Kind == yaml.ScalarNode && doc.ShortTag() != got.ShortTag() {
		c.diff(path, "documented %s, answered %s", c.r.doc.exampleJSON(doc, ""), c.r.doc.exampleJSON(got, ""))
		return c.documentedNode(got)
	}
	switch doc.Kind {
	case yaml.MappingNode:
		out := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		docFields := map[string]*yaml.Node{}
		for _, p := range pairs(doc) {
			docFields[p.key] = p.value
		}
		for _, p := range pairs(got) {
			at := strings.TrimPrefix(path+"."+p.key, ".")
			v := c.documentedNode(p.value)
			if d, ok := docFields[p.key]; ok {
				v = c.node(at, d, p.value)
				delete(docFields, p.key)
			} else {
				c.diff(at, "answered %s, not documented", c.r.doc.exampleJSON(p.value, ""))
			}
			out.Content = append(out.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.key}, v)
		}
		for _, p := range pairs(doc) {
			if _, missing := docFields[p.key]; missing {
				c.diff(strings.TrimPrefix(path+"."+p.key, "."), "documented %s, not answered", c.r.doc.exampleJSON(p.value, ""))
			}
		}
		return out
	case yaml.SequenceNode:
		out := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if len(doc.Content) != len(got.Content) {
			c.diff(path, "documented %d items, answered %d", len(doc.Content), len(got.Content))
		}
		for i, g := range got.Content {
			if i < len(doc.Content) {
				out.Content = append(out.Content, c.node(fmt.Sprintf("%s[%d]", path, i), doc.Content[i], g))
			} else {
				out.Content = append(out.Content, c.documentedNode(g))
			}
		}
		return out
	default:
		if doc.ShortTag() == "!!str" {
			if why := c.r.match(doc.Value, got.Value, c.sent); why != "" {
				c.diff(path, "documented %q, answered %q%s", doc.Value, got.Value, why)
				return c.documentedNode(got)
			}
			return doc
		}
		if doc.Value != got.Value {
			c.diff(path, "documented %s, answered %s", doc.Value, got.Value)
			return got
		}
		return doc
	}
}

// documentedNode is got with the server's ids and revisions written as
// the documented ones they stand for.
func (c *comparison) documentedNode(got *yaml.Node) *yaml.Node {
	out := *got
	if got.Kind == yaml.ScalarNode {
		out.Value = c.r.documented(got.Value)
		return &out
	}
	out.Content = make([]*yaml.Node, len(got.Content))
	for i, n := range got.Content {
		out.Content[i] = c.documentedNode(n)
	}
	return &out
}

// match reports why got is not doc up to the values that vary by run ("" when
// it is). The text around them must be the same; each documented id or
// revision must stand for the same one of the server's throughout the
// story, one to one; a time the request sent must come back as it is. A
// match records the ids it pairs.
func (r *replayer) match(doc, got string, sent map[string]bool) string {
	var pattern strings.Builder
	var tokens []string
	last := 0
	pattern.WriteString("^")
	for _, loc := range varying.FindAllStringIndex(doc, -1) {
		pattern.WriteString(regexp.QuoteMeta(doc[last:loc[0]]))
		v := doc[loc[0]:loc[1]]
		if kindOf(v) == "time" && sent[v] {
			pattern.WriteString(regexp.QuoteMeta(v))
		} else {
			pattern.WriteString("(" + shapes[kindOf(v)] + ")")
			tokens = append(tokens, v)
		}
		last = loc[1]
	}
	pattern.WriteString(regexp.QuoteMeta(doc[last:]) + "$")
	m := regexp.MustCompile(pattern.String()).FindStringSubmatch(got)
	if m == nil {
		return " (differs beyond ids, times and revisions)"
	}
	pairs := map[string]string{}
	for i, d := range tokens {
		g := m[i+1]
		if kindOf(d) == "time" {
			continue
		}
		if real, ok := r.ids[d]; ok && real != g {
			return fmt.Sprintf(" (%s stands for %s elsewhere in the examples)", d, real)
		}
		if other, ok := r.docIDs[g]; ok && other != d {
			return fmt.Sprintf(" (the server's %s is documented as %s elsewhere)", g, other)
		}
		if p, ok := pairs[d]; ok && p != g {
			return fmt.Sprintf(" (%s stands for both %s and %s)", d, p, g)
		}
		pairs[d] = g
	}
	for d, g := range pairs {
		r.ids[d], r.docIDs[g] = g, d
	}
	return ""
}

// answerEdit is a documented answer to rewrite.
type answerEdit struct {
	s      step
	answer *yaml.Node
}

// rewriteAnswers writes each edit's answer, as one line of JSON, where its
// exchange's answer is in src: each answer must be a value that fills the
// rest of its line.
func rewriteAnswers(src []byte, edits []answerEdit) ([]byte, error) {
	lines := strings.Split(string(src), "\n")
	for _, e := range edits {
		old := e.s.x.answer
		i, col := old.Line-1, old.Column-1
		var onLine yaml.Node
		if err := yaml.Unmarshal([]byte(lines[i][col:]), &onLine); err != nil || len(onLine.Content) != 1 ||
			!sameJSON(onLine.Content[0], old) {
			return nil, fmt.Errorf("line %d: the answer of %s, example %q, is not written on one line: fix it by hand", old.Line, e.s.heading(), e.s.x.name)
		}
		var b bytes.Buffer
		if err := flowJSON(&b, e.answer); err != nil {
			return nil, err
		}
		lines[i] = lines[i][:col] + b.String()
	}
	return []byte(strings.Join(lines, "\n")), nil
}

func sameJSON(a, b *yaml.Node) bool {
	var x, y bytes.Buffer
	return nodeJSON(&x, a, "", "") == nil && nodeJSON(&y, b, "", "") == nil && x.String() == y.String()
}

// flowJSON writes n as JSON on one line, spaced as openapi.yaml writes its
// examples: {"a": 1, "b": [2, 3]}.
func flowJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteString("{")
		for i, p := range pairs(n) {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeString(b, p.key); err != nil {
				return err
			}
			b.WriteString(": ")
			if err := flowJSON(b, p.value); err != nil {
				return err
			}
		}
		b.WriteString("}")
	case yaml.SequenceNode:
		b.WriteString("[")
		for i, c := range n.Content {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := flowJSON(b, c); err != nil {
				return err
			}
		}
		b.WriteString("]")
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" {
			return writeString(b, n.Value)
		}
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
		return fmt.Errorf("line %d: not a JSON value", n.Line)
	}
	return nil
}
