package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

// durability is what WithMinReplicasAck asks of Commit: replicas > 0 makes
// every commit wait (Redis WAIT) until that many replicas acknowledged it,
// for at most timeout.
type durability struct {
	replicas int
	timeout  time.Duration
}

// DefaultMinReplicasAckTimeout is how long a commit waits for its replica
// acknowledgements when WithMinReplicasAck is given no timeout.
const DefaultMinReplicasAckTimeout = 500 * time.Millisecond

// WithMinReplicasAck makes Commit durable across a failover: once the
// commit script and its outbox are applied, a barrier write on the
// change's commit record and Redis WAIT on that connection block until n replicas
// acknowledged every write the primary had made by then, for at most
// timeout (DefaultMinReplicasAckTimeout when zero or less). When fewer
// acknowledged in time, the change is applied on the primary but could
// still be lost if a replica that lacks it is promoted: Commit returns an
// error wrapping engine.ErrOutcomeUnknown and engine.ErrUnavailable (503
// outcome_unknown), which the engine answers by sending the change again;
// the resend is answered "applied" by its commit record and waits again.
// Idempotency waits the same way before it replays a kept answer, and
// ActivatePolicy before it answers (covering the revision saved before
// it: a policy push is acknowledged once the replicas hold it). n = 0
// (the default) waits for nobody: an acknowledged commit that had not
// reached a replica is lost when that replica is promoted.
//
// Reads, decisions, SavePolicy alone, leases and cursors do not wait. Redis
// Cluster: the wait is sent to the primary of the commit's home slot, and
// covers the outbox's steps applied on that primary only.
func WithMinReplicasAck(n int, timeout time.Duration) Option {
	return func(s *Store) {
		if timeout <= 0 {
			timeout = DefaultMinReplicasAckTimeout
		}
		s.durability = durability{replicas: max(n, 0), timeout: timeout}
	}
}

// barrierLua reads the string at KEYS[1] and, when it exists, writes it
// back unchanged (keeping its time to live): a write that goes down the
// replication stream after whatever the primary held when it ran, so that a
// WAIT after it on the same connection covers the key's own write, made
// earlier, maybe on another connection. Replies the value, or nil.
const barrierLua = `local v = redis.call('GET', KEYS[1])
if v then
  redis.call('SET', KEYS[1], v, 'KEEPTTL')
end
return v`

var barrier = redis.NewScript(barrierLua)

// durably sends the commands queue adds, then WAIT, in one pipeline to the
// primary of slotKey's hash slot, loading the scripts once when Redis does
// not know them (NOSCRIPT: a restarted or newly promoted primary). It
// returns a function that reports whether enough replicas acknowledged:
// nil, or an error wrapping engine.ErrOutcomeUnknown (an
// *engine.ReplicaAckError when WAIT answered too few). A failure to reach
// Redis is wrapped by wrapSent.
func (s *Store) durably(ctx context.Context, op, slotKey string, queue func(redis.Pipeliner) []redis.Cmder) (func() error, error) {
	node, err := s.primaryFor(ctx, slotKey)
	if err != nil {
		return nil, wrapSent(op, err)
	}
	var wait *redis.Cmd
	for attempt := 1; ; attempt++ {
		var cmds []redis.Cmder
		_, err = node.Pipelined(ctx, func(p redis.Pipeliner) error {
			cmds = queue(p)
			wait = p.Do(ctx, "WAIT", s.durability.replicas, s.durability.timeout.Milliseconds())
			return nil
		})
		if !noScript(cmds) || attempt == 2 {
			break
		}
		for _, script := range []*redis.Script{s.commit, barrier} {
			if err := script.Load(ctx, node).Err(); err != nil {
				return nil, wrapSent(op, err)
			}
		}
	}
	if err != nil && !errors.Is(err, redis.Nil) && !isRedisError(err) {
		return nil, wrapSent(op, err) // the pipeline never got its replies
	}
	return func() error {
		n, err := wait.Int64()
		if err != nil {
			return fmt.Errorf("redis: %s: %w (%w): applied by the primary, but WAIT failed: %w",
				op, engine.ErrOutcomeUnknown, engine.ErrUnavailable, err)
		}
		if int(n) < s.durability.replicas {
			return fmt.Errorf("redis: %s: %w", op,
				&engine.ReplicaAckError{Acknowledged: int(n), Required: s.durability.replicas, Timeout: s.durability.timeout})
		}
		return nil
	}, nil
}

// confirm waits, with WithMinReplicasAck, until the replicas acknowledged
// everything the primary had written up to key's last write (a string key,
// rewritten unchanged by the barrier): for ActivatePolicy, whose
// acknowledgement then covers the revision it activates, saved before it;
// and for Commit, on the change's commit record, once the home script and
// the outbox's steps are applied: the barrier is written after them, so
// the acknowledgements cover every write the primary holds of the change
// (on Redis Cluster, only those of the record's slot: the steps on other
// masters are not waited for). Without WithMinReplicasAck it returns nil at once.
func (s *Store) confirm(ctx context.Context, op, key string) error {
	if s.durability.replicas == 0 {
		return nil
	}
	acked, err := s.durably(ctx, op, key, func(p redis.Pipeliner) []redis.Cmder {
		return []redis.Cmder{barrier.EvalSha(ctx, p, []string{key})}
	})
	if err != nil {
		return err
	}
	return acked()
}

// durableIdempotency reads the idempotency record at key through the
// barrier and waits for the replicas, so that an answer replayed from it is
// as durable as a commit's: a record the replicas have not acknowledged is
// an error wrapping engine.ErrOutcomeUnknown. A missing record wraps
// engine.ErrNotFound.
func (s *Store) durableIdempotency(ctx context.Context, op, key string) (string, error) {
	var read *redis.Cmd
	acked, err := s.durably(ctx, op, key, func(p redis.Pipeliner) []redis.Cmder {
		read = barrier.EvalSha(ctx, p, []string{key})
		return []redis.Cmder{read}
	})
	if err != nil {
		return "", err
	}
	data, err := read.Text()
	if err != nil {
		return "", wrap(op, err)
	}
	return data, acked()
}

// primaryFor returns a client on the primary that serves key: the client
// itself for a standalone or Sentinel-managed Redis, the slot's primary on
// Redis Cluster.
func (s *Store) primaryFor(ctx context.Context, key string) (*redis.Client, error) {
	switch c := s.client.(type) {
	case *redis.Client:
		return c, nil
	case *redis.ClusterClient:
		return c.MasterForKey(ctx, key)
	default:
		return nil, fmt.Errorf("WAIT for replicas needs a standalone, Sentinel or Cluster client, not %T", s.client)
	}
}

// noScript reports whether one of cmds failed with NOSCRIPT.
func noScript(cmds []redis.Cmder) bool {
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			return true
		}
	}
	return false
}

// isRedisError reports whether err is an error reply of Redis (one command
// of a pipeline refused), as opposed to a failure to reach it.
func isRedisError(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}

// ConnectedReplicas returns how many replicas follow the primary the store
// writes to (INFO replication, connected_slaves); on Redis Cluster, the
// fewest of any master, since a commit waits on its home slot's master.
// serve compares it with WithMinReplicasAck's n at start: fewer, and every
// commit answers outcome unknown until more connect. Errors (Redis out of
// reach within the read timeout) wrap engine.ErrUnavailable.
func (s *Store) ConnectedReplicas(ctx context.Context) (int, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	count := func(ctx context.Context, c *redis.Client) (int, error) {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return 0, err
		}
		for line := range strings.Lines(info) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_slaves:"); ok {
				return strconv.Atoi(v)
			}
		}
		return 0, errors.New("INFO replication names no connected_slaves")
	}
	var fewest int
	var err error
	switch c := s.client.(type) {
	case *redis.Client:
		fewest, err = count(ctx, c)
	case *redis.ClusterClient:
		var mu sync.Mutex
		fewest = math.MaxInt
		err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			n, err := count(ctx, m)
			mu.Lock()
			defer mu.Unlock()
			fewest = min(fewest, n)
			return err
		})
	default:
		err = fmt.Errorf("counting replicas needs a standalone, Sentinel or Cluster client, not %T", s.client)
	}
	if err != nil {
		return 0, fmt.Errorf("redis: connected replicas: %w: %w", engine.ErrUnavailable, err)
	}
	return fewest, nil
}
