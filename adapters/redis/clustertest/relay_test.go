package clustertest_test

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// slotOwner tells which master of c serves the hash slot of each key.
type slotOwner struct {
	t      *testing.T
	c      *redistest.Cluster
	client *redis.Client
	slots  []redis.ClusterSlot
}

func newSlotOwner(t *testing.T, c *redistest.Cluster) *slotOwner {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: c.Masters[0].Addr()})
	t.Cleanup(func() { _ = client.Close() })
	slots, err := client.ClusterSlots(t.Context()).Result()
	require.NoError(t, err)
	return &slotOwner{t: t, c: c, client: client, slots: slots}
}

// of returns the master serving key.
func (o *slotOwner) of(key string) *redistest.Server {
	o.t.Helper()
	slot, err := o.client.ClusterKeySlot(o.t.Context(), key).Result()
	require.NoError(o.t, err)
	for _, s := range o.slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) {
			for _, m := range o.c.Masters {
				if m.Addr() == s.Nodes[0].Addr {
					return m
				}
			}
		}
	}
	require.FailNow(o.t, "no master serves slot", "%d", slot)
	return nil
}

// R40, R42, R45, issue 11: the master holding the global event stream
// stalls (SIGSTOP) while a commit homed on another master runs: the home
// script lands, the outbox cannot be applied, and the commit answers
// "outcome unknown" within its timeout. The replica is then closed, as a
// killed one; once the master resumes, another replica's relay completes
// the change, and relaying again, or the engine sending the change again,
// adds nothing: one event, in every listing, one version increment.
func TestStalledSlotThenRelayAppliesOnce(t *testing.T) {
	c := startCluster(t)
	const prefix = "stall"
	owner := newSlotOwner(t, c)
	stalled := owner.of(prefix + ":events")
	var home string
	for i := 0; home == ""; i++ {
		id := fmt.Sprintf("acct-%d", i)
		if owner.of(prefix+":{a:"+id+"}:version") != stalled && owner.of(registryKeyOf(prefix, id)) != stalled {
			home = id
		}
	}
	change := engine.Change{
		ID: "c1", Versions: map[string]uint64{home: 0},
		Members: []engine.Membership{{Account: home, User: "ann", Roles: []string{"account_user"}}},
		Audit:   []engine.AuditRecord{{ID: "au1", Account: home, Action: "member.added"}},
		Events:  []engine.Event{{ID: "ev1", Type: "member.added", Account: home, To: []string{"ann"}}},
	}

	crashed, err := redisstore.Open(c.URL(), redisstore.WithPrefix(prefix),
		redisstore.WithReadTimeout(time.Second), redisstore.WithWriteTimeout(time.Second))
	require.NoError(t, err)
	require.NoError(t, crashed.Ping(t.Context()))
	stalled.Pause()
	start := time.Now()
	err = crashed.Commit(t.Context(), change)
	t.Logf("commit with the events' master stalled answered in %s: %v", time.Since(start).Round(time.Millisecond), err)
	require.ErrorIs(t, err, engine.ErrOutcomeUnknown)
	require.NoError(t, crashed.Close())
	stalled.Resume()

	relay := openStore(t, c, prefix)
	state, err := relay.AccountState(t.Context(), home)
	require.ErrorIs(t, err, engine.ErrNotFound, "no account record, but the home slot has the member")
	assert.Zero(t, state.Version)
	members, err := relay.ListMembers(t.Context(), home)
	require.NoError(t, err)
	require.Len(t, members, 1, "the home slot's part landed with the script")
	events, err := relay.ListEvents(t.Context(), "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Empty(t, events, "the global stream waits for the relay")

	require.Eventually(t, func() bool { return relay.Relay(t.Context()) == nil }, 30*time.Second, 100*time.Millisecond)
	require.NoError(t, relay.Relay(t.Context()))
	require.NoError(t, relay.Commit(t.Context(), change), "the engine sending the change again is told it was applied")
	events, err = relay.ListEvents(t.Context(), "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.Equal(t, "ev1", events[0].ID)
	mine, err := relay.ListEventsFor(t.Context(), "ann", "", 0, engine.Ascending)
	require.NoError(t, err)
	require.Len(t, mine, 1)
	assert.Equal(t, events[0].Cursor, mine[0].Cursor)
	audit, err := relay.ListAudit(t.Context(), home, "", 0, engine.Ascending)
	require.NoError(t, err)
	assert.Len(t, audit, 1)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = cc.Close() })
	version, err := cc.Get(t.Context(), prefix+":{a:"+home+"}:version").Uint64()
	require.NoError(t, err)
	assert.Equal(t, uint64(1), version)
}

// registryKeyOf is the registry shard key the store lists account in, as
// doc.go documents it: it must be served by a running master for the
// commit to get to its script.
func registryKeyOf(prefix, account string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(account))
	return prefix + ":{outboxes:" + strconv.Itoa(int(h.Sum32()%16)) + "}"
}
