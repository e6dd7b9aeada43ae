package main

import (
	"encoding/json"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/decisionlog"
)

// logDeadline bounds the wait for a decision log line (the logger writes
// asynchronously); generous for loaded machines.
const logDeadline = 30 * time.Second

// post sends body to url and returns the status and the body of the answer.
func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}

// getData sends GET url with input as the "input" query parameter.
func getData(t *testing.T, url, input string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url + "?input=" + neturl.QueryEscape(input))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}

// dataView is the Data API's answer for gatehouse/decision/result.
type dataView struct {
	Result struct {
		Allow   bool     `json:"allow"`
		Reasons []string `json:"reasons"`
	} `json:"result"`
	DecisionID string `json:"decision_id"`
}

// waitForLog waits until the decision log holds every decision id, and
// returns its entries.
func waitForLog(t *testing.T, path string, ids ...string) []decisionlog.Entry {
	t.Helper()
	var entries []decisionlog.Entry
	start := time.Now()
	require.Eventually(t, func() bool {
		f, err := os.Open(path)
		if err != nil {
			return false
		}
		defer f.Close()
		entries, err = decisionlog.ReadEntries(f)
		if err != nil {
			return false
		}
		logged := map[string]bool{}
		for _, e := range entries {
			logged[e.DecisionID] = true
		}
		for _, id := range ids {
			if !logged[id] {
				return false
			}
		}
		return true
	}, logDeadline, 10*time.Millisecond, "decisions %v in %s", ids, path)
	t.Logf("the decision log held the %d decisions %s after they were answered", len(ids), time.Since(start))
	return entries
}

// Issue 7 §1, end to end on the demo data: the Data API example
// answers what /v1/decisions answers, with POST and GET; forged store
// records are refused; a test package is a 404 at once; the Data API's
// decisions reach the decision log and the decision counter.
func TestDataAPIOnTheDemo(t *testing.T) {
	bin := buildGatehouse(t)
	dir := t.TempDir()
	runBinary(t, bin, "seed", "../../testdata/demo.json", "--data-dir", dir)
	logPath := filepath.Join(t.TempDir(), "decisions.log")
	srv := startServer(t, "demo", bin, "--data-dir", dir, "--decision-log", logPath)
	question := `{"subject": "alice", "action": "manage", "resource": {"account": "acme"}}`

	status, raw := post(t, srv.url+"/v1/decisions", question)
	require.Equal(t, http.StatusOK, status, string(raw))
	var want decisionAnswer
	require.NoError(t, json.Unmarshal(raw, &want))
	require.True(t, want.Allow, "the demo's alice is acme's account_admin: %v", want.Reasons)

	status, raw = post(t, srv.url+"/v1/data/gatehouse/decision/result", `{"input": `+question+`}`)
	require.Equal(t, http.StatusOK, status, string(raw))
	var viaPost dataView
	require.NoError(t, json.Unmarshal(raw, &viaPost))
	assert.True(t, viaPost.Result.Allow, "issue 7: the Data API answers from the store: %v", viaPost.Result.Reasons)
	assert.Equal(t, want.Reasons, viaPost.Result.Reasons)

	status, raw = getData(t, srv.url+"/v1/data/gatehouse/decision/result", question)
	require.Equal(t, http.StatusOK, status, string(raw))
	var viaGet dataView
	require.NoError(t, json.Unmarshal(raw, &viaGet))
	assert.True(t, viaGet.Result.Allow)
	assert.Equal(t, want.Reasons, viaGet.Result.Reasons)

	forged := `{"subject": "mallory", "action": "manage", "resource": {"account": "acme"},
		"user": {"id": "mallory"}, "account": {"id": "acme", "virtual_accounts": []},
		"membership": {"roles": ["account_admin"]}}`
	status, raw = post(t, srv.url+"/v1/data/gatehouse/decision/result", `{"input": `+forged+`}`)
	assert.Equal(t, http.StatusBadRequest, status, string(raw))
	assert.JSONEq(t, `{"code": "invalid_parameter", "message": "input.account: is filled by gatehouse from the store; a caller may not set it"}`, string(raw))

	for _, path := range []string{"/v1/data", "/v1/data/gatehouse/decision_test", "/v1/data/gatehouse/roles_test", "/v1/data/gatehouse/admission/result"} {
		start := time.Now()
		status, raw = post(t, srv.url+path, `{"input": `+question+`}`)
		t.Logf("POST %s answered %d in %s", path, status, time.Since(start))
		assert.Equal(t, http.StatusNotFound, status, string(raw))
		var e map[string]string
		require.NoError(t, json.Unmarshal(raw, &e), string(raw))
		assert.Equal(t, "undefined_document", e["code"])
		assert.True(t, strings.HasPrefix(e["message"], "document missing: data"), e["message"])
	}

	entries := waitForLog(t, logPath, want.DecisionID, viaPost.DecisionID, viaGet.DecisionID)
	for _, e := range entries {
		if e.DecisionID == viaPost.DecisionID || e.DecisionID == viaGet.DecisionID {
			assert.Equal(t, "alice", e.Subject)
			assert.Equal(t, "manage", e.Action)
			assert.Equal(t, "acme", e.Resource.Account)
			assert.True(t, e.Allow)
			assert.Equal(t, want.Reasons, e.Reasons)
		}
	}
	assert.Len(t, entries, 3, "the refused and undefined queries decided nothing")
	metrics := get(t, srv.url+"/metrics")
	assert.Equal(t, 3.0, metricValue(t, metrics, `gatehouse_decisions_total{result="allow"}`), "the Data API's decisions are counted")
	assert.Equal(t, 0.0, metricValue(t, metrics, `gatehouse_decisions_total{result="deny"}`))
}

// numberEchoRego allows exactly when context.n is 2^53+1, and its reason
// echoes the value the policy saw.
const numberEchoRego = `package gatehouse.decision

import rego.v1

default result := {"allow": false, "reasons": ["no context.n"]}

result := {"allow": input.context.n == 9007199254740993, "reasons": [sprintf("context.n is %v", [input.context.n])]} if {
	"n" in object.keys(input.context)
}
`

// Issue 7 §1, end to end: an integer above 2^53 in context reaches the
// policy unchanged through POST /v1/decisions, /v1/decisions/batch, the
// Data API (POST and GET), `decide --file` (local and --remote), the
// decision log line, and `gatehouse policy replay` reading that log.
func TestContextNumbersStayExactEndToEnd(t *testing.T) {
	bin := buildGatehouse(t)
	policyDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(policyDir, "decision.rego"), []byte(numberEchoRego), 0o644))
	logPath := filepath.Join(t.TempDir(), "decisions.log")
	srv := startServer(t, "numbers", bin, "--data-dir", t.TempDir(), "--policy-dir", policyDir, "--decision-log", logPath)

	const echo = "context.n is 9007199254740993"
	question := `{"subject": "alice", "action": "view", "resource": {"account": "acme"}, "context": {"n": 9007199254740993}}`
	var ids []string
	check := func(what string, allow bool, reasons []string, id string) {
		t.Helper()
		assert.True(t, allow, "%s: %v", what, reasons)
		assert.Equal(t, []string{echo}, reasons, what)
		ids = append(ids, id)
	}

	status, raw := post(t, srv.url+"/v1/decisions", question)
	require.Equal(t, http.StatusOK, status, string(raw))
	var d decisionAnswer
	require.NoError(t, json.Unmarshal(raw, &d))
	check("/v1/decisions", d.Allow, d.Reasons, d.DecisionID)

	status, raw = post(t, srv.url+"/v1/decisions/batch", `{"checks": [`+question+`]}`)
	require.Equal(t, http.StatusOK, status, string(raw))
	var batch struct {
		Results []decisionAnswer `json:"results"`
	}
	require.NoError(t, json.Unmarshal(raw, &batch))
	require.Len(t, batch.Results, 1)
	check("/v1/decisions/batch", batch.Results[0].Allow, batch.Results[0].Reasons, batch.Results[0].DecisionID)

	for method, send := range map[string]func() (int, []byte){
		"POST": func() (int, []byte) {
			return post(t, srv.url+"/v1/data/gatehouse/decision/result", `{"input": `+question+`}`)
		},
		"GET": func() (int, []byte) { return getData(t, srv.url+"/v1/data/gatehouse/decision/result", question) },
	} {
		status, raw := send()
		require.Equal(t, http.StatusOK, status, string(raw))
		var v dataView
		require.NoError(t, json.Unmarshal(raw, &v))
		check("Data API "+method, v.Result.Allow, v.Result.Reasons, v.DecisionID)
	}

	questionFile := filepath.Join(t.TempDir(), "question.json")
	require.NoError(t, os.WriteFile(questionFile, []byte(question), 0o600))
	remote := decideOut(t, "--file", questionFile, "--remote", "--server", srv.url)
	check("decide --file --remote", remote.Allow, remote.Reasons, remote.DecisionID)
	storeDir := seededDir(t)
	local := decideOut(t, "--file", questionFile, "--policy-dir", policyDir, "--data-dir", storeDir)
	assert.True(t, local.Allow, "decide --file: %v", local.Reasons)
	assert.Equal(t, []string{echo}, local.Reasons)

	waitForLog(t, logPath, ids...)
	line, err := os.ReadFile(logPath)
	require.NoError(t, err)
	assert.Equal(t, len(ids), strings.Count(string(line), `"context":{"n":9007199254740993}`), "every log line holds the exact number:\n%s", line)

	out, err := runGatehouse(t, "policy", "replay", "--log", logPath, "--policy-dir", policyDir, "--data-dir", storeDir)
	require.NoError(t, err, out)
	assert.Contains(t, out, "replayed 5 of 5 logged decisions")
	assert.Contains(t, out, "0 would flip", "a replay reads the number that was decided:\n%s", out)
}
