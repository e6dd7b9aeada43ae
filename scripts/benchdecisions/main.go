// Command benchdecisions prepares and checks the decision benchmark that
// scripts/bench-decisions.sh runs (make bench-decisions): gatehouse against
// `opa run --server` on the same data, the same Rego and the same inputs.
//
//	benchdecisions prepare DIR   generate the seeded data set into an embedded
//	                             store DIR/data (into the Redis REDIS_URL names
//	                             when set), and the question files:
//	                             DIR/<set>.gatehouse  POST /v1/decisions bodies
//	                             DIR/<set>.opa        OPA Data API bodies: the
//	                                                  input gatehouse builds
//	                             DIR/<set>.allow      the expected allow
//	                             for the sets uniform and zipf.
//	benchdecisions check gatehouse|opa URL DIR/<set>
//	                             ask every question and fail on any answer
//	                             that differs from DIR/<set>.allow.
//
// Environment: SEED (default 1), QUESTIONS (default 20000), REDIS_URL.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/engine/benchdata"
	"github.com/gatehouse/gatehouse/policies"
)

func main() {
	var err error
	switch {
	case len(os.Args) == 3 && os.Args[1] == "prepare":
		err = prepare(context.Background(), os.Args[2])
	case len(os.Args) == 5 && os.Args[1] == "check":
		err = check(os.Args[2], os.Args[3], os.Args[4])
	default:
		err = fmt.Errorf("usage: benchdecisions prepare DIR | check gatehouse|opa URL DIR/SET")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdecisions:", err)
		os.Exit(1)
	}
}

func envUint(name string, def uint64) uint64 {
	if v, err := strconv.ParseUint(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

func prepare(ctx context.Context, dir string) error {
	seed := envUint("SEED", 1)
	n := int(envUint("QUESTIONS", 20_000))
	start := time.Now()
	data := benchdata.Generate(seed, benchdata.Full)
	store, err := openStore(dir)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := data.Load(ctx, store); err != nil {
		return err
	}
	fmt.Printf("data: %d accounts, %d users, %d memberships, %d tenant grants (%d exclusive tenants), seed %d, in %s\n",
		len(data.Accounts), len(data.Users), len(data.Members), len(data.Grants), len(data.Exclusive), seed, time.Since(start).Round(time.Millisecond))
	files, err := engine.ReadPolicyFiles(policies.FS())
	if err != nil {
		return err
	}
	policy, err := engine.CompilePolicy(ctx, files, "built-in")
	if err != nil {
		return err
	}
	// The answers are the reference: a loaded machine's stall must not
	// turn one into a timed-out deny.
	eng, err := engine.New(store, policy, engine.WithClock(func() time.Time { return benchdata.Now }),
		engine.WithDecisionTimeout(time.Minute))
	if err != nil {
		return err
	}
	uniform := data.Uniform(seed, n)
	sets := map[string][]engine.DecisionRequest{"uniform": uniform, "zipf": benchdata.Zipf(uniform, seed, n)}
	for name, qs := range sets {
		allows, err := writeSet(ctx, eng, filepath.Join(dir, name), qs)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %d questions (%d distinct), %d allowed\n", name, len(qs), distinct(qs), allows)
	}
	return nil
}

// openStore opens the store prepare loads the data set into: the Redis
// that REDIS_URL names (make bench-replicas), else a new embedded store in
// DIR/data.
func openStore(dir string) (engine.Store, error) {
	if url := os.Getenv("REDIS_URL"); url != "" {
		return redisstore.Open(url, redisstore.WithWriteTimeout(time.Minute), redisstore.WithReadTimeout(time.Minute))
	}
	return embedded.Open(filepath.Join(dir, "data"), embedded.WithNoSync())
}

func distinct(qs []engine.DecisionRequest) int {
	seen := map[[4]string]bool{}
	for _, q := range qs {
		seen[[4]string{q.Subject, q.Action, q.Resource.Account, q.Resource.VirtualAccount}] = true
	}
	return len(seen)
}

type question struct {
	Subject  string         `json:"subject"`
	Action   string         `json:"action"`
	Resource resource       `json:"resource"`
	Context  map[string]any `json:"context,omitempty"`
}

type resource struct {
	Account        string `json:"account"`
	VirtualAccount string `json:"virtual_account,omitempty"`
}

// writeSet writes the gatehouse bodies, the OPA bodies (the input the engine
// builds for each question) and the engine's allow, one line per question.
func writeSet(ctx context.Context, eng *engine.Engine, base string, qs []engine.DecisionRequest) (int, error) {
	var gh, opa, allow bytes.Buffer
	allows := 0
	for _, q := range qs {
		b, err := json.Marshal(question{Subject: q.Subject, Action: q.Action, Resource: resource{q.Resource.Account, q.Resource.VirtualAccount}})
		if err != nil {
			return 0, err
		}
		gh.Write(append(b, '\n'))
		input, err := eng.DecisionInput(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("input of %s: %w", b, err)
		}
		if b, err = json.Marshal(map[string]any{"input": input}); err != nil {
			return 0, err
		}
		opa.Write(append(b, '\n'))
		d := eng.Decide(ctx, q)
		if d.Error != "" {
			return 0, fmt.Errorf("decision on %+v failed: %s %v", q, d.Error, d.Reasons)
		}
		if d.Allow {
			allows++
		}
		fmt.Fprintln(&allow, d.Allow)
	}
	for ext, buf := range map[string]*bytes.Buffer{".gatehouse": &gh, ".opa": &opa, ".allow": &allow} {
		if err := os.WriteFile(base+ext, buf.Bytes(), 0o600); err != nil {
			return 0, err
		}
	}
	return allows, nil
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out, sc.Err()
}

// check asks every question of the set and compares the allow with the
// expected one. OPA answers {"result": {"allow": ...}}, gatehouse {"allow": ...}.
func check(kind, url, base string) error {
	bodies, err := readLines(base + "." + kind)
	if err != nil {
		return err
	}
	want, err := readLines(base + ".allow")
	if err != nil {
		return err
	}
	if len(bodies) != len(want) {
		return fmt.Errorf("%d bodies but %d answers", len(bodies), len(want))
	}
	var (
		mu         sync.Mutex
		mismatches []string
		wg         sync.WaitGroup
		next       = make(chan int)
	)
	client := &http.Client{Timeout: time.Minute}
	for range 8 {
		wg.Go(func() {
			for i := range next {
				got, err := ask(client, kind, url, bodies[i])
				if err == nil && strconv.FormatBool(got) == want[i] {
					continue
				}
				mu.Lock()
				if err != nil {
					mismatches = append(mismatches, fmt.Sprintf("question %d %s: %v", i+1, bodies[i], err))
				} else {
					mismatches = append(mismatches, fmt.Sprintf("question %d %s: allow %v, expected %s", i+1, bodies[i], got, want[i]))
				}
				mu.Unlock()
			}
		})
	}
	for i := range bodies {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(mismatches) > 0 {
		show := mismatches[:min(5, len(mismatches))]
		return fmt.Errorf("%s at %s gave %d of %d answers that differ from gatehouse's engine:\n  %s",
			kind, url, len(mismatches), len(bodies), strings.Join(show, "\n  "))
	}
	fmt.Printf("%s: the same allow as gatehouse's engine on all %d questions of %s\n", kind, len(bodies), filepath.Base(base))
	return nil
}

func ask(client *http.Client, kind, url, body string) (bool, error) {
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("status %d", resp.StatusCode)
	}
	var out struct {
		Allow  *bool `json:"allow"`
		Result *struct {
			Allow *bool `json:"allow"`
		} `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return false, err
	}
	a := out.Allow
	if kind == "opa" {
		if out.Result == nil {
			return false, fmt.Errorf("no result (undefined)")
		}
		a = out.Result.Allow
	}
	if a == nil {
		return false, fmt.Errorf("no allow in the answer")
	}
	return *a, nil
}
