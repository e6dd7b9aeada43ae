// Package docs holds no code: its test keeps the repository's own reference
// pages honest. docs/RULES.md explains every rule (R1...) the code and tests
// cite, and links each one to the Rego or Go that implements it and to the
// tests that prove it; this test fails when a citation has no section, when
// a link points at a file that is not there, when a link names a rule or
// function its file does not define, or when any file sends a reader to a
// directory outside the repository.
package docs

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// rulesPage is the page of the rules, relative to the repository root.
const rulesPage = "docs/RULES.md"

var (
	// ruleCitation is a rule number as code, tests and docs cite it: R7, R39a.
	ruleCitation = regexp.MustCompile(`\bR[1-9][0-9]*a?\b`)
	// ruleHeading is the heading of a rule's section in rulesPage.
	ruleHeading = regexp.MustCompile(`^#{2,4} (R[1-9][0-9]*a?)\b`)
	// mdLink is an inline Markdown link: [text](target).
	mdLink = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
	// codeSpan is one backticked token of a link text.
	codeSpan = regexp.MustCompile("`([^`]+)`")
)

// citingExtensions are the files whose rule citations must resolve.
var citingExtensions = []string{".go", ".rego", ".md", ".yaml", ".yml"}

// TestEveryCitedRuleHasASection: every R-number cited in the repository's
// code, tests and docs has its section in docs/RULES.md, so a reader who
// meets "R38" anywhere finds what it means.
func TestEveryCitedRuleHasASection(t *testing.T) {
	root := repoRoot(t)
	sections := ruleSections(t, root)
	for _, name := range repoFiles(t, root) {
		if !slices.Contains(citingExtensions, path.Ext(name)) {
			continue
		}
		forEachLine(t, root, name, func(n int, line string) {
			for _, rule := range ruleCitation.FindAllString(line, -1) {
				if _, ok := sections[rule]; !ok {
					t.Errorf("%s:%d cites %s, which %s has no section for: add one (heading \"### %s ...\")",
						name, n, rule, rulesPage, rule)
				}
			}
		})
	}
}

// TestEveryRuleLinksItsCodeAndTests: each rule's section links at least one
// file that implements it and at least one test that proves it.
func TestEveryRuleLinksItsCodeAndTests(t *testing.T) {
	root := repoRoot(t)
	for rule, body := range ruleSections(t, root) {
		var code, tests int
		for _, m := range mdLink.FindAllStringSubmatch(body, -1) {
			target, _, _ := strings.Cut(m[2], "#")
			if isExternal(target) || !strings.HasPrefix(m[1], "`") || target == "" {
				continue
			}
			if isTestFile(target) {
				tests++
			} else {
				code++
			}
		}
		if code == 0 {
			t.Errorf("%s: section %s links no Rego or Go that implements it", rulesPage, rule)
		}
		if tests == 0 {
			t.Errorf("%s: section %s links no test that proves it", rulesPage, rule)
		}
	}
}

// TestLinksResolve: every relative link of the Markdown pages points at a
// file of the repository (and a heading, when it names an anchor), and in
// docs/RULES.md every code link names its file and only rules, functions,
// types or constants that file defines: [`roles.rego` `allow_reasons`](../policies/roles.rego).
func TestLinksResolve(t *testing.T) {
	root := repoRoot(t)
	for _, name := range repoFiles(t, root) {
		if path.Ext(name) != ".md" {
			continue
		}
		strict := name == rulesPage
		forEachProse(t, root, name, func(n int, line string) {
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				if problem := checkLink(root, name, m[1], m[2], strict); problem != "" {
					t.Errorf("%s:%d: link %s: %s", name, n, m[0], problem)
				}
			}
		})
	}
}

// TestNothingPointsOutsideTheRepository: no file sends a reader to the
// shared directory next to the clone, which a user who clones the
// repository does not have. The CI scripts (.ci/) are not for readers.
func TestNothingPointsOutsideTheRepository(t *testing.T) {
	root := repoRoot(t)
	// Spelled in pieces so that this file does not match itself.
	needles := []string{"../" + "shared", "shared/" + "SPEC", "shared/" + "API"}
	for _, name := range repoFiles(t, root) {
		if strings.HasPrefix(name, ".ci/") {
			continue
		}
		forEachLine(t, root, name, func(n int, line string) {
			for _, needle := range needles {
				if strings.Contains(line, needle) {
					t.Errorf("%s:%d sends readers to %q, which a clone of the repository does not have: "+
						"point at docs/RULES.md (rules) or adapters/httpapi/openapi.yaml (HTTP contract) instead",
						name, n, needle)
					return
				}
			}
		})
	}
}

// checkLink says what is wrong with one link of page, "" when nothing is.
func checkLink(root, page, text, target string, strict bool) string {
	if isExternal(target) {
		return ""
	}
	file, anchor, _ := strings.Cut(target, "#")
	resolved := page
	if file != "" {
		resolved = path.Clean(path.Join(path.Dir(page), file))
	}
	if resolved == ".." || strings.HasPrefix(resolved, "../") || path.IsAbs(file) {
		return "points outside the repository"
	}
	info, err := os.Stat(filepath.Join(root, filepath.FromSlash(resolved)))
	if err != nil {
		return resolved + " does not exist"
	}
	if anchor != "" {
		if path.Ext(resolved) != ".md" {
			return "an anchor (#" + anchor + ") on a file that is not Markdown: name the rule or function in the link text instead"
		}
		slugs, err := headingSlugs(filepath.Join(root, filepath.FromSlash(resolved)))
		if err != nil {
			return err.Error()
		}
		if !slugs[anchor] {
			return resolved + " has no heading #" + anchor
		}
	}
	spans := codeSpan.FindAllStringSubmatch(text, -1)
	if !strings.HasPrefix(text, "`") || len(spans) == 0 {
		return ""
	}
	named := strings.TrimSuffix(spans[0][1], "/")
	if named != path.Base(resolved) && !strings.HasSuffix(resolved, "/"+named) && named != resolved {
		if strict {
			return "the link text names " + named + " but the link points at " + resolved
		}
		return ""
	}
	if len(spans) == 1 {
		return ""
	}
	if info.IsDir() {
		return "names identifiers but points at a directory"
	}
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(resolved)))
	if err != nil {
		return err.Error()
	}
	var missing []string
	for _, span := range spans[1:] {
		if !defines(resolved, src, span[1]) {
			missing = append(missing, span[1])
		}
	}
	if len(missing) > 0 {
		return resolved + " does not define " + strings.Join(missing, ", ")
	}
	return ""
}

// defines reports whether the file at name (with content src) defines ident:
// a rule of a Rego file (a rule head at the start of a line), a function,
// method, type, variable or constant of a Go file; in any other file, ident
// only has to occur in it.
func defines(name string, src []byte, ident string) bool {
	q := regexp.QuoteMeta(ident)
	var patterns []string
	switch path.Ext(name) {
	case ".rego":
		patterns = []string{`(?m)^(default\s+)?` + q + `\b`}
	case ".go":
		patterns = []string{
			`(?m)^func\s+(\([^)]*\)\s*)?` + q + `\b`,
			`(?m)^(type|var|const)\s+` + q + `\b`,
			`(?m)^\t` + q + `(\s+\S+)?\s+=`,
		}
	default:
		return bytes.Contains(src, []byte(ident))
	}
	for _, p := range patterns {
		if regexp.MustCompile(p).Match(src) {
			return true
		}
	}
	return false
}

// ruleSections returns the body of each rule's section of rulesPage, by
// rule number ("R10"): the text from its heading to the next heading of
// the same or a higher level.
func ruleSections(t *testing.T, root string) map[string]string {
	t.Helper()
	sections := map[string]string{}
	var (
		current string
		level   int
		body    strings.Builder
	)
	flush := func() {
		if current != "" {
			sections[current] = body.String()
		}
		current = ""
		body.Reset()
	}
	forEachProse(t, root, rulesPage, func(n int, line string) {
		if l := headingLevel(line); l > 0 && current != "" && l <= level {
			flush()
		}
		if m := ruleHeading.FindStringSubmatch(line); m != nil {
			if _, dup := sections[m[1]]; dup {
				t.Errorf("%s:%d: a second section for %s", rulesPage, n, m[1])
			}
			current, level = m[1], headingLevel(line)
			return
		}
		if current != "" {
			body.WriteString(line)
			body.WriteByte('\n')
		}
	})
	flush()
	if len(sections) == 0 {
		t.Fatalf("%s has no rule sections (headings \"### R1 ...\")", rulesPage)
	}
	return sections
}

// headingLevel is the level of a Markdown heading line, 0 for other lines.
func headingLevel(line string) int {
	n := len(line) - len(strings.TrimLeft(line, "#"))
	if n == 0 || n > 6 || !strings.HasPrefix(line[n:], " ") {
		return 0
	}
	return n
}

// headingSlugs returns the anchors GitHub gives the headings of a Markdown
// file: lower case, punctuation dropped, spaces as hyphens, "-1", "-2" ...
// appended to repeats.
func headingSlugs(file string) (map[string]bool, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	slugs := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		level := headingLevel(line)
		if fenced || level == 0 {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(line[level:])) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			seen[slug]++
			slug += "-" + strconv.Itoa(n)
		} else {
			seen[slug] = 1
		}
		slugs[slug] = true
	}
	return slugs, nil
}

// isExternal reports a link to another site or scheme.
func isExternal(target string) bool {
	return strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:")
}

// isTestFile reports a file of tests: Go and Rego tests, and the store
// conformance suite every Store runs.
func isTestFile(target string) bool {
	return strings.HasSuffix(target, "_test.go") || strings.HasSuffix(target, "_test.rego") ||
		strings.Contains(target, "engine/storetest/")
}

// repoRoot is the repository root: the directory above this one, which
// holds go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the repository root %s holds no go.mod: %v", root, err)
	}
	return root
}

// repoFiles lists the repository's files, slash-separated and relative to
// root: the files git tracks or would track (not ignored), or, without git,
// every file outside .git and the directories .gitignore names.
func repoFiles(t *testing.T, root string) []string {
	t.Helper()
	if out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output(); err == nil {
		var names []string
		for _, name := range strings.Split(string(out), "\x00") {
			if name == "" {
				continue
			}
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(name))); err == nil {
				names = append(names, name)
			}
		}
		if len(names) > 0 {
			return names
		}
	}
	skip := map[string]bool{".git": true, ".cache": true, "bin": true, "gatehouse-data": true}
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if skip[rel] {
				return filepath.SkipDir
			}
			return nil
		}
		names = append(names, rel)
		return nil
	})
	if err != nil {
		t.Fatalf("list the repository's files: %v", err)
	}
	return names
}

// forEachLine calls fn with every line of a text file of the repository,
// numbered from 1; binary files are skipped.
func forEachLine(t *testing.T, root, name string, fn func(n int, line string)) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	if bytes.IndexByte(src, 0) >= 0 {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for n := 1; sc.Scan(); n++ {
		fn(n, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
}

// forEachProse calls fn with the lines of a Markdown file that are not
// code: fenced blocks and indented blocks are skipped.
func forEachProse(t *testing.T, root, name string, fn func(n int, line string)) {
	t.Helper()
	fenced := false
	forEachLine(t, root, name, func(n int, line string) {
		if strings.HasPrefix(strings.TrimLeft(line, " "), "```") {
			fenced = !fenced
			return
		}
		if fenced || strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t") {
			return
		}
		fn(n, line)
	})
}
