package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opaSDKDir is the npm package that drives gatehouse with OPA's official
// TypeScript SDK: package.json pins @open-policy-agent/opa exactly and
// package-lock.json pins everything below it.
const opaSDKDir = "../../testdata/opa-sdk"

// sdkDeadline bounds `npm ci` and the SDK script; generous for a loaded
// machine and a cold npm cache.
const sdkDeadline = 5 * time.Minute

// installOPASDK returns the node binary, once `npm ci` has installed the
// package's locked dependencies into testdata/opa-sdk/node_modules
// (gitignored). The install is skipped when node_modules was installed from
// the same package-lock.json (a stamp holds its SHA-256). Without node or
// npm the test fails, saying what to install: it never skips.
func installOPASDK(t *testing.T) string {
	t.Helper()
	const install = "install Node.js 18 or later with npm (e.g. apt-get install nodejs npm), then: npm ci --prefix testdata/opa-sdk"
	node, err := exec.LookPath("node")
	require.NoError(t, err, "OPA's TypeScript SDK test needs node: %s", install)
	npm, err := exec.LookPath("npm")
	require.NoError(t, err, "OPA's TypeScript SDK test needs npm: %s", install)
	out, err := exec.Command(node, "--version").Output()
	require.NoError(t, err, "node --version")
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), ".", 2)[0])
	require.NoError(t, err, "node --version said %q", out)
	require.GreaterOrEqual(t, major, 18, "the SDK needs fetch, Node.js 18 or later (node is %s): %s", strings.TrimSpace(string(out)), install)

	lock, err := os.ReadFile(filepath.Join(opaSDKDir, "package-lock.json"))
	require.NoError(t, err)
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join(opaSDKDir, "node_modules", ".gatehouse-lock-sha256")
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return node
	}
	ctx, cancel := context.WithTimeout(context.Background(), sdkDeadline)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = opaSDKDir
	combined, err := cmd.CombinedOutput()
	require.NoError(t, err, "npm ci in testdata/opa-sdk failed (%s): %s", install, combined)
	t.Logf("npm ci installed the locked OPA SDK in %s", time.Since(start))
	require.NoError(t, os.WriteFile(stamp, []byte(want), 0o644))
	return node
}

// sdkOutcome is what one SDK call answered (OK) or threw (Error), as
// testdata/opa-sdk/check.mjs prints it.
type sdkOutcome struct {
	OK    json.RawMessage `json:"ok"`
	Error *sdkError       `json:"error"`
}

// sdkError is what an application reads of an SDK error.
type sdkError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Code    string `json:"code"`
	Status  int    `json:"status"`
	Errors  []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// Issue 10 §6: OPA's official TypeScript SDK (@open-policy-agent/opa, the
// version locked in testdata/opa-sdk) calls gatehouse as it calls OPA, on
// the demo data: evaluate of gatehouse/decision/result and of
// gatehouse/decision/allow, evaluateDefault (POST /) and evaluateBatch
// (POST /v1/batch/data) answer what /v1/decisions answers; forged input is
// refused with the SDK's ClientError, code invalid_parameter; an undefined
// default decision is the SDK's ClientError undefined_document.
func TestOPATypeScriptSDK(t *testing.T) {
	node := installOPASDK(t)
	bin := buildGatehouse(t)
	demo := func(name string, args ...string) *serverProcess {
		dir := t.TempDir()
		runBinary(t, bin, "seed", "../../testdata/demo.json", "--data-dir", dir)
		return startServer(t, name, bin, append([]string{"--data-dir", dir}, args...)...)
	}
	srv := demo("demo")
	grantSrv := demo("grant-default", "--default-decision", "gatehouse/decision/result/grant")

	// What gatehouse's own API says, for the SDK's answers to match.
	questions := map[string]string{
		"alice":   `{"subject": "alice", "action": "manage", "resource": {"account": "acme"}}`,
		"bob":     `{"subject": "bob", "action": "manage", "resource": {"account": "acme"}}`,
		"bobEMEA": `{"subject": "bob", "action": "use", "resource": {"account": "acme", "virtual_account": "acme-emea"}}`,
	}
	want := map[string]map[string]any{}
	for name, q := range questions {
		status, raw := post(t, srv.url+"/v1/decisions", q)
		require.Equal(t, http.StatusOK, status, string(raw))
		var d map[string]any
		require.NoError(t, json.Unmarshal(raw, &d))
		result := map[string]any{"allow": d["allow"], "reasons": d["reasons"]}
		if g, ok := d["grant"]; ok {
			result["grant"] = g
		}
		want[name] = result
	}
	require.Equal(t, true, want["alice"]["allow"], "the demo's alice is acme's account_admin: %v", want["alice"])
	require.Equal(t, false, want["bob"]["allow"], "the demo's bob holds no role on acme: %v", want["bob"])
	require.Equal(t, true, want["bobEMEA"]["allow"], "the demo's bob is va_user on acme-emea: %v", want["bobEMEA"])

	ctx, cancel := context.WithTimeout(context.Background(), sdkDeadline)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, "check.mjs", srv.url, grantSrv.url)
	cmd.Dir = opaSDKDir
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	require.NoError(t, cmd.Run(), "node check.mjs: %s\n%s", stderr.String(), stdout.String())
	t.Logf("the SDK's %d calls took %s in all (node start included)", 15, time.Since(start))
	var got map[string]sdkOutcome
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &got), stdout.String())

	answer := func(call string) json.RawMessage {
		t.Helper()
		o, ok := got[call]
		require.True(t, ok, "check.mjs printed no %s", call)
		require.Nil(t, o.Error, "%s threw %+v", call, o.Error)
		return o.OK
	}
	refusal := func(call string) *sdkError {
		t.Helper()
		o, ok := got[call]
		require.True(t, ok, "check.mjs printed no %s", call)
		require.NotNil(t, o.Error, "%s answered %s instead of throwing", call, o.OK)
		return o.Error
	}
	asJSON := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return string(b)
	}

	assert.JSONEq(t, asJSON(want["alice"]), string(answer("evaluateResultAlice")), "evaluate(gatehouse/decision/result)")
	assert.JSONEq(t, asJSON(want["bob"]), string(answer("evaluateResultBob")))
	assert.JSONEq(t, "true", string(answer("evaluateAllowAlice")), "evaluate(gatehouse/decision/allow)")
	assert.JSONEq(t, "false", string(answer("evaluateAllowBob")))
	assert.JSONEq(t, asJSON(want["alice"]["reasons"].([]any)[0]), string(answer("evaluateReasonAlice")))
	assert.JSONEq(t, asJSON(want["alice"]), string(answer("evaluateDefaultAlice")), "evaluateDefault: POST / answers gatehouse/decision/result")
	assert.JSONEq(t, asJSON(want["bob"]), string(answer("evaluateDefaultBob")))
	assert.JSONEq(t, asJSON(want), string(answer("evaluateBatch")), "evaluateBatch: POST /v1/batch/data, by the caller's ids")
	assert.JSONEq(t, `{"alice": true, "bob": false}`, string(answer("evaluateBatchAllow")))
	assert.JSONEq(t, asJSON(want["alice"]["grant"]), string(answer("grantDefaultAlice")), "--default-decision names the document POST / answers")

	const forgedRefusal = "input.membership: is filled by gatehouse from the store; a caller may not set it"
	for _, call := range []string{"evaluateForged", "evaluateDefaultForged"} {
		e := refusal(call)
		assert.Equal(t, "ClientError", e.Name, call)
		assert.Equal(t, "invalid_parameter", e.Code, call)
		assert.Equal(t, forgedRefusal, e.Message, call)
	}
	e := refusal("evaluateBatchForged")
	assert.Equal(t, "ClientError", e.Name)
	assert.Equal(t, "invalid_parameter", e.Code)
	assert.Equal(t, "inputs.forged.membership: is filled by gatehouse from the store; a caller may not set it (nothing was decided)", e.Message)
	require.Len(t, e.Errors, 1)
	assert.Equal(t, "invalid_parameter", e.Errors[0].Code)
	assert.Equal(t, "inputs.forged.membership: is filled by gatehouse from the store; a caller may not set it", e.Errors[0].Message)

	e = refusal("evaluateNoEntryPoint")
	assert.Equal(t, "SDKError", e.Name, "the SDK models no 404 for evaluate: it throws its SDKError with the status")
	assert.Equal(t, http.StatusNotFound, e.Status)
	e = refusal("grantDefaultBob")
	assert.Equal(t, "ClientError", e.Name)
	assert.Equal(t, "undefined_document", e.Code)
	assert.Equal(t, "document undefined: data.gatehouse.decision.result.grant", e.Message, "a deny has no grant: the default decision is undefined")
}

// Issue 10 §6, OPA's REST conventions with plain HTTP on a real server:
// POST / takes the input whole and answers the document unwrapped;
// POST /v1/batch/data answers by id; errors are {"code", "message"}.
func TestOPARESTConventionsOnTheDemo(t *testing.T) {
	bin := buildGatehouse(t)
	dir := t.TempDir()
	runBinary(t, bin, "seed", "../../testdata/demo.json", "--data-dir", dir)
	srv := startServer(t, "demo", bin, "--data-dir", dir)
	question := `{"subject": "alice", "action": "manage", "resource": {"account": "acme"}}`

	status, raw := post(t, srv.url+"/v1/data/gatehouse/decision/result", `{"input": `+question+`}`)
	require.Equal(t, http.StatusOK, status, string(raw))
	var viaData struct {
		Result     json.RawMessage `json:"result"`
		DecisionID string          `json:"decision_id"`
	}
	require.NoError(t, json.Unmarshal(raw, &viaData))

	status, raw = post(t, srv.url+"/", question)
	require.Equal(t, http.StatusOK, status, string(raw))
	assert.JSONEq(t, string(viaData.Result), string(raw), "POST / answers the document itself, as OPA does")

	status, raw = post(t, srv.url+"/", `{"input": `+question+`}`)
	assert.Equal(t, http.StatusBadRequest, status, "POST / takes the input whole, not wrapped: %s", raw)
	assert.JSONEq(t, `{"code": "invalid_parameter", "message": "input.input: is not a known field (the question has subject, action, resource, context and consistency)"}`, string(raw))

	status, raw = post(t, srv.url+"/v1/batch/data/gatehouse/decision/result", `{"inputs": {"q1": `+question+`}}`)
	require.Equal(t, http.StatusOK, status, string(raw))
	var batch struct {
		BatchDecisionID string `json:"batch_decision_id"`
		Responses       map[string]struct {
			Result     json.RawMessage `json:"result"`
			DecisionID string          `json:"decision_id"`
		} `json:"responses"`
	}
	require.NoError(t, json.Unmarshal(raw, &batch))
	assert.NotEmpty(t, batch.BatchDecisionID)
	assert.JSONEq(t, string(viaData.Result), string(batch.Responses["q1"].Result))
	assert.NotEmpty(t, batch.Responses["q1"].DecisionID)

	for path, body := range map[string]string{
		"/v1/batch/data":                         `{"inputs": {}}`,
		"/v1/batch/data/gatehouse/decision_test": `{"inputs": {}}`,
	} {
		status, raw = post(t, srv.url+path, body)
		assert.Equal(t, http.StatusNotFound, status, string(raw))
		var e map[string]string
		require.NoError(t, json.Unmarshal(raw, &e), string(raw))
		assert.Equal(t, "undefined_document", e["code"], path)
		assert.Len(t, e, 2, "OPA's error shape {code, message}: %s", raw)
	}
}
