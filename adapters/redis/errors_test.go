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
