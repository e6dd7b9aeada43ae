package docs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// This file replays the example exchanges of openapi.yaml (see the
// convention at the top of apidoc_render_test.go) against a real server
// set up as `make run` sets it up, and compares each answer with the
// documented one, so that the examples of docs/API.md cannot drift from
// what the server answers.

const (
	// demoFile is the demo data `make run` seeds.
	demoFile = "testdata/demo.json"
	// seedActor is the system administrator `gatehouse seed` acts as.
	seedActor = "gatehouse-seed"
	// demoAdmin is the system administrator of `make run` (--system-admins).
	demoAdmin = "ops"
)

// TestAPIExamplesReplay: every example exchange of openapi.yaml, sent to a
// server seeded with testdata/demo.json as `make run` seeds it, in document
// order (x-after moves an exchange after those it depends on), with a token
// for its x-caller, gets the documented answer: the same status, media type
// and body, but for the values that differ on every run. Those are
// recognised by their shape, not by field names: ULIDs (request and
// decision ids), RFC 3339 times and 16-hex-digit policy revisions, in whole
// values and inside messages alike. Ids and revisions must correspond one
// to one across the whole story: an id the documentation shows twice is
// the same id in the server's answers, and a documented id that a later
// request names (a request to approve, a revision to roll back to) is sent
// as the id the server gave. A time that the request itself sends (an
// expiry) must come back unchanged.
//
// With -update, answers that differ only in their body are rewritten in
// openapi.yaml (documented ids and times kept where they still fit), and
// TestAPIReferenceIsUpToDate, which runs after this test, renders
// docs/API.md from them.
func TestAPIExamplesReplay(t *testing.T) {
	root := repoRoot(t)
	file := filepath.Join(root, filepath.FromSlash(contractFile))
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := parseAPIDoc(src)
	if err != nil {
		t.Fatalf("%s: %v", contractFile, err)
	}
	steps, problems := doc.replayOrder()
	for _, p := range append(problems, doc.problems...) {
		t.Errorf("%s: %s", contractFile, p)
	}
	if t.Failed() {
		t.FailNow()
	}

	srv := startDemoServer(t, root)
	r := &replayer{doc: doc, root: root, srv: srv, ids: map[string]string{}, docIDs: map[string]string{}}
	var edits []answerEdit
	drifted := 0
	start := time.Now()
	for _, e := range doc.errorExamples() {
		steps = append(steps, step{operation{method: strings.ToLower(e.req.method), path: e.req.path}, e.x, &e.req})
	}
	for _, s := range steps {
		res := r.replay(t, s)
		if len(res.problems) == 0 {
			continue
		}
		if res.merged != nil && *update {
			edits = append(edits, answerEdit{s, res.merged})
			continue
		}
		drifted++
		documented := "(no body)"
		if s.x.answer != nil {
			documented = doc.exampleJSON(s.x.answer, "")
		}
		t.Errorf("%s, example %q (as %s): the answer drifted from %s:\n  %s\n documented: %s %s\n answered:   %d %s",
			s.heading(), s.x.name, callerOf(s.x), contractFile, strings.Join(res.problems, "\n  "),
			s.x.status, documented, res.status, res.body)
	}
	t.Logf("replayed %d example exchanges in %s", len(steps), time.Since(start).Round(time.Millisecond))
	if drifted > 0 && !*update {
		t.Logf("fix the examples in %s, or run go test ./docs -update to write the answers whose status still fits "+
			"(documented ids and times kept) and render %s again", contractFile, apiPage)
	}
	if len(edits) > 0 {
		out, err := rewriteAnswers(src, edits)
		if err != nil {
			t.Fatalf("%s: %v", contractFile, err)
		}
		if err := os.WriteFile(file, out, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %d answers in %s", len(edits), contractFile)
	}
}

// callerOf names who sends the exchange, for a report.
func callerOf(x exchange) string {
	if x.noToken || x.caller == "" {
		return "no token"
	}
	return x.caller
}

// step is one exchange of the replay.
type step struct {
	o   operation
	x   exchange
	req *exampleRequest // nil: the request the operation's parameters make
}

func (s step) heading() string { return strings.ToUpper(s.o.method) + " " + s.o.path }

// key names the exchange as x-after does: "POST /v1/path name".
func (s step) key() string { return s.heading() + " " + s.x.name }

// replayOrder lists the exchanges in document order, except that an
// exchange runs after those its x-after names, and the exchanges of one
// operation keep their order.
func (d *apiDoc) replayOrder() ([]step, []string) {
	var all []step
	for _, o := range d.operations() {
		for _, x := range d.exchanges(o) {
			all = append(all, step{o, x, nil})
		}
	}
	index := map[string]int{}
	for i, s := range all {
		index[s.key()] = i
	}
	var problems []string
	deps := make([][]int, len(all))
	for i, s := range all {
		if i > 0 && all[i-1].o == s.o {
			deps[i] = append(deps[i], i-1)
		}
		for _, a := range s.x.after {
			j, ok := index[a]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s, example %q: x-after %q names no exchange (write \"METHOD /path example\")", s.heading(), s.x.name, a))
				continue
			}
			deps[i] = append(deps[i], j)
		}
	}
	done := make([]bool, len(all))
	var order []step
	for len(order) < len(all) {
		next := -1
		for i := range all {
			if done[i] {
				continue
			}
			ready := true
			for _, j := range deps[i] {
				ready = ready && done[j]
			}
			if ready {
				next = i
				break
			}
		}
		if next < 0 {
			return nil, append(problems, "the exchanges' x-after form a cycle")
		}
		done[next] = true
		order = append(order, all[next])
	}
	return order, problems
}

// demoServer is gatehouse serving the demo data of `make run`.
type demoServer struct {
	url    string
	secret []byte
}

// startDemoServer serves the HTTP API as `make run` does: a fresh embedded
// store seeded from testdata/demo.json as `gatehouse seed` seeds it, the
// built-in policies, following the revisions pushed to the store, the
// system administrator ops, and HS256 tokens.
func startDemoServer(t *testing.T, root string) *demoServer {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := embedded.Open(t.TempDir(), embedded.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	files, err := engine.ReadPolicyFiles(policies.FS())
	if err != nil {
		t.Fatal(err)
	}
	policy, err := engine.CompilePolicy(ctx, files, "built-in")
	if err != nil {
		t.Fatal(err)
	}
	seedDemo(t, store, policy, filepath.Join(root, filepath.FromSlash(demoFile)))

	reg := prometheus.NewRegistry()
	eng, err := engine.New(store, policy,
		engine.WithLogger(quiet),
		engine.WithSystemAdmins(demoAdmin),
		engine.WithDecisionCache(100_000), // serve's default
		// Generous, so that a busy machine never turns an answer into a timeout.
		engine.WithDecisionTimeout(time.Minute),
		engine.WithObserver(httpapi.NewMetrics(reg)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.SyncPolicy(ctx); err != nil {
		t.Fatal(err)
	}
	followCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = eng.FollowPolicies(followCtx, time.Second, quiet) })
	t.Cleanup(func() { stop(); wg.Wait() })

	secret := []byte("gatehouse-api-examples-0123456789abcdef")
	verifier, err := httpapi.NewHS256Verifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(httpapi.New(eng,
		httpapi.WithVerifier(verifier), httpapi.WithRegistry(reg), httpapi.WithLogger(quiet)))
	t.Cleanup(ts.Close)
	return &demoServer{url: ts.URL, secret: secret}
}

// seedDemo loads the demo file into store as `gatehouse seed` does:
// accounts, then users, then members, in file order, by the seed actor.
func seedDemo(t *testing.T, store engine.Store, policy *engine.Policy, file string) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var seed struct {
		Accounts []engine.Account    `json:"accounts"`
		Users    []engine.User       `json:"users"`
		Members  []engine.Membership `json:"members"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&seed); err != nil {
		t.Fatalf("%s: %v", demoFile, err)
	}
	eng, err := engine.New(store, policy, engine.WithSystemAdmins(seedActor),
		engine.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, a := range seed.Accounts {
		if _, _, err := eng.PutAccount(ctx, seedActor, a); err != nil {
			t.Fatalf("seed account %s: %v", a.ID, err)
		}
	}
	for _, u := range seed.Users {
		if _, _, err := eng.PutUser(ctx, seedActor, u); err != nil {
			t.Fatalf("seed user %s: %v", u.ID, err)
		}
	}
	for _, m := range seed.Members {
		if _, err := eng.SetMember(ctx, seedActor, m); err != nil {
			t.Fatalf("seed member %s of %s: %v", m.User, m.Account, err)
		}
	}
}

// replayer sends the exchanges and keeps what the story has established:
// which id or revision the server gave for each one documented.
type replayer struct {
	doc    *apiDoc
	root   string
	srv    *demoServer
	ids    map[string]string // documented id or revision -> the server's
	docIDs map[string]string // the server's -> documented
}

// result is what one exchange came to.
type result struct {
	problems []string   // how the answer differs from the documented one
	merged   *yaml.Node // the answer to document instead, nil when a status or media type differs
	status   int
	body     string
}

// replay sends one exchange and compares its answer.
func (r *replayer) replay(t *testing.T, s step) result {
	t.Helper()
	var res result
	var req exampleRequest
	if s.req != nil {
		req = *s.req
	} else {
		req = r.doc.request(s.o, s.x)
	}
	// Times the request sends must come back as sent.
	sent := map[string]bool{}
	note := func(text string) {
		for _, m := range varying.FindAllString(text, -1) {
			if kindOf(m) == "time" {
				sent[m] = true
			}
		}
	}
	path := r.substitute(&res, req.path)
	query := url.Values{}
	for _, q := range req.query {
		note(q.value)
		query.Add(q.name, r.substitute(&res, q.value))
	}
	target := r.srv.url + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		text := r.doc.exampleJSON(req.body, "")
		note(text)
		text = r.substitute(&res, text)
		if s.x.filesFrom != "" {
			text = r.withFiles(t, text, s.x.filesFrom)
		}
		body = strings.NewReader(text)
	}
	hr, err := http.NewRequest(req.method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	for _, h := range req.headers {
		hr.Header.Set(h.name, r.substitute(&res, h.value))
	}
	if req.token {
		if s.x.caller == "" {
			res.problems = append(res.problems, "the exchange needs a token: give its response example (or its operation) x-caller")
			return res
		}
		tok, err := httpapi.MintHS256(r.srv.secret, s.x.caller, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("%s, example %q: %v", s.heading(), s.x.name, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	res.status, res.body = resp.StatusCode, string(got)
	r.compare(&res, s.x, resp.Header.Get("Content-Type"), got, sent)
	return res
}

// compare checks the answer against the documented one.
func (r *replayer) compare(res *result, x exchange, contentType string, got []byte, sent map[string]bool) {
	statusFits := fmt.Sprint(res.status) == x.status
	if !statusFits {
		res.problems = append(res.problems, fmt.Sprintf("status: documented %s, answered %d", x.status, res.status))
	}
	if x.answer == nil {
		if len(got) > 0 {
			res.problems = append(res.problems, "body: documented none, answered "+string(got))
		}
		return
	}
	media, _, _ := mime.ParseMediaType(contentType)
	if media != x.answerType {
		res.problems = append(res.problems, fmt.Sprintf("media type: documented %s, answered %q", x.answerType, contentType))
		return
	}
	if !strings.HasSuffix(media, "json") {
		// A text example ending in "..." shows the answer's beginning.
		want, cut := strings.CutSuffix(x.answer.Value, "...")
		if cut && !strings.HasPrefix(string(got), want) || !cut && string(got) != want {
			res.problems = append(res.problems, fmt.Sprintf("body: documented %q, answered %q", x.answer.Value, firstLines(string(got), 4)))
		}
		return
	}
	var file yaml.Node
	if err := yaml.Unmarshal(got, &file); err != nil || len(file.Content) != 1 {
		res.problems = append(res.problems, fmt.Sprintf("body: not JSON (%v)", err))
		return
	}
	c := &comparison{r: r, sent: sent}
	merged := c.node("", x.answer, file.Content[0])
	res.problems = append(res.problems, c.diffs...)
	if statusFits {
		res.merged = merged
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitAfterN(s, "\n", n+1)
	if len(lines) > n {
		return strings.Join(lines[:n], "") + "..."
	}
	return s
}

// withFiles adds every policy file of dir (relative to the repository)
// that the body's files do not name to them.
func (r *replayer) withFiles(t *testing.T, body, dir string) string {
	t.Helper()
	var b struct {
		Files map[string]string `json:"files"`
	}
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("x-files-from: the body is no {\"files\": {...}}: %v", err)
	}
	files, err := engine.ReadPolicyFiles(os.DirFS(filepath.Join(r.root, filepath.FromSlash(dir))))
	if err != nil {
		t.Fatalf("x-files-from %s: %v", dir, err)
	}
	for name, content := range files {
		if _, ok := b.Files[name]; !ok {
			b.Files[name] = string(content)
		}
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
