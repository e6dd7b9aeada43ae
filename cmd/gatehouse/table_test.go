package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// Issue 9, section 3: tables show what matters for each kind of row and
// each viewer, newest first, and fit 100 columns.

// tableNow is the fixed clock of the golden tables.
var tableNow = time.Date(2026, time.March, 10, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return tableNow.Add(-d) }

func ptime(t time.Time) *time.Time { return &t }

// Requests of every kind and status, as the README's demo makes them, as
// the API returns them to each viewer.
func tableRequests() (account, tenantForRequester, tenantForTenant []engine.AccessRequest) {
	message := "Classics account managers, for the spring catalogue and the support contract renewal of March"
	account = []engine.AccessRequest{
		{ID: "01JQ0000000000000000000001", Kind: "account", Account: "northwind", Requester: "bob", Status: "denied",
			CreatedAt: at(50 * time.Hour), DecidedBy: "nina", DecidedAt: ptime(at(49 * time.Hour)),
			ReasonCode: "no_business_relationship", Message: "not a northwind employee"},
		{ID: "01JQ0000000000000000000002", Kind: "account", Account: "acme", Requester: "carol", Status: "granted",
			Justification: "I manage US licences", CreatedAt: at(3 * time.Hour), DecidedBy: "alice", DecidedAt: ptime(at(2 * time.Hour)),
			ExpiresAt: ptime(time.Date(2026, time.December, 31, 0, 0, 0, 0, time.UTC))},
		{ID: "01JQ0000000000000000000003", Kind: "account", Account: "acme", Requester: "dave", Status: "pending",
			CreatedAt: at(90 * time.Second)},
	}
	tenantForRequester = []engine.AccessRequest{
		{ID: "01JQ0000000000000000000011", Kind: "tenant", Account: "hundred-acre", Requester: "elizabeth", Status: "denied",
			CreatedAt: at(26 * time.Hour), DecidedBy: "pooh", DecidedAt: ptime(at(25 * time.Hour)), ReasonCode: "other",
			Message: "not now", Name: "SupportAccess", RequestMessage: message, Partner: "classics", Users: []string{"charlotte"}},
		{ID: "01JQ0000000000000000000012", Kind: "tenant", Account: "tom-sawyer", Requester: "elizabeth", Status: "granted",
			CreatedAt: at(26 * time.Hour), DecidedBy: "tom", DecidedAt: ptime(at(20 * time.Minute)),
			Message: "welcome, Classics\nsee you soon", ExpiresAt: ptime(time.Date(2027, time.January, 31, 18, 30, 0, 0, time.UTC)),
			Name: "SupportAccess", RequestMessage: message, Partner: "classics", Users: []string{"caroline", "charlotte"}},
	}
	for _, r := range tenantForRequester {
		r.Name, r.Users = "", nil // R37
		tenantForTenant = append(tenantForTenant, r)
	}
	return account, tenantForRequester, tenantForTenant
}

// extremeRequests have the longest ids, names and text the API allows.
func extremeRequests() []engine.AccessRequest {
	long := func(c string) string { return strings.Repeat(c, engine.MaxIDLength) }
	text := strings.Repeat("a long message with\ttabs and\nnewlines ", 50)
	return []engine.AccessRequest{
		{ID: long("i"), Kind: "account", Account: long("a"), Requester: long("r"), Status: "denied", CreatedAt: at(time.Hour),
			DecidedBy: long("d"), ReasonCode: "no_business_relationship", Message: text},
		{ID: long("j"), Kind: "tenant", Account: long("t"), Requester: long("r"), Status: "pending", CreatedAt: at(time.Hour),
			Name: strings.Repeat("N", 64), Users: []string{long("u"), long("v")}, Partner: long("p"), RequestMessage: text, Message: text},
	}
}

func TestRequestTables(t *testing.T) {
	account, forRequester, forTenant := tableRequests()
	tests := []struct {
		name   string
		view   requestView
		reqs   []engine.AccessRequest
		fields []string // what the table must show, whole
		absent []string // what this viewer's table must not show
	}{
		{
			name: "account requests, deciders", view: deciderView, reqs: account,
			fields: []string{"ID", "REQUESTER", "STATUS", "REASON", "AGE", "DECIDER", "EXPIRES",
				"01JQ0000000000000000000001", "bob", "denied", "no_business_relationship", "2d", "nina",
				"01JQ0000000000000000000002", "carol", "granted", "3h", "alice", "2026-12-31",
				"01JQ0000000000000000000003", "dave", "pending", "1m"},
		},
		{
			name: "account requests, requester", view: requesterView, reqs: account,
			fields: []string{"ID", "ACCOUNT", "STATUS", "REASON", "AGE", "DECIDER", "EXPIRES",
				"01JQ0000000000000000000001", "northwind", "denied", "no_business_relationship", "2d", "nina",
				"01JQ0000000000000000000002", "acme", "granted", "alice", "2026-12-31"},
		},
		{
			name: "tenant requests, requester", view: requesterView, reqs: forRequester,
			fields: []string{"NAME", "TENANT", "USERS", "STATUS", "EXPIRES", "MESSAGE",
				"SupportAccess", "hundred-acre", "charlotte", "denied", "not now",
				"tom-sawyer", "caroline,charlotte", "granted", "2027-01-31", "welcome, Classics see you soon"},
			absent: []string{"Classics account managers"},
		},
		{
			name: "tenant requests, tenant admin", view: deciderView, reqs: forTenant,
			fields: []string{"ID", "RESELLER", "STATUS", "AGE", "EXPIRES", "MESSAGE",
				"01JQ0000000000000000000011", "classics", "denied", "26h", "Classics account managers, for the",
				"01JQ0000000000000000000012", "granted", "2027-01-31", "…"},
			absent: []string{"SupportAccess", "charlotte", "caroline", "NAME", "USERS", "welcome"},
		},
		{
			name: "both kinds, requester", view: requesterView, reqs: append(slices.Clone(account), forRequester...),
			fields: []string{"Account requests", "Tenant requests", "ACCOUNT", "NAME", "SupportAccess", "no_business_relationship"},
		},
		{
			name: "the longest values, deciders", view: deciderView, reqs: extremeRequests(),
			fields: []string{"…", "denied", "pending"},
		},
		{
			name: "the longest values, requester", view: requesterView, reqs: extremeRequests(),
			fields: []string{"…", "denied", "pending"},
		},
		{
			name: "no requests", view: deciderView, reqs: nil,
			fields: []string{"no requests"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, printRequests(&buf, tableNow, tt.view, tt.reqs))
			out := buf.String()
			golden(t, "requests "+tt.name, out)
			requireFits(t, out)
			for _, f := range tt.fields {
				assert.Contains(t, out, f)
			}
			for _, f := range tt.absent {
				assert.NotContains(t, out, f)
			}
			assert.NotContains(t, out, "\t")
		})
	}

	t.Run("newest first", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, printRequests(&buf, tableNow, deciderView, account))
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		require.Len(t, lines, 4)
		for i, id := range []string{"01JQ0000000000000000000003", "01JQ0000000000000000000002", "01JQ0000000000000000000001"} {
			assert.True(t, strings.HasPrefix(lines[i+1], id), "row %d: %s", i+1, lines[i+1])
		}
	})
}

// "requests show" prints every field present, as "key: value", in the
// order of requestFields, and a field this client does not know after them;
// long text wraps within 100 columns.
func TestRequestFields(t *testing.T) {
	_, forRequester, _ := tableRequests()
	raw, err := json.Marshal(forRequester[1])
	require.NoError(t, err)
	var obj map[string]any
	require.NoError(t, json.Unmarshal(raw, &obj))
	obj["escalation"] = "level 2" // a field a newer server may add
	raw, err = json.Marshal(obj)
	require.NoError(t, err)

	var buf bytes.Buffer
	require.NoError(t, printFields(&buf, raw, requestFields))
	out := buf.String()
	golden(t, "requests show", out)
	for key, value := range map[string]string{
		"id": "01JQ0000000000000000000012", "kind": "tenant", "status": "granted", "account": "tom-sawyer",
		"partner": "classics", "requester": "elizabeth", "name": "SupportAccess", "users": "caroline, charlotte",
		"request_message": "Classics account managers, for the spring catalogue and the support contract",
		"created_at":      "2026-03-09T10:00:00Z", "decided_by": "tom", "decided_at": "2026-03-10T11:40:00Z",
		"message": "welcome, Classics", "expires_at": "2027-01-31T18:30:00Z", "escalation": "level 2",
	} {
		assert.Regexp(t, `(?m)^`+key+`: +`+regexpQuote(value), out)
	}
	assert.Regexp(t, `(?m)^ {17}renewal of March$`, out, "long text wraps between words, indented")
	requireFits(t, out)
	assert.NotContains(t, out, "reason_code", "an absent field is left out")
	assert.NotContains(t, out, "justification")
	lines := strings.Split(out, "\n")
	assert.True(t, strings.HasPrefix(lines[0], "id:"))
	assert.True(t, strings.HasPrefix(lines[len(lines)-2], "escalation:"), "unknown fields last")
}

// Any table printTable writes (members, policy revisions) fits 100 columns:
// the first column stays whole while the others are cut.
func TestPrintTableFits(t *testing.T) {
	rows := [][]string{
		{"01JQ0000000000000000000001", strings.Repeat("account_admin,", 8), "acme-emea=va_user,acme-us=va_viewer", "secondary",
			"contact_updates=update,entitlements=view", "2026-12-31", "alice"},
		{"bob", "-", "-", "-", "-", "-", "a\tuser\nwith controls"},
	}
	var buf bytes.Buffer
	require.NoError(t, printTable(&buf, []string{"USER", "ROLES", "VA ROLES", "CONTACT", "PRIVILEGES", "EXPIRES", "ADDED BY"}, rows))
	out := buf.String()
	golden(t, "members", out)
	requireFits(t, out)
	assert.Contains(t, out, "01JQ0000000000000000000001  ")
	assert.Contains(t, out, "…")
	assert.Equal(t, 3, strings.Count(out, "\n"), "one line per row")

	// Even columns that cannot all fit whole never make a line wider.
	wide := make([]string, 12)
	for i := range wide {
		wide[i] = strings.Repeat("x", 40)
	}
	buf.Reset()
	require.NoError(t, printTable(&buf, wide, [][]string{wide}))
	requireFits(t, buf.String())
}

func TestCells(t *testing.T) {
	assert.Equal(t, "-", timeCell(nil))
	assert.Equal(t, "2026-12-31", timeCell(ptime(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC))))
	assert.Equal(t, "2026-12-31 01:00", timeCell(ptime(time.Date(2026, 12, 31, 2, 0, 0, 0, time.FixedZone("CET", 3600)))))
	for d, want := range map[time.Duration]string{
		-time.Minute: "0s", 0: "0s", 59 * time.Second: "59s", 90 * time.Second: "1m", 3 * time.Hour: "3h",
		47 * time.Hour: "47h", 50 * time.Hour: "2d", 400 * 24 * time.Hour: "400d",
	} {
		assert.Equal(t, want, ageCell(tableNow, at(d)), "%s", d)
	}
	assert.Equal(t, "abc", truncate("abc", 3))
	assert.Equal(t, "ab…", truncate("abcd", 3))
	assert.Equal(t, "né…", truncate("néant", 3), "cut by character, not byte")
	assert.Equal(t, []string{"one two", "three", "abcdefghij", "klm", "", "x"}, wrapText("one two three abcdefghijklm\n\nx", 10))
}

// requireFits fails when a line of out is wider than tableWidth.
func requireFits(t *testing.T, out string) {
	t.Helper()
	widest := 0
	for _, line := range strings.Split(out, "\n") {
		n := utf8.RuneCountInString(line)
		widest = max(widest, n)
		require.LessOrEqual(t, n, tableWidth, "line wider than %d columns:\n%s", tableWidth, line)
	}
	t.Logf("widest line: %d columns", widest)
}

// golden compares out with testdata/<name>.golden, rewritten with -update.
func golden(t *testing.T, name, out string) {
	t.Helper()
	path := filepath.Join("testdata", strings.ReplaceAll(name, " ", "_")+".golden")
	path = strings.ReplaceAll(path, ",", "")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "no golden file: run go test -run %s -update", t.Name())
	assert.Equal(t, string(want), out, "differs from %s (refresh with -update after checking the change)", path)
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteRune('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
