package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// resendsOutOfTime is a store whose commits after the first run with a
// context already at its deadline: a resend that runs out of time while it
// waits for replicas, as a write does with serve's default timeouts (a 1s
// write, 500ms for each wait).
type resendsOutOfTime struct {
	engine.Store
	commits atomic.Int64
}

func (s *resendsOutOfTime) Commit(ctx context.Context, c engine.Change) error {
	if s.commits.Add(1) > 1 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, time.Now())
		defer cancel()
	}
	return s.Store.Commit(ctx, c)
}

// R40, R45 (issue 11, item 5): a commit that a Redis primary without
// replicas applied but that WAIT could not confirm is sent again; when the
// resend runs out of time, the error still carries the first attempt's
// shortfall (*engine.ReplicaAckError: 0 of 1 replicas), which the HTTP API
// and the log turn into what the operator must do, as well as the
// resend's own failure, and stays an outcome-unknown error.
func TestReplicaShortfallSurvivesAResendOutOfTime(t *testing.T) {
	primary := redistest.Start(t)
	clk := newFakeClock()
	seed := &world{t: t, ctx: context.Background(), e: newCommandEngine(t, openRedisStore(t, primary), clk), clk: clk}
	seed.acme(nil)
	store := &resendsOutOfTime{Store: openRedisStore(t, primary, redisstore.WithMinReplicasAck(1, 50*time.Millisecond))}
	e := newCommandEngine(t, store, clk)

	_, err := e.SetMember(context.Background(), "alice", engine.Membership{
		Account: "acme", User: "dan", Roles: []string{"account_user"}, Justification: "joins the lab",
	})
	require.ErrorIs(t, err, engine.ErrOutcomeUnknown)
	var ack *engine.ReplicaAckError
	require.ErrorAs(t, err, &ack, "the first attempt's shortfall is kept: %v", err)
	assert.Equal(t, engine.ReplicaAckError{Acknowledged: 0, Required: 1, Timeout: 50 * time.Millisecond}, *ack)
	assert.ErrorContains(t, err, "acknowledged by 0 of the 1 replicas asked for within 50ms; sent again:")
	assert.ErrorIs(t, err, context.DeadlineExceeded, "and the resend's own failure")
	assert.Greater(t, store.commits.Load(), int64(1), "the change was sent again")
	_, err = seed.e.GetMember(context.Background(), sysAdmin, "acme", "dan")
	require.NoError(t, err, "the primary applied the change")
}
