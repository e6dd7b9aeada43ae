package redis_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// Issue 11, item 5: WithMinReplicasAck answers a commit only once enough
// replicas acknowledged it. A primary with no replica cannot: the change is
// applied, but its outcome is unknown (503 outcome_unknown); sent again, it
// is answered "applied" and waits again, and once a replica follows, that
// resend succeeds.
func TestMinReplicasAckWaitsForAReplica(t *testing.T) {
	primary := redistest.Start(t, redistest.WithArgs("--repl-diskless-sync-delay", "0"))
	store := newStore(t, primary)
	durable, err := redisstore.Open(primary.URL(), slices.Concat(testTimeouts, []redisstore.Option{redisstore.WithMinReplicasAck(1, 50*time.Millisecond)})...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = durable.Close() })
	ctx := context.Background()
	change := engine.Change{ID: "c1", Users: []engine.User{{ID: "alice", Email: "alice@example.com"}}}

	err = durable.Commit(ctx, change)
	require.ErrorIs(t, err, engine.ErrOutcomeUnknown)
	require.ErrorIs(t, err, engine.ErrUnavailable)
	assert.ErrorContains(t, err, "acknowledged by 0 of the 1 replicas asked for within 50ms")
	_, err = store.GetUser(ctx, "alice")
	require.NoError(t, err, "the primary applied the change")

	redistest.Start(t, redistest.ReplicaOf(primary))
	require.Eventually(t, func() bool { return durable.Commit(ctx, change) == nil }, 30*time.Second, 10*time.Millisecond,
		"the resend is acknowledged once a replica follows")

	// A change that conflicts wrote nothing, and does not wait.
	stale := engine.Change{ID: "c2", Versions: map[string]uint64{"acme": 5}}
	require.ErrorIs(t, durable.Commit(ctx, stale), engine.ErrConflict)
}

// The commit and barrier scripts are loaded again when Redis forgot them
// (a restart, a promoted replica): SCRIPT FLUSH between two commits.
func TestMinReplicasAckAfterScriptFlush(t *testing.T) {
	primary := redistest.Start(t, redistest.WithArgs("--repl-diskless-sync-delay", "0"))
	redistest.Start(t, redistest.ReplicaOf(primary))
	durable, err := redisstore.Open(primary.URL(), slices.Concat(testTimeouts, []redisstore.Option{redisstore.WithMinReplicasAck(1, 10*time.Second)})...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = durable.Close() })
	ctx := context.Background()
	require.Eventually(t, func() bool {
		return durable.Commit(ctx, engine.Change{ID: "c1", Users: []engine.User{{ID: "alice"}}}) == nil
	}, 30*time.Second, 10*time.Millisecond)

	require.NoError(t, newClient(t, primary).ScriptFlush(ctx).Err())
	require.NoError(t, durable.Commit(ctx, engine.Change{ID: "c2", Users: []engine.User{{ID: "bob"}}}))
	_, err = durable.GetUser(ctx, "bob")
	require.NoError(t, err)
}

// A policy activation waits for the replicas too, and its acknowledgement
// covers the revision saved before it.
func TestMinReplicasAckCoversPolicyActivation(t *testing.T) {
	primary := redistest.Start(t, redistest.WithArgs("--repl-diskless-sync-delay", "0"))
	durable, err := redisstore.Open(primary.URL(), slices.Concat(testTimeouts, []redisstore.Option{redisstore.WithMinReplicasAck(1, 50*time.Millisecond)})...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = durable.Close() })
	ctx := context.Background()
	require.NoError(t, durable.SavePolicy(ctx, engine.PolicyRevision{Revision: "r1", Files: map[string][]byte{"a.rego": []byte("package a")}}))
	activation := engine.PolicyActivation{Revision: "r1", ActivatedBy: "ops"}

	err = durable.ActivatePolicy(ctx, activation)
	require.ErrorIs(t, err, engine.ErrOutcomeUnknown, "no replica acknowledged the activation")

	redistest.Start(t, redistest.ReplicaOf(primary))
	require.Eventually(t, func() bool { return durable.ActivatePolicy(ctx, activation) == nil }, 30*time.Second, 10*time.Millisecond)
	got, err := durable.ActivePolicy(ctx)
	require.NoError(t, err)
	assert.Equal(t, "r1", got.Revision)
}

// BenchmarkCommitMinReplicasAck commits one membership change at a time on
// a primary with one replica on the same machine, without waiting and with
// WithMinReplicasAck(1): the latency the acknowledgement adds to a write.
func BenchmarkCommitMinReplicasAck(b *testing.B) {
	primary := redistest.Start(b, redistest.WithArgs("--repl-diskless-sync-delay", "0"))
	redistest.Start(b, redistest.ReplicaOf(primary))
	for _, bc := range []struct {
		name string
		ack  int
	}{{"no wait", 0}, {"min-replicas-ack 1", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := redisstore.Open(primary.URL(), slices.Concat(testTimeouts, []redisstore.Option{redisstore.WithMinReplicasAck(bc.ack, 10*time.Second)})...)
			require.NoError(b, err)
			b.Cleanup(func() { _ = s.Close() })
			ctx := b.Context()
			require.Eventually(b, func() bool { return s.Commit(ctx, engine.Change{}) == nil }, 30*time.Second, 10*time.Millisecond, "the replica follows")
			i := 0
			for b.Loop() {
				i++
				m := engine.Membership{Account: "acme", User: fmt.Sprintf("u%d", i), Roles: []string{"account_user"}}
				if err := s.Commit(ctx, engine.Change{ID: fmt.Sprintf("%s-%d", bc.name, i), Members: []engine.Membership{m}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A write with an Idempotency-Key first looks its record up: with
// WithMinReplicasAck, a missing record is answered without WAIT (there is
// nothing to replay, and the commit waits anyway), a record found only
// once the replicas acknowledged it. ConnectedReplicas counts the
// replicas serve compares with the flag at start.
func TestMinReplicasAckWaitsOnlyForARecordFound(t *testing.T) {
	primary := redistest.Start(t, redistest.WithArgs("--repl-diskless-sync-delay", "0"))
	durable, err := redisstore.Open(primary.URL(), slices.Concat(testTimeouts, []redisstore.Option{redisstore.WithMinReplicasAck(1, 50*time.Millisecond)})...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = durable.Close() })
	ctx := context.Background()
	n, err := durable.ConnectedReplicas(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, n)

	_, err = durable.Idempotency(ctx, "acme", "alice", "k1")
	require.ErrorIs(t, err, engine.ErrNotFound)
	assert.Zero(t, commandCalls(t, newClient(t, primary))["wait"], "no WAIT for a record that is not there")

	change := engine.Change{ID: "c1", Home: "acme", Users: []engine.User{{ID: "alice"}}, Idempotency: &engine.IdempotencyRecord{
		Actor: "alice", Key: "k1", Fingerprint: "f", Answer: []byte(`{}`), CreatedAt: time.Now(), Retention: time.Hour,
	}}
	var ack *engine.ReplicaAckError
	require.ErrorAs(t, durable.Commit(ctx, change), &ack)
	assert.Equal(t, engine.ReplicaAckError{Acknowledged: 0, Required: 1, Timeout: 50 * time.Millisecond}, *ack)
	_, err = durable.Idempotency(ctx, "acme", "alice", "k1")
	require.ErrorAs(t, err, &ack, "a record the replicas have not acknowledged is not replayed")

	redistest.Start(t, redistest.ReplicaOf(primary))
	require.Eventually(t, func() bool {
		rec, err := durable.Idempotency(ctx, "acme", "alice", "k1")
		return err == nil && rec.Fingerprint == "f"
	}, 30*time.Second, 10*time.Millisecond, "replayed once a replica holds it")
	n, err = durable.ConnectedReplicas(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}
