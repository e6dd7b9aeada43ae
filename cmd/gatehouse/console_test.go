package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 12: the console's development sign-in exists only on a server
// that has the development secret it mints tokens with.
func TestConsoleDevSignInNeedsSecret(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Console.DevSignIn = true
	err := cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--console-dev-sign-in needs --jwt-hs256-secret-file")

	cfg.JWTSecretFile = "secret"
	assert.NoError(t, cfg.Validate())
}

// The session key file holds 32 bytes in base64; anything else is refused
// with the flag's name and never echoed.
func TestConsoleSessionKeyFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	require.NoError(t, os.WriteFile(good, []byte("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"), 0o600))
	key, err := readSessionKey(good)
	require.NoError(t, err)
	assert.Len(t, key, 32)

	short := filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(short, []byte("c2hvcnQtc2VjcmV0"), 0o600))
	_, err = readSessionKey(short)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--console-session-key-file")
	assert.NotContains(t, err.Error(), "c2hvcnQtc2VjcmV0")

	_, err = readSessionKey(filepath.Join(dir, "missing"))
	assert.ErrorContains(t, err, "--console-session-key-file")
}

// Every answer under /console, the redirect of an unclean path included,
// carries the console's security headers; the rest is the API's.
func TestConsoleRoutesEveryConsolePath(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Answered-By", "api")
		w.WriteHeader(http.StatusTeapot)
	})
	h, err := withConsole(context.Background(), DefaultConfig(), api, false, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	for path, status := range map[string]int{
		"/console":                     http.StatusFound,
		"/console/login":               http.StatusOK,
		"/console/static/../login":     http.StatusTemporaryRedirect,
		"/console//requests":           http.StatusTemporaryRedirect,
		"/console/static/../../v1/x":   http.StatusTemporaryRedirect,
		"/console/static/%2e%2e/login": http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "http://gatehouse.example"+path, nil)
		h.ServeHTTP(rec, req)
		assert.Equal(t, status, rec.Code, path)
		assert.Contains(t, rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'", path)
		assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), path)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/status", nil))
	assert.Equal(t, "api", rec.Header().Get("X-Answered-By"))
	assert.Empty(t, rec.Header().Get("Content-Security-Policy"))
}
