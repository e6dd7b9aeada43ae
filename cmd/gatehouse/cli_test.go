package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
)

// seededDir is an embedded store holding the demo data.
func seededDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out, err := runGatehouse(t, "seed", "../../testdata/demo.json", "--data-dir", dir)
	require.NoError(t, err, out)
	assert.Equal(t, "seeded 5 accounts, 11 users, 9 members into a new embedded store in "+dir+"\n", out)
	return dir
}

// decideOut runs decide, which must answer, and checks that its exit
// status says what the answer does (0 allow, 2 deny, 3 failed closed).
// Unless args set one, the decision timeout is generous: on a busy machine
// under -race the default 250ms would turn a cold decision into a deny.
func decideOut(t *testing.T, args ...string) decisionAnswer {
	t.Helper()
	if !slices.Contains(args, "--decision-timeout") {
		args = append([]string{"--decision-timeout", "1m"}, args...)
	}
	out, err := runGatehouse(t, append([]string{"decide"}, args...)...)
	var ans decisionAnswer
	require.NoError(t, json.Unmarshal([]byte(out), &ans), "decide must print an answer: %v\n%s", err, out)
	assert.Equal(t, ans.exitStatus(), exitStatusOf(t, err), "exit status of %+v", ans)
	return ans
}

// exitStatusOf is the status main exits with for err: 0, a *statusError's
// code, else 1.
func exitStatusOf(t *testing.T, err error) int {
	t.Helper()
	var se *statusError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &se):
		return se.code
	}
	return exitError
}

// decide answers from local data, from flags or a JSON file (R1, R2, R7).
func TestDecideCommand(t *testing.T) {
	dir := seededDir(t)

	ans := decideOut(t, "--data-dir", dir, "--subject", "alice", "--action", "manage", "--account", "acme")
	assert.True(t, ans.Allow, "%v", ans.Reasons)
	assert.NotEmpty(t, ans.DecisionID)
	assert.NotEmpty(t, ans.PolicyRevision)

	question := filepath.Join(t.TempDir(), "question.json")
	require.NoError(t, os.WriteFile(question, []byte(
		`{"subject": "bob", "action": "use", "resource": {"account": "acme", "virtual_account": "acme-us"}}`), 0o600))
	ans = decideOut(t, "--data-dir", dir, "--file", question)
	assert.False(t, ans.Allow, "R2: bob's role is on acme-emea only")

	_, err := runGatehouse(t, "decide", "--data-dir", dir, "--subject", "alice", "--action", "view")
	require.ErrorContains(t, err, "resource.account", "R44: the missing field is named")

	require.NoError(t, os.WriteFile(question, []byte(`{"subject": "bob", "verb": "use"}`), 0o600))
	_, err = runGatehouse(t, "decide", "--data-dir", dir, "--file", question)
	require.ErrorContains(t, err, "verb: is not a known field")

	// R44: a key given twice or a field name in another case is refused,
	// naming the field, as the API refuses it.
	for body, field := range map[string]string{
		`{"subject": "bob", "subject": "alice", "action": "use", "resource": {"account": "acme"}}`:       "subject: is given twice",
		`{"Subject": "alice", "action": "use", "resource": {"account": "acme"}}`:                         `Subject: is not a known field: field names are case-sensitive, did you mean "subject"?`,
		`{"subject": "bob", "action": "use", "resource": {"account": "acme", "account": "globex"}}`:      "resource.account: is given twice",
		`{"subject": "bob", "action": "use", "resource": {"account": "acme"}, "context": {"a":1,"a":2}}`: "context.a: is given twice",
	} {
		require.NoError(t, os.WriteFile(question, []byte(body), 0o600))
		_, err = runGatehouse(t, "decide", "--data-dir", dir, "--file", question)
		require.ErrorContains(t, err, field, body)
	}
}

// R44: a seed file holding a key twice, or a field name in another case,
// is refused naming the field, and nothing is seeded.
func TestSeedRefusesDuplicateKeys(t *testing.T) {
	for body, field := range map[string]string{
		`{"accounts": [{"id": "acme", "name": "Acme", "name": "Evil", "virtual_accounts": []}]}`:                                                         "accounts[0].name: is given twice",
		`{"accounts": [{"id": "acme", "name": "Acme", "virtual_accounts": [], "settings": {"max_secondary_contacts": 1, "max_secondary_contacts": 9}}]}`: "accounts[0].settings.max_secondary_contacts: is given twice",
		`{"users": [{"id": "a", "email": "a@example.com", "Organization": "acme"}]}`:                                                                     "users[0].Organization: is not a known field",
		`{"accounts": [], "accounts": []}`: "accounts: is given twice",
	} {
		dir := t.TempDir()
		file := filepath.Join(dir, "seed.json")
		require.NoError(t, os.WriteFile(file, []byte(body), 0o600))
		out, err := runGatehouse(t, "seed", file, "--data-dir", filepath.Join(dir, "data"))
		require.ErrorContains(t, err, field, out)
		assert.NotContains(t, out, "seeded")
	}
}

// Every flag also reads GATEHOUSE_<FLAG> (API.md); a flag given wins.
func TestFlagsReadTheEnvironment(t *testing.T) {
	dir := seededDir(t)
	t.Setenv("GATEHOUSE_DATA_DIR", dir)
	assert.True(t, decideOut(t, "--subject", "alice", "--action", "manage", "--account", "acme").Allow)

	empty := filepath.Join(t.TempDir(), "no-store")
	t.Setenv("GATEHOUSE_DATA_DIR", empty)
	assert.True(t, decideOut(t, "--data-dir", dir, "--subject", "alice", "--action", "manage", "--account", "acme").Allow,
		"the flag wins over the environment")
	_, err := runGatehouse(t, "decide", "--subject", "alice", "--action", "manage", "--account", "acme")
	require.ErrorContains(t, err, "--data-dir "+empty, "the directory from the environment holds no store")

	t.Setenv("GATEHOUSE_STORE", "postgres")
	_, err = runGatehouse(t, "serve")
	require.ErrorContains(t, err, `--store must be embedded or redis, not "postgres"`)
}

// token mints a development JWT that the server's verifier accepts (R43).
func TestTokenCommand(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	secret := "token-command-test-secret-0123456789abcdef"
	require.NoError(t, os.WriteFile(secretFile, []byte(secret+"\n"), 0o600))

	out, err := runGatehouse(t, "token", "--sub", "ops", "--jwt-hs256-secret-file", secretFile)
	require.NoError(t, err)
	verifier, err := httpapi.NewHS256Verifier([]byte(secret))
	require.NoError(t, err)
	sub, err := verifier.Verify(out[:len(out)-1])
	require.NoError(t, err)
	assert.Equal(t, "ops", sub)

	// R43: --aud and --iss mint tokens a server with --jwt-audience and
	// --jwt-issuer accepts; without them it refuses the token.
	strict, err := httpapi.NewHS256Verifier([]byte(secret), httpapi.WithAudience("gatehouse"), httpapi.WithIssuer("idp"))
	require.NoError(t, err)
	_, err = strict.Verify(out[:len(out)-1])
	require.ErrorContains(t, err, "no aud claim")
	out, err = runGatehouse(t, "token", "--sub", "ops", "--aud", "gatehouse", "--iss", "idp", "--jwt-hs256-secret-file", secretFile)
	require.NoError(t, err)
	sub, err = strict.Verify(out[:len(out)-1])
	require.NoError(t, err)
	assert.Equal(t, "ops", sub)

	_, err = runGatehouse(t, "token", "--sub", "ops")
	require.ErrorContains(t, err, "--jwt-hs256-secret-file")
	_, err = runGatehouse(t, "token", "--sub", "not an id", "--jwt-hs256-secret-file", secretFile)
	require.ErrorContains(t, err, "--sub")
	require.NoError(t, os.WriteFile(secretFile, []byte("short"), 0o600))
	_, err = runGatehouse(t, "token", "--sub", "ops", "--jwt-hs256-secret-file", secretFile)
	require.ErrorContains(t, err, "too short")
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{name: "defaults", change: func(*Config) {}},
		{name: "unknown store", change: func(c *Config) { c.Store = "mysql" }, want: "--store"},
		{name: "bad address", change: func(c *Config) { c.Addr = "8280" }, want: "--addr"},
		{name: "two JWT keys", change: func(c *Config) { c.JWTSecretFile, c.JWTPublicKeyFile = "a", "b" }, want: "not both"},
		{name: "bad system admin", change: func(c *Config) { c.SystemAdmins = []string{"o p s"} }, want: "--system-admins"},
		{name: "webhook not http", change: func(c *Config) { c.WebhookURLs, c.WebhookSecretFile = []string{"ftp://x"}, "s" }, want: "--webhook-url"},
		{name: "webhook without secret", change: func(c *Config) { c.WebhookURLs = []string{"http://x"} }, want: "--webhook-secret-file"},
		{name: "negative cache", change: func(c *Config) { c.DecisionCache = -1 }, want: "--decision-cache"},
		{name: "negative client-side cache", change: func(c *Config) { c.CacheMaxBytes = -1 }, want: "--cache-max-bytes"},
		{name: "zero decision timeout", change: func(c *Config) { c.DecisionTimeout = 0 }, want: "--decision-timeout"},
		{name: "negative JWT leeway", change: func(c *Config) { c.JWTLeeway = -time.Second }, want: "--jwt-leeway must be between 0s and 5m0s"},
		{name: "JWT leeway over 5m", change: func(c *Config) { c.JWTLeeway = 10 * time.Minute }, want: "--jwt-leeway"},
		{name: "negative replicas ack", change: func(c *Config) { c.RedisMinReplicasAck = -1 }, want: "--redis-min-replicas-ack must not be negative"},
		{name: "replicas ack without redis", change: func(c *Config) { c.RedisMinReplicasAck = 1 }, want: "--redis-min-replicas-ack needs --store redis"},
		{name: "replicas ack timeout past the write timeout", change: func(c *Config) {
			c.Store, c.RedisMinReplicasAck, c.RedisMinReplicasAckTimeout = "redis", 1, 2*time.Second
		}, want: "--redis-min-replicas-ack-timeout must be positive and less than --store-write-timeout 1s (it is 2s)"},
		{name: "replicas ack", change: func(c *Config) { c.Store, c.RedisMinReplicasAck = "redis", 1 }},
		{name: "JWT audience and issuer", change: func(c *Config) { c.JWTAudience, c.JWTIssuer = "gatehouse", "https://idp.example.com" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.change(cfg)
			err := cfg.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}
