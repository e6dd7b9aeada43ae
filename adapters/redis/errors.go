package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

// wrap turns a go-redis error into one the engine understands: redis.Nil
// wraps engine.ErrNotFound, a failure to reach Redis or a Redis that cannot
// serve now wraps engine.ErrUnavailable (R45), anything else keeps its
// cause.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return fmt.Errorf("redis: %s: %w", op, engine.ErrNotFound)
	case unavailable(err):
		return fmt.Errorf("redis: %s: %w: %w", op, engine.ErrUnavailable, err)
	default:
		return fmt.Errorf("redis: %s: %w", op, err)
	}
}

// wrapTx is wrap for a MULTI/EXEC transaction, whose EXEC fails with
// EXECABORT when Redis refused one of the queued commands: the first
// refusal among cmds is the cause, and a refusal meaning "not now"
// (LOADING, MASTERDOWN, BUSY ...) makes the transaction unavailable too.
// A missing key in one command is no failure of the transaction.
func wrapTx(op string, cmds []redis.Cmder, err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return nil
	}
	if !redis.IsExecAbortError(err) {
		return wrap(op, err)
	}
	for _, cmd := range cmds {
		cause := cmd.Err()
		if cause == nil || errors.Is(cause, redis.Nil) || redis.IsExecAbortError(cause) {
			continue
		}
		if unavailable(cause) {
			return fmt.Errorf("redis: %s: %w: %w (queued %s: %w)", op, engine.ErrUnavailable, err, cmd.Name(), cause)
		}
		return fmt.Errorf("redis: %s: %w (queued %s: %w)", op, err, cmd.Name(), cause)
	}
	return wrap(op, err)
}

// notNowCodes are the error codes with which Redis says it cannot serve a
// command now, though the command is sound and may succeed later:
//
//	LOADING      a restarted Redis is still loading its data set
//	MASTERDOWN   a replica lost its master and serves no stale data
//	READONLY     the address names a replica (after a failover, say)
//	BUSY         a script or function runs past busy-reply-threshold
//	NOREPLICAS   min-replicas-to-write is not met
//	CLUSTERDOWN  the cluster is down
//	TRYAGAIN     a cluster slot is being migrated
//	MISCONF      writes are refused after a failed RDB save
//	OOM          writes are refused at maxmemory
//
// EXECABORT carries the code of the queued command Redis refused, when the
// reply names it ("Transaction discarded because of: BUSY ...").
var notNowCodes = map[string]bool{
	"LOADING": true, "MASTERDOWN": true, "READONLY": true, "BUSY": true, "NOREPLICAS": true,
	"CLUSTERDOWN": true, "TRYAGAIN": true, "MISCONF": true, "OOM": true,
}

// unavailable reports whether err means Redis could not be reached, did not
// answer in time, or cannot serve right now, as opposed to a bad command or
// bad data. A caller's own cancellation is none of these.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	for _, target := range []error{
		redis.ErrClosed, redis.ErrPoolTimeout, redis.ErrPoolExhausted,
		context.DeadlineExceeded, io.EOF, io.ErrUnexpectedEOF, net.ErrClosed,
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE, syscall.ETIMEDOUT,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	if redis.IsMaxClientsError(err) {
		return true
	}
	var redisErr redis.Error
	if !errors.As(err, &redisErr) {
		return false
	}
	code, rest, _ := strings.Cut(redisErr.Error(), " ")
	if code == "EXECABORT" {
		if _, cause, ok := strings.Cut(rest, "because of: "); ok {
			code, _, _ = strings.Cut(cause, " ")
		}
	}
	return notNowCodes[code]
}
