package redis

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"

	"github.com/gatehouse/gatehouse/engine"
)

func TestWrap(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
		want error // nil: neither ErrNotFound nor ErrUnavailable
	}{
		{"missing key", redis.Nil, engine.ErrNotFound},
		{"connection refused", refused, engine.ErrUnavailable},
		{"connection reset", syscall.ECONNRESET, engine.ErrUnavailable},
		{"broken pipe", syscall.EPIPE, engine.ErrUnavailable},
		{"timed out", syscall.ETIMEDOUT, engine.ErrUnavailable},
		{"closed client", redis.ErrClosed, engine.ErrUnavailable},
		{"pool timeout", redis.ErrPoolTimeout, engine.ErrUnavailable},
		{"pool exhausted", redis.ErrPoolExhausted, engine.ErrUnavailable},
		{"deadline", context.DeadlineExceeded, engine.ErrUnavailable},
		{"connection closed by Redis", io.EOF, engine.ErrUnavailable},
		{"redis error reply", redis.ErrNoScript, nil},
		{"canceled by the caller", context.Canceled, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := wrap("op", tc.err)
			if tc.want != engine.ErrNotFound {
				assert.ErrorIs(t, got, tc.err, "the cause is kept")
			}
			for _, sentinel := range []error{engine.ErrNotFound, engine.ErrUnavailable} {
				assert.Equal(t, errors.Is(got, sentinel), sentinel == tc.want, "errors.Is(%v)", sentinel)
			}
		})
	}
	assert.NoError(t, wrap("op", nil))
}

// replyError returns the error go-redis makes of the error reply text from
// a real redis-server (a script's redis.error_reply), as it would of the
// server's own refusal.
func replyError(t *testing.T, c *redis.Client, text string) error {
	t.Helper()
	err := c.Eval(t.Context(), "return redis.error_reply(ARGV[1])", nil, text).Err()
	require.Error(t, err)
	require.Equal(t, text, err.Error())
	return err
}

// R45: every error reply with which Redis says "not now" wraps
// ErrUnavailable; replies that say the command or data is wrong do not.
func TestWrapRedisReplies(t *testing.T) {
	srv := redistest.Start(t)
	opts, err := redis.ParseURL(srv.URL())
	require.NoError(t, err)
	opts.MaxRetries = -1 // LOADING and the like would be retried in vain
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })

	tests := []struct {
		reply       string
		unavailable bool
	}{
		{"LOADING Redis is loading the dataset in memory", true},
		{"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", true},
		{"READONLY You can't write against a read only replica.", true},
		{"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", true},
		{"NOREPLICAS Not enough good replicas to write.", true},
		{"CLUSTERDOWN The cluster is down", true},
		{"TRYAGAIN Multiple keys request during rehashing of slot", true},
		{"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.", true},
		{"OOM command not allowed when used memory > 'maxmemory'.", true},
		{"ERR max number of clients reached", true},
		{"EXECABORT Transaction discarded because of: BUSY Redis is busy running a script.", true},
		{"EXECABORT Transaction discarded because of: ERR unknown command 'NOPE'", false},
		{"EXECABORT Transaction discarded because of previous errors.", false},
		{"ERR unknown command 'NOPE'", false},
		{"WRONGTYPE Operation against a key holding the wrong kind of value", false},
		{"NOPERM this user has no permissions to run the 'get' command", false},
		{"NOAUTH Authentication required.", false},
	}
	for _, tc := range tests {
		t.Run(tc.reply, func(t *testing.T) {
			got := wrap("op", replyError(t, c, tc.reply))
			assert.Equal(t, tc.unavailable, errors.Is(got, engine.ErrUnavailable), "%v", got)
			assert.NotErrorIs(t, got, engine.ErrNotFound)
		})
	}
}

// R45: an EXECABORT saying only "previous errors" takes its class from the
// queued command Redis refused.
func TestWrapTxFindsTheCause(t *testing.T) {
	srv := redistest.Start(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	execAbort := replyError(t, c, "EXECABORT Transaction discarded because of previous errors.")
	queued := func(reply string) []redis.Cmder {
		get := redis.NewStringCmd(t.Context(), "get", "k")
		get.SetErr(redis.Nil)
		hvals := redis.NewStringSliceCmd(t.Context(), "hvals", "h")
		hvals.SetErr(replyError(t, c, reply))
		return []redis.Cmder{get, hvals}
	}

	loading := wrapTx("account state", queued("LOADING Redis is loading the dataset in memory"), execAbort)
	require.ErrorIs(t, loading, engine.ErrUnavailable)
	assert.Contains(t, loading.Error(), "queued hvals: LOADING")

	wrongType := wrapTx("account state", queued("WRONGTYPE Operation against a key holding the wrong kind of value"), execAbort)
	require.Error(t, wrongType)
	assert.NotErrorIs(t, wrongType, engine.ErrUnavailable)
	assert.Contains(t, wrongType.Error(), "queued hvals: WRONGTYPE")

	assert.NoError(t, wrapTx("op", nil, redis.Nil), "a missing key is no failure of the transaction")
	assert.ErrorIs(t, wrapTx("op", nil, syscall.ECONNREFUSED), engine.ErrUnavailable)
}
