package revocationtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
)

var (
	revocations = flag.Int("revocations", 100,
		"revocations the harness makes (make bench-revocation: 1000); half remove a membership, half revoke a granted access request")
	redisURL = flag.String("redis-url", "",
		"the Redis the replicas share (any --redis-url serve takes, a Sentinel say); empty: a redis-server the test starts, with the client-side cache")
	cluster = flag.Bool("cluster", false,
		"run the replicas on a 3-master Redis Cluster the test starts (redistest.StartCluster), each replica with a client-side cache per master")
)

// deadline bounds every wait of the harness (a replica starting, a
// revocation reaching a replica): generous for a loaded machine. What was
// measured is logged, never asserted.
const deadline = 60 * time.Second

// usersPerAccount spreads the harness's users over accounts, so that no
// account's state grows with the number of revocations.
const usersPerAccount = 50

// secret signs the harness's admin tokens.
var secret = []byte("revocation-harness-secret-0123456789abcdef")

// admin is the system administrator the replicas are started with.
const admin = "ops"

// client is the harness's HTTP client: keep-alive connections enough for
// every poller.
var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: deadline}

// replica is one `gatehouse serve` process.
type replica struct {
	name string
	cmd  *exec.Cmd
	url  string
	done chan error

	mu  sync.Mutex
	log bytes.Buffer
}

var servingAddr = regexp.MustCompile(`msg="gatehouse serving" addr=(\S+)`)

// startReplica runs `gatehouse serve` on a free port and returns once it
// listens; at the end of the test it is sent SIGTERM and must exit 0.
func startReplica(t *testing.T, name, bin string, args ...string) *replica {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0",
		"--decision-timeout", "20s", "--store-write-timeout", "20s", "--store-read-timeout", "20s"}, args...)...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	r := &replica{name: name, cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			r.mu.Lock()
			r.log.WriteString(lines.Text() + "\n")
			r.mu.Unlock()
			if m := servingAddr.FindStringSubmatch(lines.Text()); m != nil {
				addr <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		r.done <- cmd.Wait()
	}()
	t.Cleanup(func() { r.stop(t) })
	select {
	case a := <-addr:
		r.url = "http://" + a
	case err := <-r.done:
		r.done <- err
		require.FailNow(t, name+" exited before serving", "%v\n%s", err, r.logs())
	case <-time.After(deadline):
		require.FailNow(t, name+" did not start serving", r.logs())
	}
	return r
}

func (r *replica) logs() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

func (r *replica) stop(t *testing.T) {
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("%s: SIGTERM: %v", r.name, err)
	}
	select {
	case err := <-r.done:
		assert.NoError(t, err, "%s must exit 0 on SIGTERM:\n%s", r.name, r.logs())
	case <-time.After(deadline):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Errorf("%s did not shut down within %s:\n%s", r.name, deadline, r.logs())
	}
}

// call sends a JSON body (none when "") as sub, and returns the answer's
// status, body and Consistency-Token.
func (r *replica) call(t *testing.T, method, path, sub, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, r.url+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if sub != "" {
		tok, err := httpapi.MintHS256(secret, sub, time.Hour)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(raw), resp.Header.Get("Consistency-Token")
}

// must is call that must answer one of the statuses.
func (r *replica) must(t *testing.T, method, path, sub, body string, statuses ...int) (string, string) {
	t.Helper()
	status, answer, token := r.call(t, method, path, sub, body)
	require.Contains(t, statuses, status, "%s %s: %s", method, path, answer)
	return answer, token
}

// allows asks whether user may view account, with the consistency token
// when one is given. It is safe for concurrent use (no *testing.T).
func (r *replica) allows(user, account, token string) (bool, error) {
	body := fmt.Sprintf(`{"subject": %q, "action": "view", "resource": {"account": %q}`, user, account)
	if token != "" {
		body += fmt.Sprintf(`, "consistency": {"at_least": %q}`, token)
	}
	resp, err := client.Post(r.url+"/v1/decisions", "application/json", strings.NewReader(body+"}"))
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var d struct {
		Allow   bool     `json:"allow"`
		Reasons []string `json:"reasons"`
		Error   string   `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK || d.Error != "" {
		return false, fmt.Errorf("decision answered %d, error %q: %v", resp.StatusCode, d.Error, d.Reasons)
	}
	return d.Allow, nil
}

// grantee is one user whose access the harness revokes: a membership
// (request "") or the access request that granted it.
type grantee struct {
	user, account, request string
}

// setUp creates the accounts and users, and gives each user access to
// their account: even users as members, odd ones by an access request
// that admin approves.
func setUp(t *testing.T, a *replica, n int) []grantee {
	t.Helper()
	out := make([]grantee, n)
	for i := range out {
		g := grantee{user: fmt.Sprintf("user-%05d", i), account: fmt.Sprintf("acct-%03d", i/usersPerAccount)}
		if i%usersPerAccount == 0 {
			a.must(t, http.MethodPut, "/v1/accounts/"+g.account, admin, `{"name": "Account `+g.account+`"}`, http.StatusCreated)
		}
		a.must(t, http.MethodPut, "/v1/users/"+g.user, admin,
			`{"email": "`+g.user+`@example.com", "first_name": "U", "last_name": "`+g.user+`"}`, http.StatusCreated)
		if i%2 == 0 {
			a.must(t, http.MethodPut, "/v1/accounts/"+g.account+"/members/"+g.user, admin,
				`{"roles": ["account_viewer"], "justification": "revocation harness"}`, http.StatusCreated)
		} else {
			body, _ := a.must(t, http.MethodPost, "/v1/accounts/"+g.account+"/access-requests", g.user,
				`{"justification": "revocation harness"}`, http.StatusCreated)
			var req struct {
				ID string `json:"id"`
			}
			require.NoError(t, json.Unmarshal([]byte(body), &req))
			g.request = req.ID
			a.must(t, http.MethodPost, "/v1/access-requests/"+g.request+"/approve", admin,
				`{"scope": "account", "role": "account_viewer"}`, http.StatusOK)
		}
		out[i] = g
	}
	return out
}

// revoke ends g's access through r and returns the write's token.
func (g grantee) revoke(t *testing.T, r *replica) string {
	t.Helper()
	var token string
	if g.request == "" {
		_, token = r.must(t, http.MethodDelete, "/v1/accounts/"+g.account+"/members/"+g.user, admin, "", http.StatusNoContent)
	} else {
		_, token = r.must(t, http.MethodPost, "/v1/access-requests/"+g.request+"/revoke", admin,
			`{"message": "revocation harness"}`, http.StatusOK)
	}
	require.NotEmpty(t, token, "the revocation answers a Consistency-Token")
	return token
}

// latencies summarizes measured durations.
type latencies []time.Duration

func (l latencies) at(q float64) time.Duration {
	s := slices.Clone(l)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// TestRevocationVisibleEverywhere: three replicas on one Redis. For each
// grantee, the two other replicas first allow (their caches hold the
// access), then the first revokes it; from the revocation's answer, each
// other replica is polled without a token until it denies (the figure),
// and asked once with the write's token, which must deny: no allow after
// a revocation answered, for a decision that carries its token.
func TestRevocationVisibleEverywhere(t *testing.T) {
	n := *revocations
	require.Positive(t, n, "-revocations")
	bin := filepath.Join(t.TempDir(), "gatehouse")
	build, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput()
	require.NoError(t, err, "go build: %s", build)
	require.False(t, *cluster && *redisURL != "", "-cluster starts its own Redis Cluster: give it or -redis-url, not both")
	url := *redisURL
	switch {
	case *cluster:
		url = redistest.StartCluster(t, 3).URL()
		t.Logf("replicas on a 3-master Redis Cluster, %s", url)
	case url == "":
		url = redistest.Start(t).URL()
	}
	secretFile := filepath.Join(t.TempDir(), "jwt-secret")
	require.NoError(t, os.WriteFile(secretFile, secret, 0o600))
	args := []string{"--store", "redis", "--redis-url", url, "--jwt-hs256-secret-file", secretFile, "--system-admins", admin}
	a := startReplica(t, "replica A", bin, args...)
	others := []*replica{startReplica(t, "replica B", bin, args...), startReplica(t, "replica C", bin, args...)}

	setupStart := time.Now()
	grantees := setUp(t, a, n)
	t.Logf("set up %d users with access in %s", n, time.Since(setupStart))

	var seen latencies
	var tokenAllows, staleAllows atomic.Int64
	for _, g := range grantees {
		for _, r := range others {
			allow, err := r.allows(g.user, g.account, "")
			require.NoError(t, err)
			require.True(t, allow, "%s allows %s on %s before the revocation", r.name, g.user, g.account)
		}
		token := g.revoke(t, a)
		answered := time.Now()

		var wg sync.WaitGroup
		firstDeny := make([]time.Duration, len(others))
		errs := make([]error, 2*len(others))
		for i, r := range others {
			wg.Add(2)
			go func() {
				defer wg.Done()
				allow, err := r.allows(g.user, g.account, token)
				if allow {
					tokenAllows.Add(1)
				}
				errs[2*i] = err
			}()
			go func() {
				defer wg.Done()
				for time.Since(answered) < deadline {
					allow, err := r.allows(g.user, g.account, "")
					if err != nil {
						errs[2*i+1] = err
						return
					}
					if !allow {
						firstDeny[i] = time.Since(answered)
						return
					}
					staleAllows.Add(1)
				}
				errs[2*i+1] = fmt.Errorf("%s still allows %s on %s %s after the revocation", r.name, g.user, g.account, deadline)
			}()
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		seen = append(seen, firstDeny...)
	}

	t.Logf("revocation through replica A to the first deny on replicas B and C, without a token: "+
		"%d revocations, %d measures: p50 %s, p99 %s, max %s (poll by HTTP decisions, each counted in the figure)",
		n, len(seen), seen.at(0.50), seen.at(0.99), seen.at(1))
	t.Logf("decisions without a token that still allowed after the revocation answered: %d; with its token: %d",
		staleAllows.Load(), tokenAllows.Load())
	assert.Zero(t, tokenAllows.Load(), "a decision carrying the revocation's token never allows")

	metrics := scrape(t, others[0])
	promtool(t, metrics)
	if *redisURL != "" {
		return // another Redis may have no client-side cache (Sentinel, a database other than 0)
	}
	for _, family := range []string{"hits_total", "misses_total", "invalidations_total", "drops_total",
		"reads_around_total", "entries", "bytes", "max_bytes"} {
		assert.Contains(t, metrics, "\n# TYPE gatehouse_store_cache_"+family+" ", "/metrics exports the cache's "+family)
	}
	t.Logf("replica B's cache: %s", cacheLine(metrics))
}

// scrape returns r's /metrics.
func scrape(t *testing.T, r *replica) string {
	t.Helper()
	status, body, _ := r.call(t, http.MethodGet, "/metrics", "", "")
	require.Equal(t, http.StatusOK, status)
	return body
}

// cacheLine lists the gatehouse_store_cache_ series of a scrape.
func cacheLine(metrics string) string {
	var out []string
	for _, line := range strings.Split(metrics, "\n") {
		if name, ok := strings.CutPrefix(line, "gatehouse_store_cache_"); ok {
			out = append(out, name)
		}
	}
	return strings.Join(out, ", ")
}

// promtool lints a scrape with `promtool check metrics`.
func promtool(t *testing.T, metrics string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	require.NoError(t, err, "promtool is not in PATH: install it with `apt-get install -y prometheus`, or run `make test` (scripts/ensure-promtool.sh)")
	check := exec.Command(bin, "check", "metrics")
	check.Stdin = strings.NewReader(metrics)
	out, err := check.CombinedOutput()
	assert.NoError(t, err, "promtool check metrics: %s", out)
	assert.Empty(t, strings.TrimSpace(string(out)), "promtool check metrics found problems")
}
