package main

import (
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkCLIMessage fails when what the CLI prints for err tells a store's
// internals or says a word twice in a row ("409 conflict: conflict:").
func checkCLIMessage(t *testing.T, what string, err error) string {
	t.Helper()
	require.Error(t, err, what)
	msg := message(err)
	lower := strings.ToLower(msg)
	for _, w := range []string{"redis", "embedded", "bbolt", "lua"} {
		assert.NotContains(t, lower, w, "%s: %q tells the store's internals", what, msg)
	}
	words := strings.FieldsFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i := 1; i < len(words); i++ {
		if words[i-1] == words[i] {
			assert.Fail(t, "a word twice", "%s: %q says %q twice", what, msg, words[i])
		}
		if i >= 3 && words[i-3] == words[i-1] && words[i-2] == words[i] {
			assert.Fail(t, "two words twice", "%s: %q says %q twice", what, msg, words[i-1]+" "+words[i])
		}
	}
	t.Logf("%s: gatehouse: %s", what, msg)
	return msg
}

// The client commands, run against a real server, say what went wrong in
// the words of the person at the terminal: what is missing, what to set
// for a token and when it expired, how to call the command (issue 9).
func TestClientErrorsAreWrittenForThePerson(t *testing.T) {
	cli := newAdminCLI(t)

	var created struct {
		ID string `json:"id"`
	}
	cli.asJSON(&created, "carol", "requests", "create", "acme", "--justification", "I buy licences")
	_, err := cli.as("alice", "requests", "deny", created.ID, "--reason-code", "other")
	require.NoError(t, err)

	cases := []struct {
		name string
		as   string
		args []string
		want []string
	}{
		{"request not found", "alice", []string{"requests", "show", "req-123"}, []string{"404 not_found: access request req-123 not found"}},
		{"approve not found", "alice", []string{"requests", "approve", "req-123"}, []string{"access request req-123 not found"}},
		{"decided twice", "alice", []string{"requests", "deny", created.ID, "--reason-code", "other"}, []string{"409 conflict: request " + created.ID + " is denied"}},
		{"member not found", "alice", []string{"members", "remove", "acme", "carol"}, []string{"carol is not a member of acme"}},
		{"user not found", "alice", []string{"members", "set", "acme", "ghost", "--role", "account_user", "--justification", "x"}, []string{"404"}},
		{"revision not found", "ops", []string{"policy", "rollback", "0123456789abcdef"}, []string{"policy revision 0123456789abcdef not found"}},
		{"two violations listed once", "alice", []string{"members", "set", "acme", "carol", "--replace"}, []string{"422 validation_failed:\n  - "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cli.as(tc.as, tc.args...)
			msg := checkCLIMessage(t, tc.name, err)
			for _, w := range tc.want {
				assert.Contains(t, msg, w)
			}
		})
	}
	t.Run("two violations listed once", func(t *testing.T) {
		_, err := cli.as("alice", "members", "set", "acme", "carol", "--replace")
		msg := checkCLIMessage(t, "violations", err)
		assert.Equal(t, 1, strings.Count(msg, "a justification is required"), msg)
	})

	t.Run("no token names the flag and the variable", func(t *testing.T) {
		_, err := runGatehouse(t, "members", "list", "acme", "--server", cli.url)
		msg := checkCLIMessage(t, "no token", err)
		assert.Contains(t, msg, "--token")
		assert.Contains(t, msg, "GATEHOUSE_TOKEN")
		assert.Contains(t, msg, "gatehouse token --sub")
	})
	t.Run("an expired token says when it expired", func(t *testing.T) {
		// Expired well beyond the server's clock-skew leeway.
		expiry := time.Now().Add(-10 * time.Minute).Truncate(time.Second).UTC()
		token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
			Subject: "alice", IssuedAt: jwt.NewNumericDate(expiry.Add(-time.Hour)), ExpiresAt: jwt.NewNumericDate(expiry),
		}).SignedString(cli.secret)
		require.NoError(t, err)
		_, err = runGatehouse(t, "members", "list", "acme", "--server", cli.url, "--token", token)
		msg := checkCLIMessage(t, "expired token", err)
		assert.Contains(t, msg, "401")
		assert.Contains(t, msg, "expired at "+expiry.Format(time.RFC3339))
		assert.Contains(t, msg, "gatehouse token --sub alice")
	})
	t.Run("a token the server refuses names the flag", func(t *testing.T) {
		_, err := runGatehouse(t, "members", "list", "acme", "--server", cli.url, "--token", "not-a-jwt")
		msg := checkCLIMessage(t, "bad token", err)
		assert.Contains(t, msg, "--token (or GATEHOUSE_TOKEN)")
	})
	for _, args := range [][]string{
		{"members", "set", "acme"},
		{"requests", "show"},
		{"policy", "rollback"},
		{"seed"},
	} {
		t.Run("missing argument of "+strings.Join(args, " "), func(t *testing.T) {
			_, err := runGatehouse(t, args...)
			msg := checkCLIMessage(t, strings.Join(args, " "), err)
			assert.Regexp(t, `^missing arguments? [A-Z]+`, msg)
			assert.Contains(t, msg, "usage: gatehouse "+strings.Join(args[:len(args)-min(len(args)-1, 1)], " "))
		})
	}
}

// members set changes only the parts its flags give: a secondary contact
// whose role changes stays a secondary contact with their privileges;
// --replace is the full replacement (issue 9, R26, R30).
func TestMembersSetChangesOnlyWhatIsGiven(t *testing.T) {
	cli := newAdminCLI(t)
	type member struct {
		Roles      []string          `json:"roles"`
		Contact    string            `json:"contact"`
		Privileges map[string]string `json:"privileges"`
		ExpiresAt  *time.Time        `json:"expires_at"`
	}
	set := func(args ...string) member {
		t.Helper()
		var m member
		cli.asJSON(&m, "alice", append([]string{"members", "set", "acme", "carol"}, args...)...)
		return m
	}
	m := set("--role", "account_user", "--contact", "secondary", "--privilege", "entitlements=view", "--justification", "billing contact")
	assert.Equal(t, "secondary", m.Contact)

	m = set("--role", "account_viewer")
	assert.Equal(t, []string{"account_viewer"}, m.Roles)
	assert.Equal(t, "secondary", m.Contact, "the contact type survives a role change")
	assert.Equal(t, map[string]string{"entitlements": "view"}, m.Privileges, "the privileges survive a role change")

	m = set("--expires-at", "2099-01-01T00:00:00Z")
	require.NotNil(t, m.ExpiresAt)
	assert.Equal(t, "secondary", m.Contact)
	m = set("--expires-at", "", "--privilege", "")
	assert.Nil(t, m.ExpiresAt, `--expires-at "" clears the expiry`)
	assert.Empty(t, m.Privileges, `--privilege "" clears the privileges`)
	assert.Equal(t, "secondary", m.Contact)
	assert.Equal(t, []string{"account_viewer"}, m.Roles)

	m = set("--replace", "--role", "account_user")
	assert.Equal(t, []string{"account_user"}, m.Roles)
	assert.Empty(t, m.Contact, "--replace keeps nothing the flags do not give")

	_, err := cli.as("alice", "members", "set", "acme", "carol")
	require.ErrorContains(t, err, "nothing to change", "no flag, no silent no-op change")

	out, err := cli.as("alice", "members", "set", "--help")
	require.NoError(t, err)
	assert.Contains(t, out, "--replace")
}
