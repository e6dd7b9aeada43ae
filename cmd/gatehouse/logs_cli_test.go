package main

import (
	"bufio"
	"encoding/json"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/httpapi"
	"github.com/gatehouse/gatehouse/engine"
)

// Issue 9, section 3: the audit trail and the events have a CLI.

var nextPage = regexp.MustCompile(`(?m)^next page: gatehouse (audit|events) .*--after (\S+)`)

// makeChanges creates, grants and denies requests on acme, so that its
// audit trail has several records and alice and carol events.
func makeChanges(t *testing.T, cli *adminCLI) (granted, denied string) {
	t.Helper()
	var r engine.AccessRequest
	cli.asJSON(&r, "carol", "requests", "create", "acme", "--justification", "I buy licences")
	cli.asJSON(&r, "alice", "requests", "approve", r.ID, "--scope", "account", "--role", "account_user")
	granted = r.ID
	cli.asJSON(&r, "bob", "requests", "create", "acme")
	cli.asJSON(&r, "alice", "requests", "deny", r.ID, "--reason-code", "other", "--message", "ask your manager")
	return granted, r.ID
}

// gatehouse audit lists newest first by default, pages with the cursor it
// prints, reverses with --oldest-first, and --json is the API's page.
func TestAuditCommand(t *testing.T) {
	cli := newAdminCLI(t)
	granted, denied := makeChanges(t, cli)

	var all struct {
		Items []map[string]any `json:"items"`
		Next  string           `json:"next"`
	}
	cli.asJSON(&all, "alice", "audit", "--account", "acme", "--limit", "1000")
	require.GreaterOrEqual(t, len(all.Items), 4, "two requests created, one granted (and its membership), one denied")
	assert.Empty(t, all.Next, "not a full page")
	for _, key := range []string{"cursor", "id", "account", "actor", "action", "at", "policy_revision"} {
		assert.Contains(t, all.Items[0], key, "--json keeps every field")
	}
	assert.Equal(t, denied, all.Items[0]["target"], "newest first: the denial")

	out, err := cli.as("alice", "audit", "--account", "acme")
	require.NoError(t, err, out)
	requireFits(t, out)
	assert.Regexp(t, `(?m)^AT\s+ACTOR\s+ACTION\s+TARGET\s+REASON$`, out)
	assert.Regexp(t, `(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+alice\s+request\.denied\s+`+denied+`\s+other: ask your`, out)
	assert.Contains(t, out, granted)

	// Pages of two, newest first, until the trail ends: every record once.
	var walked []string
	args := []string{"audit", "--account", "acme", "--limit", "2"}
	for range 20 {
		out, err := cli.as("alice", args...)
		require.NoError(t, err, out)
		requireFits(t, out)
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "20") {
				walked = append(walked, line)
			}
		}
		m := nextPage.FindStringSubmatch(out)
		if m == nil {
			break
		}
		args = []string{"audit", "--account", "acme", "--limit", "2", "--after", m[2]}
	}
	assert.Len(t, walked, len(all.Items), "paging walks the whole trail:\n%s", strings.Join(walked, "\n"))
	assert.Contains(t, walked[0], denied, "the newest first")

	var oldest struct {
		Items []map[string]any `json:"items"`
	}
	cli.asJSON(&oldest, "alice", "audit", "--account", "acme", "--limit", "1000", "--oldest-first")
	require.Len(t, oldest.Items, len(all.Items))
	for i := range oldest.Items {
		assert.Equal(t, all.Items[len(all.Items)-1-i]["id"], oldest.Items[i]["id"], "--oldest-first reverses the trail")
	}

	refusals := []struct {
		args []string
		want string
	}{
		{[]string{"audit"}, "give --account ID"},
		{[]string{"audit", "--account", "acme", "--limit", "0"}, "--limit 0: give a page size from 1 to 1000"},
		{[]string{"audit", "--account", "acme", "--after", "bogus"}, "after"},
	}
	for _, r := range refusals {
		_, err := cli.as("alice", r.args...)
		require.Error(t, err, "%v", r.args)
		assert.Contains(t, err.Error(), r.want)
	}
	_, err = cli.as("carol", "audit", "--account", "acme")
	require.Error(t, err, "R43: a user who may not decide acme's requests does not read its trail")
	assert.Contains(t, err.Error(), "403")
}

// gatehouse events lists the caller's events, pages, and refuses an
// interval outside its bounds.
func TestEventsCommand(t *testing.T) {
	cli := newAdminCLI(t)
	granted, _ := makeChanges(t, cli)

	out, err := cli.as("carol", "events")
	require.NoError(t, err, out)
	requireFits(t, out)
	assert.Regexp(t, `(?m)^AT\s+TYPE\s+ACCOUNT\s+DETAILS$`, out)
	assert.Regexp(t, `(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+request\.granted\s+acme\s+request `+granted+`$`, out)
	assert.Regexp(t, `(?m)\s+member\.added\s+acme\s+member carol$`, out)
	assert.NotContains(t, out, "request.denied", "bob's denial is not addressed to carol")

	var page struct {
		Items []map[string]any `json:"items"`
		Next  string           `json:"next"`
	}
	cli.asJSON(&page, "alice", "events", "--limit", "1")
	require.Len(t, page.Items, 1)
	require.NotEmpty(t, page.Next, "a full page says where to go on")
	assert.Equal(t, page.Next, page.Items[0]["cursor"])
	out, err = cli.as("alice", "events", "--limit", "1")
	require.NoError(t, err)
	require.Regexp(t, nextPage, out)
	var second struct {
		Items []map[string]any `json:"items"`
	}
	cli.asJSON(&second, "alice", "events", "--limit", "1", "--after", nextPage.FindStringSubmatch(out)[2])
	require.Len(t, second.Items, 1)
	assert.NotEqual(t, page.Items[0]["id"], second.Items[0]["id"])

	for _, args := range [][]string{{"events", "--interval", "1ms"}, {"events", "--follow", "--interval", "2h"}} {
		_, err := cli.as("alice", args...)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "give a poll interval from 100ms to 1m0s")
	}
}

// gatehouse events --follow prints events as they are made, one JSON line
// each with --json, and exits 0 on SIGINT.
func TestEventsFollow(t *testing.T) {
	bin := buildGatehouse(t)
	cli := newAdminCLI(t)
	for _, asJSON := range []bool{false, true} {
		name := map[bool]string{false: "table", true: "json lines"}[asJSON]
		t.Run(name, func(t *testing.T) {
			token, err := httpapi.MintHS256(cli.secret, "alice", time.Hour)
			require.NoError(t, err)
			args := []string{"events", "--follow", "--interval", "100ms", "--server", cli.url, "--token", token}
			if asJSON {
				args = append(args, "--json")
			}
			cmd := exec.Command(bin, args...)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			done := make(chan error, 1)
			var mu sync.Mutex
			var lines []string
			go func() {
				scan := bufio.NewScanner(stdout)
				for scan.Scan() {
					mu.Lock()
					lines = append(lines, scan.Text())
					mu.Unlock()
				}
				_, _ = io.Copy(io.Discard, stdout)
				done <- cmd.Wait()
			}()
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			var r engine.AccessRequest
			requester := map[bool]string{false: "carol", true: "bob"}[asJSON] // one pending request each (R20)
			cli.asJSON(&r, requester, "requests", "create", "acme", "--justification", "follow me")
			created := time.Now()
			seen := func() bool {
				mu.Lock()
				defer mu.Unlock()
				for _, l := range lines {
					if strings.Contains(l, "request.created") && strings.Contains(l, r.ID) {
						return true
					}
				}
				return false
			}
			require.Eventually(t, seen, 30*time.Second, 20*time.Millisecond, "the new request's event is printed: %s", stderr.String())
			t.Logf("event printed %s after the request was created (polling every 100ms)", time.Since(created).Round(time.Millisecond))

			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			interrupted := time.Now()
			select {
			case err := <-done:
				require.NoError(t, err, "exit status 0 on SIGINT: %s", stderr.String())
			case <-time.After(30 * time.Second):
				require.FailNow(t, "events --follow did not exit on SIGINT")
			}
			t.Logf("exited %s after SIGINT", time.Since(interrupted).Round(time.Millisecond))

			mu.Lock()
			defer mu.Unlock()
			for _, l := range lines {
				if !asJSON {
					assert.LessOrEqual(t, len([]rune(l)), tableWidth, l)
				} else {
					var ev map[string]any
					require.NoError(t, json.Unmarshal([]byte(l), &ev), "one JSON event per line: %s", l)
					assert.NotEmpty(t, ev["cursor"])
				}
			}
			if !asJSON {
				assert.Regexp(t, `^AT\s+TYPE\s+ACCOUNT\s+DETAILS$`, lines[0])
			}
		})
	}
}
