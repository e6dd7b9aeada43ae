package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
)

// R45: with Redis down, writes answer 503 and change nothing, decisions
// answer allow:false with error "store_unavailable", /ready is 503 with the
// reason; once Redis is back, the same gatehouse serves again.
func TestRedisOutageR45(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--appendonly", "yes", "--appendfsync", "always"))
	h := newHarness(t, openRedisDefaults(t, srv))
	acmeReq, _ := twoAccounts(h)
	require.True(t, h.decide("bob", "use", "acme").Allow)
	auditBefore := len(items(t, h.mustRead("/v1/audit?account=acme&limit=1000", systemAdmin)))
	eventsBefore := len(items(t, h.mustRead("/v1/events?limit=1000", systemAdmin)))

	srv.Stop()

	writes := outageWrites(acmeReq)
	for _, w := range writes {
		t.Run("down/"+w.name, func(t *testing.T) {
			e := requireError(t, h.call(w.method, w.path, w.sub, w.body), http.StatusServiceUnavailable, "unavailable")
			assert.NotContains(t, e.Error.Message, srv.Addr(), "the store's address stays in the log")
		})
	}
	t.Run("down/reads answer 503", func(t *testing.T) {
		requireError(t, h.call(http.MethodGet, "/v1/accounts/acme/members", systemAdmin, nil), http.StatusServiceUnavailable, "unavailable")
	})
	t.Run("down/decisions fail closed", func(t *testing.T) {
		got := h.decide("bob", "use", "acme")
		assert.False(t, got.Allow)
		assert.Equal(t, "store_unavailable", got.Error)
		assert.NotEmpty(t, got.Reasons)
		assert.NotEmpty(t, got.DecisionID)
		assert.Equal(t, h.eng.Policy().Revision, got.PolicyRevision)
	})
	t.Run("down/batch decisions fail closed", func(t *testing.T) {
		rec := h.call(http.MethodPost, "/v1/decisions/batch", "", map[string]any{"checks": []any{
			decisionBody("bob", "use", "acme", ""), decisionBody("alice", "manage", "acme", ""),
		}})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := decodeAs[struct {
			Results []decisionAnswer `json:"results"`
		}](t, rec)
		require.Len(t, got.Results, 2)
		for _, r := range got.Results {
			assert.False(t, r.Allow)
			assert.Equal(t, "store_unavailable", r.Error)
		}
	})
	t.Run("down/ready is 503 with the reason", func(t *testing.T) {
		e := requireError(t, h.call(http.MethodGet, "/ready", "", nil), http.StatusServiceUnavailable, "unavailable")
		assert.Contains(t, e.Error.Message, "store")
	})
	t.Run("down/health still answers", func(t *testing.T) {
		assert.Equal(t, http.StatusOK, h.call(http.MethodGet, "/health", "", nil).Code)
	})
	t.Run("down/metrics count the failed decisions", func(t *testing.T) {
		body := h.call(http.MethodGet, "/metrics", "", nil).Body.String()
		assert.Contains(t, body, `gatehouse_decisions_total{result="error"} 3`+"\n")
	})

	srv.Restart()
	require.Eventually(t, func() bool {
		return h.call(http.MethodGet, "/ready", "", nil).Code == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "gatehouse is ready again without a restart")

	t.Run("up/decisions allow again", func(t *testing.T) {
		got := h.decide("bob", "use", "acme")
		assert.True(t, got.Allow, got.Reasons)
		assert.Empty(t, got.Error)
	})
	t.Run("up/nothing was half-written", func(t *testing.T) {
		requireError(t, h.call(http.MethodGet, "/v1/users/zed", systemAdmin, nil), http.StatusNotFound, "not_found")
		requireError(t, h.call(http.MethodGet, "/v1/accounts/initech", systemAdmin, nil), http.StatusNotFound, "not_found")
		requireError(t, h.call(http.MethodGet, "/v1/accounts/acme/members/carl", systemAdmin, nil), http.StatusNotFound, "not_found")
		h.mustRead("/v1/accounts/acme/members/bob", systemAdmin)
		assert.Equal(t, "pending", h.mustRead("/v1/access-requests/"+acmeReq, "alice")["status"])
		assert.Empty(t, items(t, h.mustRead("/v1/me/access-requests?status=pending", "bob")))
		assert.Len(t, items(t, h.mustRead("/v1/audit?account=acme&limit=1000", systemAdmin)), auditBefore)
		assert.Len(t, items(t, h.mustRead("/v1/events?limit=1000", systemAdmin)), eventsBefore)
	})
	t.Run("up/writes work again", func(t *testing.T) {
		rec := h.call(http.MethodPut, "/v1/users/zed", systemAdmin, map[string]any{"email": "zed@example.com"})
		assert.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
		got := h.mustWrite(http.MethodPost, "/v1/access-requests/"+acmeReq+"/approve", "alice",
			map[string]any{"scope": "account", "role": "account_viewer"})
		assert.Equal(t, "granted", got["status"])
	})
}

// outageWrite is one write of the outage tests.
type outageWrite struct {
	name, method, path, sub string
	body                    any
}

// outageWrites are writes of every kind on twoAccounts's data; acmeReq is
// carl's pending request to acme. Each must answer 503 when the store
// cannot serve, and change nothing.
func outageWrites(acmeReq string) []outageWrite {
	return []outageWrite{
		{"create user", http.MethodPut, "/v1/users/zed", systemAdmin, map[string]any{"email": "zed@example.com"}},
		{"create account", http.MethodPut, "/v1/accounts/initech", systemAdmin, map[string]any{"name": "Initech"}},
		{"add member", http.MethodPut, "/v1/accounts/acme/members/carl", systemAdmin,
			map[string]any{"roles": []string{"account_user"}, "justification": "x"}},
		{"remove member", http.MethodDelete, "/v1/accounts/acme/members/bob", systemAdmin, nil},
		{"request access", http.MethodPost, "/v1/accounts/globex/access-requests", "bob", map[string]any{}},
		{"approve", http.MethodPost, "/v1/access-requests/" + acmeReq + "/approve", "alice",
			map[string]any{"scope": "account", "role": "account_admin"}},
		{"deny", http.MethodPost, "/v1/access-requests/" + acmeReq + "/deny", "alice", map[string]any{"reason_code": "other"}},
	}
}

// outageReads are reads of every admin listing on twoAccounts's data.
func outageReads(acmeReq string) []string {
	return []string{
		"/v1/users/bob", "/v1/accounts/acme", "/v1/accounts/acme/members", "/v1/accounts/acme/members/bob",
		"/v1/access-requests?account=acme", "/v1/access-requests/" + acmeReq, "/v1/audit?account=acme",
		"/v1/events", "/v1/policies",
	}
}

// notNow says what a Redis that cannot serve now still serves.
type notNow struct {
	reads     bool // reads answer 200 (a read-only replica)
	ready     bool // /ready answers 200 (Redis answers PING)
	decisions bool // decisions are made (reads work)
}

// requireNotNow requires every write of h to answer 503 "unavailable", and
// reads, /ready and decisions to answer as want says, never a 500, with
// the time each took logged.
func requireNotNow(t *testing.T, h *harness, acmeReq string, want notNow) {
	t.Helper()
	for _, w := range outageWrites(acmeReq) {
		start := time.Now()
		rec := h.call(w.method, w.path, w.sub, w.body)
		requireError(t, rec, http.StatusServiceUnavailable, "unavailable")
		t.Logf("write %-16s 503 after %6.1f ms", w.name, float64(time.Since(start).Microseconds())/1000)
	}
	for _, path := range outageReads(acmeReq) {
		start := time.Now()
		rec := h.call(http.MethodGet, path, systemAdmin, nil)
		if want.reads {
			assert.Equal(t, http.StatusOK, rec.Code, "GET %s: %s", path, rec.Body.String())
		} else {
			requireError(t, rec, http.StatusServiceUnavailable, "unavailable")
		}
		t.Logf("read  %-34s %d after %6.1f ms", path, rec.Code, float64(time.Since(start).Microseconds())/1000)
	}
	start := time.Now()
	rec := h.call(http.MethodGet, "/ready", "", nil)
	if want.ready {
		assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	} else {
		requireError(t, rec, http.StatusServiceUnavailable, "unavailable")
	}
	t.Logf("/ready %d after %.1f ms", rec.Code, float64(time.Since(start).Microseconds())/1000)
	start = time.Now()
	got := h.decide("bob", "use", "acme")
	if want.decisions {
		assert.True(t, got.Allow, got.Reasons)
	} else {
		assert.False(t, got.Allow)
		assert.Contains(t, []string{"store_unavailable", "timeout"}, got.Error, got.Reasons)
	}
	t.Logf("decision allow=%v error=%q after %.1f ms", got.Allow, got.Error, float64(time.Since(start).Microseconds())/1000)
}

// outageBaseline is what requireNothingWritten compares with.
type outageBaseline struct{ audit, events int }

func baseline(h *harness) outageBaseline {
	return outageBaseline{
		audit:  len(items(h.tb, h.mustRead("/v1/audit?account=acme&limit=1000", systemAdmin))),
		events: len(items(h.tb, h.mustRead("/v1/events?limit=1000", systemAdmin))),
	}
}

// requireNothingWritten requires that none of outageWrites left a trace.
func requireNothingWritten(t *testing.T, h *harness, acmeReq string, before outageBaseline) {
	t.Helper()
	requireError(t, h.call(http.MethodGet, "/v1/users/zed", systemAdmin, nil), http.StatusNotFound, "not_found")
	requireError(t, h.call(http.MethodGet, "/v1/accounts/initech", systemAdmin, nil), http.StatusNotFound, "not_found")
	requireError(t, h.call(http.MethodGet, "/v1/accounts/acme/members/carl", systemAdmin, nil), http.StatusNotFound, "not_found")
	h.mustRead("/v1/accounts/acme/members/bob", systemAdmin)
	assert.Equal(t, "pending", h.mustRead("/v1/access-requests/"+acmeReq, "alice")["status"])
	assert.Empty(t, items(t, h.mustRead("/v1/me/access-requests?status=pending", "bob")))
	assert.Equal(t, before, baseline(h))
}

// R45: a restarted Redis still loading its data (LOADING, and EXECABORT
// for the MULTI/EXEC that reads an account's state) makes every write and
// read answer 503, /ready 503 and decisions deny; once loaded, the data of
// before the restart is served and nothing was half-written.
func TestRedisLoadingR45(t *testing.T) {
	srv := redistest.Start(t)
	h := newHarness(t, openRedisDefaults(t, srv))
	acmeReq, _ := twoAccounts(h)
	before := baseline(h)

	start := time.Now()
	srv.RestartLoading(100_000, 50*time.Microsecond)
	requireNotNow(t, h, acmeReq, notNow{})
	require.True(t, srv.Loading(), "every call ran while Redis was loading (raise the filler if this fails)")

	require.Eventually(t, func() bool {
		return h.call(http.MethodGet, "/ready", "", nil).Code == http.StatusOK
	}, 5*time.Minute, 50*time.Millisecond)
	t.Logf("ready %.1f s after the restart", time.Since(start).Seconds())
	assert.True(t, h.decide("bob", "use", "acme").Allow)
	requireNothingWritten(t, h, acmeReq, before)
}

// R45: gatehouse pointed at a replica (READONLY) answers 503 to writes and
// serves reads and decisions; the primary shows nothing was written.
func TestRedisReadOnlyReplicaR45(t *testing.T) {
	primary := redistest.Start(t)
	h := newHarness(t, openRedisDefaults(t, primary))
	acmeReq, _ := twoAccounts(h)
	before := baseline(h)
	replica := redistest.Start(t, redistest.ReplicaOf(primary))
	onReplica := newHarness(t, openRedisDefaults(t, replica))
	require.Eventually(t, func() bool {
		return onReplica.call(http.MethodGet, "/v1/access-requests/"+acmeReq, systemAdmin, nil).Code == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "the replica has the data")

	requireNotNow(t, onReplica, acmeReq, notNow{reads: true, ready: true, decisions: true})
	requireNothingWritten(t, h, acmeReq, before)
}

// R45: a replica that lost its primary and serves no stale data answers
// MASTERDOWN: everything is 503 and decisions deny.
func TestRedisMasterDownR45(t *testing.T) {
	replica := redistest.Start(t, redistest.ReplicaOfAddr(redistest.FreePort(t)),
		redistest.WithArgs("--replica-serve-stale-data", "no"),
		redistest.WithReadyReplies("+PONG", "-MASTERDOWN"))
	requireNotNow(t, newHarness(t, openRedisDefaults(t, replica)), "01JREQUESTTHATDOESNOTEXIST", notNow{})
}

// R45: a script running past busy-reply-threshold makes Redis answer BUSY:
// everything is 503 and decisions deny until it is killed; nothing was
// half-written.
func TestRedisBusyScriptR45(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--busy-reply-threshold", "10"))
	h := newHarness(t, openRedisDefaults(t, srv))
	acmeReq, _ := twoAccounts(h)
	before := baseline(h)
	admin := plainClient(t, srv)
	done := make(chan error, 1)
	go func() { done <- plainClient(t, srv).Eval(context.Background(), "while true do end", nil).Err() }()
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = admin.ScriptKill(context.Background()).Err()
			<-done
		}
	})
	require.Eventually(t, func() bool {
		return h.call(http.MethodGet, "/ready", "", nil).Code == http.StatusServiceUnavailable
	}, 30*time.Second, 10*time.Millisecond, "the script makes Redis busy")

	requireNotNow(t, h, acmeReq, notNow{})

	require.NoError(t, admin.ScriptKill(t.Context()).Err())
	require.Error(t, <-done)
	killed = true
	requireNothingWritten(t, h, acmeReq, before)
}

// R45: with min-replicas-to-write unmet Redis refuses writes (NOREPLICAS):
// writes are 503, reads and decisions go on.
func TestRedisNoReplicasR45(t *testing.T) {
	srv := redistest.Start(t)
	h := newHarness(t, openRedisDefaults(t, srv))
	acmeReq, _ := twoAccounts(h)
	before := baseline(h)
	require.NoError(t, plainClient(t, srv).ConfigSet(t.Context(), "min-replicas-to-write", "1").Err())

	requireNotNow(t, h, acmeReq, notNow{reads: true, ready: true, decisions: true})
	requireNothingWritten(t, h, acmeReq, before)
}

// R45, issue 7: a Redis frozen by SIGSTOP makes writes, reads and /ready
// answer 503 once their timeout ends (the store's, 1s by default) and
// decisions deny at their deadline; after SIGCONT gatehouse serves again
// and nothing was half-written.
func TestRedisStalledR45(t *testing.T) {
	srv := redistest.Start(t)
	h := newHarness(t, openRedisDefaults(t, srv))
	acmeReq, _ := twoAccounts(h)
	before := baseline(h)

	srv.Pause()
	requireNotNow(t, h, acmeReq, notNow{})
	srv.Resume()
	start := time.Now()
	require.Eventually(t, func() bool {
		return h.call(http.MethodGet, "/ready", "", nil).Code == http.StatusOK
	}, 30*time.Second, 10*time.Millisecond)
	t.Logf("ready %.1f ms after SIGCONT", float64(time.Since(start).Microseconds())/1000)
	assert.True(t, h.decide("bob", "use", "acme").Allow)
	requireNothingWritten(t, h, acmeReq, before)
}

// plainClient is a go-redis client on srv, to act on Redis beside gatehouse.
func plainClient(tb testing.TB, srv *redistest.Server) *goredis.Client {
	tb.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), MaxRetries: -1})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}
