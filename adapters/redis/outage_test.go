package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// storeCall is one call of a Store method, for outage tests.
type storeCall struct {
	name  string
	write bool // the method writes; a read-only or write-refusing Redis fails it
	call  func(ctx context.Context, s *redisstore.Store) error
}

// storeCalls calls every Store method once, change being what Commit
// writes; the reads name what fullChange("acme", "u") and
// policyRevision("rev-1") write.
func storeCalls(change engine.Change) []storeCall {
	read := func(name string, call func(ctx context.Context, s *redisstore.Store) error) storeCall {
		return storeCall{name: name, call: call}
	}
	write := func(name string, call func(ctx context.Context, s *redisstore.Store) error) storeCall {
		return storeCall{name: name, write: true, call: call}
	}
	return []storeCall{
		read("Ping", func(ctx context.Context, s *redisstore.Store) error { return s.Ping(ctx) }),
		read("Snapshot", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.Snapshot(ctx, "u", "acme")
			return err
		}),
		write("Commit", func(ctx context.Context, s *redisstore.Store) error { return s.Commit(ctx, change) }),
		read("AccountState", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.AccountState(ctx, "acme")
			return err
		}),
		read("GetUser", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.GetUser(ctx, "u")
			return err
		}),
		read("GetAccount", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.GetAccount(ctx, "acme")
			return err
		}),
		read("GetMember", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.GetMember(ctx, "acme", "u")
			return err
		}),
		read("ListMembers", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.ListMembers(ctx, "acme")
			return err
		}),
		read("GetRequest", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.GetRequest(ctx, "req-acme")
			return err
		}),
		read("ListRequests/account", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.ListRequests(ctx, engine.RequestFilter{Account: "acme"})
			return err
		}),
		read("ListRequests/requester", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.ListRequests(ctx, engine.RequestFilter{Requester: "u"})
			return err
		}),
		read("DueExpiries", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.DueExpiries(ctx, time.Now(), 10)
			return err
		}),
		read("ListAudit", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.ListAudit(ctx, "acme", "", 10, engine.Ascending)
			return err
		}),
		read("ListEvents", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.ListEvents(ctx, "", 10, engine.Ascending)
			return err
		}),
		read("ListEventsFor", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.ListEventsFor(ctx, "u", "", 10, engine.Ascending)
			return err
		}),
		write("SavePolicy", func(ctx context.Context, s *redisstore.Store) error {
			return s.SavePolicy(ctx, policyRevision("rev-2"))
		}),
		read("GetPolicy", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.GetPolicy(ctx, "rev-1")
			return err
		}),
		read("ListPolicies", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.ListPolicies(ctx, 0)
			return err
		}),
		write("ActivatePolicy", func(ctx context.Context, s *redisstore.Store) error {
			return s.ActivatePolicy(ctx, engine.PolicyActivation{Revision: "rev-1"})
		}),
		read("ActivePolicy", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.ActivePolicy(ctx)
			return err
		}),
		read("WatchPolicy", func(ctx context.Context, s *redisstore.Store) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel() // ends the subscription when it was made
			_, err := s.WatchPolicy(ctx)
			return err
		}),
		write("AcquireLease", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.AcquireLease(ctx, "webhook", "replica-a", time.Second)
			return err
		}),
		read("GetCursor", func(ctx context.Context, s *redisstore.Store) error {
			_, err := s.GetCursor(ctx, "webhook")
			return err
		}),
		write("SetCursor", func(ctx context.Context, s *redisstore.Store) error {
			return s.SetCursor(ctx, "webhook", "1-0")
		}),
	}
}

// R45: with Redis down every call fails with an error wrapping
// ErrUnavailable; once Redis is back the same Store works again, Commit
// included (its script is no longer cached: EVALSHA falls back to EVAL).
func TestOutageThenRecovery(t *testing.T) {
	srv := redistest.Start(t)
	s := newStoreDefaults(t, srv)
	require.NoError(t, s.Commit(t.Context(), fullChange("acme", "u")))

	srv.Stop()
	for _, c := range storeCalls(fullChange("other", "u")) {
		t.Run("down/"+c.name, func(t *testing.T) {
			err := c.call(t.Context(), s)
			require.ErrorIs(t, err, engine.ErrUnavailable)
			assert.NotErrorIs(t, err, engine.ErrNotFound)
		})
	}

	srv.Restart() // without persistence: an empty Redis on the same address
	// After repeated dial failures go-redis fails fast and probes the server
	// once a second until it answers.
	require.Eventually(t, func() bool { return s.Ping(t.Context()) == nil }, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, s.Commit(t.Context(), fullChange("acme", "u")), "same Store, same versions: the data was lost")
	snap, err := s.Snapshot(t.Context(), "u", "acme")
	require.NoError(t, err)
	require.NotNil(t, snap.Account)
	assert.Equal(t, "acme", snap.Account.ID)
	assert.True(t, snap.TenantExclusive)
}

// A closed Store is unavailable, not broken.
func TestClosedStoreIsUnavailable(t *testing.T) {
	s := newStoreDefaults(t, redistest.Start(t))
	require.NoError(t, s.Close())
	for _, c := range storeCalls(fullChange("acme", "u")) {
		t.Run(c.name, func(t *testing.T) {
			require.ErrorIs(t, c.call(t.Context(), s), engine.ErrUnavailable)
		})
	}
}

// A caller's deadline that passes while Redis does not answer is an outage too.
func TestDeadlineIsUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	s := newStoreDefaults(t, srv)
	pause := newClient(t, srv)
	require.NoError(t, pause.Do(t.Context(), "CLIENT", "PAUSE", "500", "ALL").Err())
	t.Cleanup(func() { _ = pause.Do(context.Background(), "CLIENT", "UNPAUSE").Err() })

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Snapshot(ctx, "u", "acme")
	require.ErrorIs(t, err, engine.ErrUnavailable)
}

// seed writes what storeCalls reads: fullChange("acme", "u") and the
// active policy revision rev-1.
func seed(t *testing.T, s *redisstore.Store) {
	t.Helper()
	require.NoError(t, s.Commit(t.Context(), fullChange("acme", "u")))
	require.NoError(t, s.SavePolicy(t.Context(), policyRevision("rev-1")))
	require.NoError(t, s.ActivatePolicy(t.Context(), engine.PolicyActivation{Revision: "rev-1"}))
}

// requireNotNow calls every Store method on s, all at once, and requires
// that those mustFail names fail with an error wrapping ErrUnavailable, and
// that no call fails otherwise: a Redis that cannot serve now is never a
// bug (500). It logs how long each call took.
func requireNotNow(t *testing.T, s *redisstore.Store, mustFail func(storeCall) bool) {
	t.Helper()
	calls := storeCalls(fullChange("other", "u"))
	errs := make([]error, len(calls))
	took := make([]time.Duration, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			start := time.Now()
			errs[i] = c.call(t.Context(), s)
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	for i, c := range calls {
		err := errs[i]
		if mustFail(c) {
			assert.ErrorIs(t, err, engine.ErrUnavailable, "%s", c.name)
			assert.NotErrorIs(t, err, engine.ErrNotFound, "%s", c.name)
		} else if err != nil {
			assert.ErrorIs(t, err, engine.ErrUnavailable, "%s", c.name)
		}
		t.Logf("%-24s %8.1f ms  %v", c.name, float64(took[i].Microseconds())/1000, err)
	}
}

func every(storeCall) bool         { return true }
func writes(c storeCall) bool      { return c.write }
func allButWatch(c storeCall) bool { return c.name != "WatchPolicy" }

// requireServes requires that s reads the seeded data and commits again.
func requireServes(t *testing.T, s *redisstore.Store) {
	t.Helper()
	snap, err := s.Snapshot(t.Context(), "u", "acme")
	require.NoError(t, err)
	require.NotNil(t, snap.Account, "the seeded account is there")
	require.NoError(t, s.Commit(t.Context(), fullChange("other", "u")))
}

// R45: a restarted Redis still loading its data answers LOADING to every
// command, and EXECABORT to a MULTI/EXEC whose commands it refused: each
// is ErrUnavailable, never a bug. Once loaded, the same Store serves the
// data saved before the restart.
func TestLoadingRedisIsUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	s := newStoreDefaults(t, srv)
	seed(t, s)

	start := time.Now()
	srv.RestartLoading(100_000, 50*time.Microsecond)
	requireNotNow(t, s, allButWatch) // SUBSCRIBE is served while loading
	require.True(t, srv.Loading(), "every call ran while Redis was loading (raise the filler if this fails)")

	require.Eventually(t, func() bool { return !srv.Loading() }, 5*time.Minute, 100*time.Millisecond)
	t.Logf("Redis loaded its data %.1f s after the restart", time.Since(start).Seconds())
	require.Eventually(t, func() bool { return s.Ping(t.Context()) == nil }, 30*time.Second, 20*time.Millisecond)
	requireServes(t, s)
}

// R45: a Store pointed at a replica (a failover moved the primary, say)
// reads, and its writes fail with READONLY, which is ErrUnavailable.
func TestReplicaRefusesWritesAsUnavailable(t *testing.T) {
	primary := redistest.Start(t)
	seed(t, newStoreDefaults(t, primary))
	replica := redistest.Start(t, redistest.ReplicaOf(primary))
	s := newStoreDefaults(t, replica)
	require.Eventually(t, func() bool {
		_, err := s.GetPolicy(t.Context(), "rev-1")
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "the replica has the data")

	requireNotNow(t, s, writes)
	for _, c := range storeCalls(fullChange("other", "u")) {
		if !c.write {
			assert.NoError(t, c.call(t.Context(), s), "%s reads from the replica", c.name)
		}
	}
}

// R45: a replica whose primary is gone, with replica-serve-stale-data no,
// answers MASTERDOWN to every data command: ErrUnavailable.
func TestReplicaWithoutPrimaryIsUnavailable(t *testing.T) {
	replica := redistest.Start(t, redistest.ReplicaOfAddr(redistest.FreePort(t)),
		redistest.WithArgs("--replica-serve-stale-data", "no"),
		redistest.WithReadyReplies("+PONG", "-MASTERDOWN"))
	requireNotNow(t, newStoreDefaults(t, replica), allButWatch) // SUBSCRIBE is served stale
}

// R45: while a script runs past busy-reply-threshold, Redis answers BUSY to
// everyone else: ErrUnavailable. Once the script is killed, the Store
// serves again.
func TestBusyScriptIsUnavailable(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--busy-reply-threshold", "10"))
	s := newStoreDefaults(t, srv)
	seed(t, s)
	admin := newClient(t, srv)
	looping := newClient(t, srv)
	done := make(chan error, 1)
	go func() { done <- looping.Eval(context.Background(), "while true do end", nil).Err() }()
	t.Cleanup(func() {
		_ = admin.ScriptKill(context.Background()).Err()
		<-done
	})
	require.Eventually(t, func() bool {
		err := s.Ping(t.Context())
		return err != nil && strings.Contains(err.Error(), "BUSY")
	}, 30*time.Second, 10*time.Millisecond, "the script makes Redis busy")

	requireNotNow(t, s, every)

	require.NoError(t, admin.ScriptKill(t.Context()).Err())
	require.Error(t, <-done, "the script was killed")
	done <- nil // for the cleanup
	requireServes(t, s)
}

// R45: with min-replicas-to-write unmet Redis refuses writes with
// NOREPLICAS: ErrUnavailable; reads go on.
func TestNoReplicasIsUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	s := newStoreDefaults(t, srv)
	seed(t, s)
	require.NoError(t, newClient(t, srv).ConfigSet(t.Context(), "min-replicas-to-write", "1").Err())

	requireNotNow(t, s, writes)
	for _, c := range storeCalls(fullChange("other", "u")) {
		if !c.write {
			assert.NoError(t, c.call(t.Context(), s), "%s reads", c.name)
		}
	}
}

// R45: a tiny connection pool, all of it held by calls a paused Redis does
// not answer, makes other calls time out waiting for a connection: each
// fails with ErrUnavailable, at the latest when its read timeout ends.
func TestPoolExhaustionIsUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.Open(srv.URL() + "?pool_size=1&pool_timeout=50ms")
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	seed(t, s)
	pause := newClient(t, srv)
	require.NoError(t, pause.Do(t.Context(), "CLIENT", "PAUSE", "3000", "ALL").Err())
	t.Cleanup(func() { _ = pause.Do(context.Background(), "CLIENT", "UNPAUSE").Err() })

	const callers = 8
	errs := make(chan error, callers)
	start := time.Now()
	for range callers {
		go func() {
			_, err := s.GetUser(context.Background(), "u")
			errs <- err
		}()
	}
	poolTimeouts := 0
	for range callers {
		err := <-errs
		require.ErrorIs(t, err, engine.ErrUnavailable)
		if errors.Is(err, redis.ErrPoolTimeout) {
			poolTimeouts++
		}
	}
	t.Logf("%d concurrent reads on a pool of 1: all unavailable after %.0f ms, %d of them waiting for a connection",
		callers, float64(time.Since(start).Milliseconds()), poolTimeouts)
	assert.Positive(t, poolTimeouts, "some calls found the pool exhausted")
}

// R45: a Redis frozen by SIGSTOP accepts connections and answers nothing:
// every call, however many round trips and retries it would take, fails
// with ErrUnavailable once its timeout ends, concurrent calls do not pile
// up, and after SIGCONT the same Store serves again.
func TestStalledRedisIsUnavailable(t *testing.T) {
	srv := redistest.Start(t)
	s := newStoreDefaults(t, srv)
	seed(t, s)

	srv.Pause()
	requireNotNow(t, s, every)

	const callers = 50
	errs := make(chan error, callers)
	start := time.Now()
	for i := range callers {
		go func() { errs <- s.Commit(context.Background(), fullChange(fmt.Sprintf("acct-%d", i), "u")) }()
	}
	for range callers {
		require.ErrorIs(t, <-errs, engine.ErrUnavailable)
	}
	t.Logf("%d concurrent commits on a stalled Redis: all unavailable after %.0f ms",
		callers, float64(time.Since(start).Milliseconds()))

	srv.Resume()
	start = time.Now()
	require.Eventually(t, func() bool { return s.Ping(t.Context()) == nil }, 30*time.Second, 10*time.Millisecond)
	t.Logf("serving again %.0f ms after SIGCONT", float64(time.Since(start).Milliseconds()))
	requireServes(t, s)
}

// R45: a peer that resets every connection (a proxy or load balancer in
// trouble) makes every call fail with ErrUnavailable.
func TestConnectionResetIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.(*net.TCPConn).SetLinger(0) // close with RST
			_ = conn.Close()
		}
	}()
	s, err := redisstore.Open("redis://" + ln.Addr().String() + "/0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	requireNotNow(t, s, every)
}

// The read timeout bounds subscribing, not the subscription: activations
// made long after WatchPolicy returned are still delivered.
func TestWatchOutlivesItsReadTimeout(t *testing.T) {
	srv := redistest.Start(t)
	watcher, err := redisstore.Open(srv.URL(), redisstore.WithReadTimeout(50*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(func() { _ = watcher.Close() })
	pusher := newStoreDefaults(t, srv)
	activations, err := watcher.WatchPolicy(t.Context())
	require.NoError(t, err)
	<-time.After(500 * time.Millisecond) // ten read timeouts pass: the condition under test, not a wait for an event

	require.NoError(t, pusher.SavePolicy(t.Context(), policyRevision("rev-1")))
	require.NoError(t, pusher.ActivatePolicy(t.Context(), engine.PolicyActivation{Revision: "rev-1"}))
	select {
	case got := <-activations:
		assert.Equal(t, "rev-1", got.Revision)
	case <-time.After(30 * time.Second):
		require.FailNow(t, "the watch ended with its read timeout")
	}
}
