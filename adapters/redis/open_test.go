package redis_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// Open parses the URL without contacting Redis: a sidecar starts during an
// outage and reports it (R45).
func TestOpenURLs(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		wantErr string
	}{
		{"plain", "redis://127.0.0.1:1/0", ""},
		{"password and options", "redis://:secret@127.0.0.1:1/2?dial_timeout=1s&max_retries=1", ""},
		{"TLS", "rediss://127.0.0.1:1", ""},
		{"unix socket", "unix:///tmp/redis.sock?db=1", ""},
		{"sentinel", "redis+sentinel://127.0.0.1:26379/0?master_name=mymaster&addr=127.0.0.1:26380", ""},
		{"sentinel over TLS", "rediss+sentinel://127.0.0.1:26379?master_name=mymaster", ""},
		{"sentinel without master", "redis+sentinel://127.0.0.1:26379", "master_name"},
		{"cluster", "redis+cluster://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002", ""},
		{"cluster with password and options", "redis+cluster://:secret@127.0.0.1:7000?dial_timeout=1s&read_only=true", ""},
		{"cluster over TLS", "rediss+cluster://127.0.0.1:7000", ""},
		{"cluster with a database", "redis+cluster://127.0.0.1:7000/1", "database"},
		{"cluster with an unknown option", "redis+cluster://:secret@127.0.0.1:7000?colour=blue", "colour"},
		{"unknown scheme", "http://127.0.0.1:6379", "unsupported URL scheme"},
		{"no scheme", "127.0.0.1:6379", "unsupported URL scheme"},
		{"bad database", "redis://127.0.0.1:6379/x", "invalid database"},
		{"unknown option", "redis://127.0.0.1:6379?colour=blue", "colour"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := redisstore.Open(tc.url)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.NotContains(t, err.Error(), "secret", "no password in an error")
				assert.Nil(t, s)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, s)
			assert.NoError(t, s.Close())
		})
	}
}

// An unreachable address opens, then reports the outage on Ping.
func TestOpenUnreachable(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	s, err := redisstore.Open(srv.URL())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.ErrorIs(t, s.Ping(t.Context()), engine.ErrUnavailable)
}

// WithPrefix keeps two deployments apart in one database.
func TestWithPrefix(t *testing.T) {
	srv := redistest.Start(t)
	s, err := redisstore.Open(srv.URL(), redisstore.WithPrefix("blue"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, s.Commit(t.Context(), fullChange("acme", "u")))

	keys, err := newClient(t, srv).Keys(t.Context(), "*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	for _, k := range keys {
		assert.True(t, strings.HasPrefix(k, "blue:"), k)
	}
	_, err = newStore(t, srv).GetAccount(t.Context(), "acme")
	require.ErrorIs(t, err, engine.ErrNotFound, "the default prefix does not see it")
}
