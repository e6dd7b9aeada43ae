package redis

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// countingHook counts round trips (a command, or a pipeline) and commands.
type countingHook struct{ trips, cmds atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.trips.Add(1)
		h.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.trips.Add(1)
		h.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// Issue 11: the round trips of one commit, logged as a figure. A change on
// one account that also writes other slots (indexes, events) takes five:
// the registration, the home script (whose reply carries the outbox), the
// steps on gh:events with the fan-out read, the other steps with the
// copies, the fan-out cursor with the XDEL. A change on the home slot
// alone takes one.
func TestCommitRoundTrips(t *testing.T) {
	s := replica(t, redistest.Start(t).URL())
	hook := &countingHook{}
	s.client.AddHook(hook)
	// The first commit loads the scripts into Redis.
	require.NoError(t, s.Commit(t.Context(), grantOn("warm")))

	hook.trips.Store(0)
	hook.cmds.Store(0)
	require.NoError(t, s.Commit(t.Context(), grantOn("acme")))
	t.Logf("a grant on one account (request, member, audit, event): %d round trips, %d commands",
		hook.trips.Load(), hook.cmds.Load())
	assert.Equal(t, int64(5), hook.trips.Load())

	hook.trips.Store(0)
	require.NoError(t, s.Commit(t.Context(), engine.Change{
		Versions: map[string]uint64{"acme": 1},
		Accounts: []engine.Account{{ID: "acme", Name: "Acme"}},
	}))
	t.Logf("an account record alone: %d round trip", hook.trips.Load())
	assert.Equal(t, int64(1), hook.trips.Load())
}

// grantOn is a granted request of ann on account, with her membership, an
// audit record and an event to her.
func grantOn(account string) engine.Change {
	return engine.Change{
		ID: "c-" + account, Versions: map[string]uint64{account: 0},
		Requests: []engine.AccessRequest{{ID: "r-" + account, Kind: engine.KindAccount, Account: account, Requester: "ann",
			Status: engine.StatusGranted}},
		Members: []engine.Membership{{Account: account, User: "ann", Roles: []string{"account_user"}}},
		Audit:   []engine.AuditRecord{{ID: "au-" + account, Account: account, Action: "request.granted"}},
		Events:  []engine.Event{{ID: "ev-" + account, Type: "request.granted", Account: account, To: []string{"ann"}}},
	}
}
