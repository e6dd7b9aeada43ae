package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
)

// Issue 9, section 2: --server localhost:8280 without a scheme works
// (http:// assumed); a malformed one is an error naming the flag.
func TestServerURL(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "localhost:8280", want: "http://localhost:8280"},
		{in: "127.0.0.1:8280", want: "http://127.0.0.1:8280"},
		{in: "[::1]:8280", want: "http://[::1]:8280"},
		{in: " localhost:8280/ ", want: "http://localhost:8280"},
		{in: "localhost", want: "http://localhost"},
		{in: "http://127.0.0.1:8280/", want: "http://127.0.0.1:8280"},
		{in: "https://gatehouse.example.com/authz/", want: "https://gatehouse.example.com/authz"},
		{in: "", err: "is empty"},
		{in: "::1:8280", err: "is not a URL"},
		{in: "localhost:http", err: "is not a URL"},
		{in: "localhost:70000", err: "not 1-65535"},
		{in: "ftp://localhost:8280", err: "has scheme ftp"},
		{in: "http://", err: "has no host"},
		{in: ":8280", err: "has no host"},
		{in: "gate house:8280", err: "is not a URL"},
		{in: "localhost:8280?x=1", err: "has a query"},
		{in: "http://ops:s3cret@localhost:8280", err: "credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := serverURL(tc.in)
			if tc.err == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "--server")
			assert.Contains(t, err.Error(), tc.err)
			assert.NotContains(t, err.Error(), "s3cret", "no secret in a message")
		})
	}
}

// The client commands reach a server given as host:port, and refuse a
// malformed --server (or GATEHOUSE_SERVER) before sending anything.
func TestServerFlagWithoutScheme(t *testing.T) {
	cli := newAdminCLI(t)
	hostPort := strings.TrimPrefix(cli.url, "http://")
	token, err := httpapi.MintHS256(cli.secret, "alice", time.Hour)
	require.NoError(t, err)

	out, err := runGatehouse(t, "members", "list", "acme", "--json", "--server", hostPort, "--token", token)
	require.NoError(t, err, out)
	var members []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &members), out)
	assert.NotEmpty(t, members)

	out, err = runGatehouse(t, "decide", "--remote", "--server", hostPort, "--subject", "alice", "--action", "manage", "--account", "acme")
	require.NoError(t, err, out)
	var ans decisionAnswer
	require.NoError(t, json.Unmarshal([]byte(out), &ans), out)
	assert.True(t, ans.Allow, "%v", ans.Reasons)

	t.Setenv("GATEHOUSE_SERVER", hostPort)
	t.Setenv("GATEHOUSE_TOKEN", token)
	out, err = runGatehouse(t, "members", "list", "acme")
	require.NoError(t, err, out)
	assert.Contains(t, out, "alice")

	t.Setenv("GATEHOUSE_SERVER", "localhost:port")
	_, err = runGatehouse(t, "requests", "list", "--account", "acme")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `--server "localhost:port" (or GATEHOUSE_SERVER) is not a URL`)
}
