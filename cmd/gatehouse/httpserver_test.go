package main

import (
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
)

// The HTTP bounds are checked before serving; each error names its flag
// (issue 7, point 2; R44).
func TestHTTPConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*HTTPConfig)
		bounds []handlerBound
		want   []string
	}{
		{name: "defaults", change: func(*HTTPConfig) {}},
		{name: "zero read header timeout", change: func(h *HTTPConfig) { h.ReadHeaderTimeout = 0 },
			want: []string{"--http-read-header-timeout must be positive (it is 0s)"}},
		{name: "negative read timeout", change: func(h *HTTPConfig) { h.ReadTimeout = -time.Second },
			want: []string{"--http-read-timeout must be positive (it is -1s)"}},
		{name: "zero write timeout", change: func(h *HTTPConfig) { h.WriteTimeout = 0 },
			want: []string{"--http-write-timeout must be positive"}},
		{name: "zero idle timeout", change: func(h *HTTPConfig) { h.IdleTimeout = 0 },
			want: []string{"--http-idle-timeout must be positive"}},
		{name: "zero shutdown timeout", change: func(h *HTTPConfig) { h.ShutdownTimeout = 0 },
			want: []string{"--http-shutdown-timeout must be positive"}},
		{name: "header timeout past the read timeout", change: func(h *HTTPConfig) { h.ReadHeaderTimeout = 20 * time.Second },
			want: []string{"--http-read-header-timeout (20s) must not exceed --http-read-timeout (10s)"}},
		{name: "write timeout not past the read timeout", change: func(h *HTTPConfig) { h.WriteTimeout = 10 * time.Second },
			want: []string{"--http-write-timeout (10s) must exceed --http-read-timeout (10s)"}},
		{name: "write timeout below a handler bound", change: func(*HTTPConfig) {},
			bounds: []handlerBound{{"--store-timeout", 2 * time.Minute}},
			want:   []string{"--http-write-timeout (1m0s) must exceed --store-timeout (2m0s)"}},
		{name: "write timeout above a handler bound", change: func(*HTTPConfig) {},
			bounds: []handlerBound{{"--store-timeout", time.Second}}},
		{name: "header bytes too small", change: func(h *HTTPConfig) { h.MaxHeaderBytes = 100 },
			want: []string{"--http-max-header-bytes must be at least 4096 (it is 100)"}},
		{name: "no connections", change: func(h *HTTPConfig) { h.MaxConnections = 0 },
			want: []string{"--http-max-connections must be positive (it is 0)"}},
		{name: "every error at once", change: func(h *HTTPConfig) { h.MaxHeaderBytes, h.MaxConnections, h.WriteTimeout = -1, -1, time.Second },
			want: []string{"--http-max-header-bytes", "--http-max-connections", "--http-write-timeout"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := DefaultHTTPConfig()
			tc.change(&h)
			err := errors.Join(h.validate(tc.bounds...)...)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				return
			}
			for _, want := range tc.want {
				require.ErrorContains(t, err, want)
			}
		})
	}

	cfg := DefaultConfig()
	cfg.HTTP.MaxConnections = -5
	require.ErrorContains(t, cfg.Validate(), "--http-max-connections", "Config.Validate checks the HTTP bounds")
}

// The connection limit defaults to 1024, or half the open-file limit when
// that is lower.
func TestDefaultMaxConnections(t *testing.T) {
	for nofile, want := range map[uint64]int{0: 1024, 1: 1, 256: 128, 1024: 512, 2048: 1024, 1 << 20: 1024, ^uint64(0): 1024} {
		assert.Equal(t, want, defaultMaxConnections(nofile), "RLIMIT_NOFILE %d", nofile)
	}
	assert.Positive(t, DefaultHTTPConfig().MaxConnections)
	assert.LessOrEqual(t, DefaultHTTPConfig().MaxConnections, 1024)
}

// Each HTTP flag also reads GATEHOUSE_<FLAG>; a flag given wins.
func TestHTTPFlagsReadTheEnvironment(t *testing.T) {
	env := map[string]string{
		"GATEHOUSE_HTTP_READ_HEADER_TIMEOUT": "3s",
		"GATEHOUSE_HTTP_READ_TIMEOUT":        "7s",
		"GATEHOUSE_HTTP_WRITE_TIMEOUT":       "45s",
		"GATEHOUSE_HTTP_IDLE_TIMEOUT":        "90s",
		"GATEHOUSE_HTTP_SHUTDOWN_TIMEOUT":    "20s",
		"GATEHOUSE_HTTP_MAX_HEADER_BYTES":    "16384",
		"GATEHOUSE_HTTP_MAX_CONNECTIONS":     "300",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	cfg := DefaultConfig()
	cmd := newServeCommand(cfg)
	require.NoError(t, cmd.Flags().Parse([]string{"--http-max-connections", "200"}))
	require.NoError(t, applyEnv(cmd.Flags()))
	assert.Equal(t, HTTPConfig{
		ReadHeaderTimeout: 3 * time.Second,
		ReadTimeout:       7 * time.Second,
		WriteTimeout:      45 * time.Second,
		IdleTimeout:       90 * time.Second,
		ShutdownTimeout:   20 * time.Second,
		MaxHeaderBytes:    16384,
		MaxConnections:    200,
	}, cfg.HTTP)
	require.NoError(t, cfg.Validate())

	t.Setenv("GATEHOUSE_HTTP_READ_TIMEOUT", "soon")
	require.ErrorContains(t, applyEnv(newServeCommand(DefaultConfig()).Flags()), "GATEHOUSE_HTTP_READ_TIMEOUT")

	t.Setenv("GATEHOUSE_HTTP_READ_TIMEOUT", "1m")
	_, err := runGatehouse(t, "serve")
	require.ErrorContains(t, err, "--http-write-timeout (45s) must exceed --http-read-timeout (1m0s)",
		"serve refuses bounds from the environment that do not fit")
}

// A serve that cannot listen (its address is taken) exits with the error
// and leaves no new, empty store behind: offline commands would read one
// as real and deny every subject as unknown (issue 9).
func TestServeThatCannotListenCreatesNoStore(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	dir := filepath.Join(t.TempDir(), "data")

	_, err = runGatehouse(t, "serve", "--addr", taken.Addr().String(), "--data-dir", dir)
	require.ErrorContains(t, err, "address already in use")
	assert.NoFileExists(t, filepath.Join(dir, embedded.FileName))

	_, err = runGatehouse(t, "decide", "--data-dir", dir, "--subject", "alice", "--action", "manage", "--account", "acme")
	require.ErrorContains(t, err, "holds no gatehouse store", "decide still refuses, and never answers from an empty store")
}
