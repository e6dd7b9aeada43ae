package sentineltest_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// Issue 11, item 5: with WithMinReplicasAck, a write the replica has not
// acknowledged is not acknowledged to its caller either: it is an
// outcome-unknown error (503 outcome_unknown), and so is a retry with the
// same Idempotency-Key while the replica still lags. Once the replica
// caught up, the retry replays the first answer: the change was applied
// once.
func TestUnacknowledgedWriteIsOutcomeUnknownAndItsRetryAppliesOnce(t *testing.T) {
	d := redistest.StartSentinel(t)
	store := openStore(t, d, redisstore.WithMinReplicasAck(1, 100*time.Millisecond))
	eng := newEngine(t, store)
	accounts := []string{"acme"}
	seed(t, openStore(t, d), accounts, 1) // not under test: it need not wait for the replica
	ctx := context.Background()
	attempt := func() (*engine.Idempotency, error) {
		idem := &engine.Idempotency{Key: "add-u0", Fingerprint: "PUT /v1/accounts/acme/members/u0",
			Answer: func(v any) ([]byte, error) { return json.Marshal(v) }}
		_, err := eng.SetMember(engine.WithIdempotency(ctx, idem), operator, member(accounts, 0))
		return idem, err
	}

	replica := d.Replica()
	replica.Pause()
	_, err := attempt()
	require.ErrorIs(t, err, engine.ErrOutcomeUnknown, "a commit the replica did not acknowledge")
	_, err = attempt()
	require.ErrorIs(t, err, engine.ErrOutcomeUnknown, "a replay of an answer the replica did not acknowledge")

	replica.Resume()
	// The client retries with the same key until the replica caught up
	// (on a busy machine that may take more than one 100ms wait).
	var idem *engine.Idempotency
	require.Eventually(t, func() bool {
		idem, err = attempt()
		return !errors.Is(err, engine.ErrOutcomeUnknown) // done, or another error
	}, time.Minute, 50*time.Millisecond, "the retry succeeds once the replica caught up")
	require.NoError(t, err)
	answer, replayed := idem.Result()
	assert.True(t, replayed, "the retry replays the first answer")
	var m engine.Membership
	require.NoError(t, json.Unmarshal(answer, &m))
	assert.Equal(t, "u0", m.User)

	recs, err := store.ListAudit(ctx, "acme", "", 0, engine.Ascending)
	require.NoError(t, err)
	var adds int
	for _, r := range recs {
		if r.Target == "u0" {
			adds++
		}
	}
	assert.Equal(t, 1, adds, "the membership was written once: %+v", recs)
}

// Without WithMinReplicasAck, the same write is acknowledged at once, the
// replica lagging or not: what a failover can lose.
func TestWithoutMinReplicasAckAWriteDoesNotWaitForTheReplica(t *testing.T) {
	d := redistest.StartSentinel(t)
	store := openStore(t, d)
	eng := newEngine(t, store)
	accounts := []string{"acme"}
	seed(t, store, accounts, 1)

	replica := d.Replica()
	replica.Pause()
	defer replica.Resume()
	_, err := eng.SetMember(context.Background(), operator, member(accounts, 0))
	require.NoError(t, err)
}
