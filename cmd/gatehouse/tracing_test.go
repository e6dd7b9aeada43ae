package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/gatehouse/gatehouse/adapters/tracing/otlptest"
	"github.com/gatehouse/gatehouse/engine"
)

// Issue 10, part 7: traces. A real server (serve, in this process, or the
// gatehouse binary) sends its spans over OTLP/gRPC to a receiver in the
// test process.

// Span names of the HTTP API's server spans.
const (
	decisionRoute = "POST /v1/decisions"
	putUserRoute  = "PUT /v1/users/:id"
)

// inProcessServer is serve running in this process.
type inProcessServer struct {
	url, token string
	log        *syncBuffer
	stop       func() // ends serve and waits for it to return
}

// serveInProcess runs serve over the demo data with cfg's OTel flags set
// by configure, and a token for the system administrator "ops".
func serveInProcess(t *testing.T, configure func(*Config)) *inProcessServer {
	t.Helper()
	secret := writeFile(t, "jwt", "tracing-test-jwt-secret-0123456789abcdef")
	token, err := runGatehouse(t, "token", "--sub", "ops", "--jwt-hs256-secret-file", secret)
	require.NoError(t, err, token)
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = seededDir(t)
	cfg.JWTSecretFile = secret
	cfg.SystemAdmins = []string{"ops"}
	cfg.DecisionTimeout, cfg.StoreWriteTimeout, cfg.StoreReadTimeout = 20*time.Second, 20*time.Second, 20*time.Second
	configure(cfg)
	require.NoError(t, cfg.Validate())

	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil))) }()
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err, logs.String())
			case <-time.After(otlptest.WaitLimit):
				t.Errorf("serve did not return after its context ended:\n%s", logs.String())
			}
		})
	}
	t.Cleanup(stop)
	var addr string
	require.Eventually(t, func() bool {
		if m := servingAddr.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
			return true
		}
		return false
	}, otlptest.WaitLimit, 10*time.Millisecond, "serve did not start:\n%s", logs.String())
	return &inProcessServer{url: "http://" + addr, token: strings.TrimSpace(token), log: logs, stop: stop}
}

// send sends a request with the given headers and returns its status.
func send(t *testing.T, method, url, body string, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

// rootOf finds the server span named route whose trace has every span of
// names, and returns that trace's spans by name.
func rootOf(spans []otlptest.Span, route string, names ...string) (map[string]otlptest.Span, bool) {
	for _, s := range spans {
		if s.Name == route {
			if trace, ok := otlptest.Trace(spans, s.TraceID, append([]string{route}, names...)...); ok {
				return trace, true
			}
		}
	}
	return nil, false
}

// assertNoSecret checks that no attribute of spans holds the token, the
// Authorization header or a request body.
func assertNoSecret(t *testing.T, spans []otlptest.Span, token string, bodies ...string) {
	t.Helper()
	for _, s := range spans {
		for k, v := range s.Attributes {
			text, _ := v.(string)
			assert.NotContains(t, strings.ToLower(k), "authorization", "span %s", s.Name)
			assert.NotContains(t, strings.ToLower(k), "header", "span %s", s.Name)
			assert.NotContains(t, text, token, "span %s attribute %s", s.Name, k)
			assert.NotContains(t, text, "Bearer", "span %s attribute %s", s.Name, k)
			for _, b := range bodies {
				assert.NotContains(t, text, b, "span %s attribute %s", s.Name, k)
			}
		}
	}
}

func TestTracesOfADecisionAndAWrite(t *testing.T) {
	receiver := otlptest.Start(t)
	srv := serveInProcess(t, func(c *Config) {
		c.OTelEndpoint, c.OTelInsecure = receiver.Addr(), true
	})
	decision := `{"subject": "alice", "action": "manage", "resource": {"account": "acme"}}`
	require.Equal(t, http.StatusOK, send(t, http.MethodPost, srv.url+"/v1/decisions", decision, nil))
	user := `{"email": "zoe@acme.example", "first_name": "Zoe"}`
	require.Equal(t, http.StatusCreated, send(t, http.MethodPut, srv.url+"/v1/users/zoe", user,
		map[string]string{"Authorization": "Bearer " + srv.token}))
	// Stopping the server sends the spans still batched: no interval to wait.
	srv.stop()

	t.Run("a decision's spans share one trace: HTTP, then decide, then snapshot and eval", func(t *testing.T) {
		trace := otlptest.WaitFor(t, receiver, "a decision's trace", func(spans []otlptest.Span) (map[string]otlptest.Span, bool) {
			return rootOf(spans, decisionRoute, engine.SpanDecide, engine.SpanSnapshot, engine.SpanEval)
		})
		http, decide := trace[decisionRoute], trace[engine.SpanDecide]
		assert.Empty(t, http.ParentSpanID, "no caller span: the HTTP span is the root")
		assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, http.Kind)
		assert.Equal(t, "gatehouse", http.Service)
		assert.Equal(t, "POST", http.Attributes["http.request.method"])
		assert.Equal(t, "/v1/decisions", http.Attributes["http.route"])
		assert.Equal(t, int64(200), http.Attributes["http.response.status_code"])
		assert.Equal(t, http.SpanID, decide.ParentSpanID)
		assert.Equal(t, decide.SpanID, trace[engine.SpanSnapshot].ParentSpanID)
		assert.Equal(t, decide.SpanID, trace[engine.SpanEval].ParentSpanID)
		assert.Equal(t, "alice", decide.Attributes[engine.AttrSubject])
		assert.Equal(t, "manage", decide.Attributes[engine.AttrAction])
		assert.Equal(t, "acme", decide.Attributes[engine.AttrAccount])
		assert.Equal(t, true, decide.Attributes[engine.AttrAllow])
		assert.NotEmpty(t, decide.Attributes[engine.AttrDecisionID])
		assert.NotEmpty(t, decide.Attributes[engine.AttrPolicyRevision])
	})
	t.Run("a write's spans: HTTP, then the admission decision and the commit", func(t *testing.T) {
		trace := otlptest.WaitFor(t, receiver, "a write's trace", func(spans []otlptest.Span) (map[string]otlptest.Span, bool) {
			return rootOf(spans, putUserRoute, engine.SpanAdmission, engine.SpanCommit)
		})
		http := trace[putUserRoute]
		assert.Equal(t, int64(201), http.Attributes["http.response.status_code"])
		assert.Equal(t, "/v1/users/zoe", http.Attributes["url.path"])
		assert.Equal(t, http.SpanID, trace[engine.SpanAdmission].ParentSpanID)
		assert.Equal(t, http.SpanID, trace[engine.SpanCommit].ParentSpanID)
		assert.Equal(t, tracepb.Status_STATUS_CODE_UNSET, trace[engine.SpanCommit].StatusCode)
	})
	assertNoSecret(t, receiver.Spans(), srv.token, decision, user, "zoe@acme.example")
}

func TestTracesContinueTheCallersTrace(t *testing.T) {
	receiver := otlptest.Start(t)
	srv := serveInProcess(t, func(c *Config) {
		c.OTelEndpoint, c.OTelInsecure = receiver.Addr(), true
	})
	const (
		callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
		callerSpan  = "00f067aa0ba902b7"
	)
	require.Equal(t, http.StatusOK, send(t, http.MethodPost, srv.url+"/v1/decisions",
		`{"subject": "bob", "action": "view", "resource": {"account": "acme"}}`,
		map[string]string{
			"traceparent": "00-" + callerTrace + "-" + callerSpan + "-01",
			"tracestate":  "caller=t61rcWkgMzE",
		}))
	srv.stop()

	trace := otlptest.WaitFor(t, receiver, "the caller's trace", func(spans []otlptest.Span) (map[string]otlptest.Span, bool) {
		return otlptest.Trace(spans, callerTrace, decisionRoute, engine.SpanDecide, engine.SpanSnapshot, engine.SpanEval)
	})
	http := trace[decisionRoute]
	assert.Equal(t, callerSpan, http.ParentSpanID, "the server span is the child of the caller's")
	assert.Equal(t, "caller=t61rcWkgMzE", http.TraceState)
	assert.Equal(t, http.SpanID, trace[engine.SpanDecide].ParentSpanID)
	assert.Equal(t, false, trace[engine.SpanDecide].Attributes[engine.AttrAllow], "bob holds no account role at acme")
}

func TestTracesMaskedFields(t *testing.T) {
	receiver := otlptest.Start(t)
	srv := serveInProcess(t, func(c *Config) {
		c.OTelEndpoint, c.OTelInsecure = receiver.Addr(), true
		c.DecisionLogMask = []string{"subject", "resource"}
	})
	require.Equal(t, http.StatusOK, send(t, http.MethodPost, srv.url+"/v1/decisions",
		`{"subject": "alice", "action": "view", "resource": {"account": "acme", "virtual_account": "emea"}}`, nil))
	srv.stop()
	trace := otlptest.WaitFor(t, receiver, "a decision's trace", func(spans []otlptest.Span) (map[string]otlptest.Span, bool) {
		return rootOf(spans, decisionRoute, engine.SpanDecide)
	})
	decide := trace[engine.SpanDecide]
	assert.NotContains(t, decide.Attributes, engine.AttrSubject)
	assert.NotContains(t, decide.Attributes, engine.AttrAccount)
	assert.NotContains(t, decide.Attributes, engine.AttrVirtualAccount)
	assert.Equal(t, "view", decide.Attributes[engine.AttrAction], "the action is not masked")
	assert.Contains(t, decide.Attributes, engine.AttrAllow)
}

// exporterGoroutines returns the stacks of the goroutines of an OTel span
// exporter (the SDK's batch processor, the OTLP/gRPC client).
func exporterGoroutines(t *testing.T) []string {
	t.Helper()
	var dump bytes.Buffer
	require.NoError(t, pprof.Lookup("goroutine").WriteTo(&dump, 2))
	var found []string
	for _, g := range strings.Split(dump.String(), "\n\n") {
		if strings.Contains(g, "go.opentelemetry.io/otel/sdk/trace") || strings.Contains(g, "otlptracegrpc") {
			found = append(found, g)
		}
	}
	return found
}

func TestNoTracesWithoutAnEndpoint(t *testing.T) {
	receiver := otlptest.Start(t)
	srv := serveInProcess(t, func(c *Config) {})
	require.Equal(t, http.StatusOK, send(t, http.MethodPost, srv.url+"/v1/decisions",
		`{"subject": "alice", "action": "view", "resource": {"account": "acme"}}`,
		map[string]string{"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}))
	// Spans of an earlier test's server end with it; none may remain while
	// this one serves.
	start := time.Now()
	require.Eventually(t, func() bool { return len(exporterGoroutines(t)) == 0 }, otlptest.WaitLimit, 20*time.Millisecond,
		"an exporter goroutine runs without --otel-endpoint:\n%s", strings.Join(exporterGoroutines(t), "\n\n"))
	t.Logf("no exporter goroutine after %s", time.Since(start).Round(time.Millisecond))
	assert.NotContains(t, srv.log.String(), "sending traces")
	srv.stop()
	assert.Zero(t, receiver.Exports(), "nothing is exported without --otel-endpoint")

	t.Run("the goroutine check sees an exporter when there is one", func(t *testing.T) {
		traced := serveInProcess(t, func(c *Config) { c.OTelEndpoint, c.OTelInsecure = receiver.Addr(), true })
		assert.NotEmpty(t, exporterGoroutines(t))
		assert.Contains(t, traced.log.String(), "sending traces")
		traced.stop()
	})
}

// End to end: a `gatehouse serve --otel-endpoint --otel-insecure` process
// sends the spans of a caller's decision and of a write while it serves
// (batched every 100ms here, OTEL_BSP_SCHEDULE_DELAY), and the rest when
// it shuts down.
func TestServeSendsTraces(t *testing.T) {
	bin := buildGatehouse(t)
	receiver := otlptest.Start(t)
	secret := writeFile(t, "jwt", "tracing-e2e-jwt-secret-0123456789abcdef")
	token := strings.TrimSpace(runBinary(t, bin, "token", "--sub", "ops", "--jwt-hs256-secret-file", secret))
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	srv := startServer(t, "traced", bin, "--data-dir", seededDir(t), "--jwt-hs256-secret-file", secret,
		"--system-admins", "ops", "--otel-endpoint", receiver.Addr(), "--otel-insecure")

	const callerTrace, callerSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	require.Equal(t, http.StatusOK, send(t, http.MethodPost, srv.url+"/v1/decisions",
		`{"subject": "nina", "action": "manage", "resource": {"account": "northwind"}}`,
		map[string]string{"traceparent": "00-" + callerTrace + "-" + callerSpan + "-01"}))
	decision := otlptest.WaitFor(t, receiver, "the decision's spans, from a running server", func(spans []otlptest.Span) (map[string]otlptest.Span, bool) {
		return otlptest.Trace(spans, callerTrace, decisionRoute, engine.SpanDecide, engine.SpanSnapshot, engine.SpanEval)
	})
	assert.Equal(t, callerSpan, decision[decisionRoute].ParentSpanID)
	assert.Equal(t, decision[decisionRoute].SpanID, decision[engine.SpanDecide].ParentSpanID)
	assert.Equal(t, decision[engine.SpanDecide].SpanID, decision[engine.SpanEval].ParentSpanID)
	assert.Equal(t, "gatehouse", decision[decisionRoute].Service)
	assert.Equal(t, true, decision[engine.SpanDecide].Attributes[engine.AttrAllow])

	require.Equal(t, http.StatusCreated, send(t, http.MethodPut, srv.url+"/v1/users/yann", `{"email": "yann@acme.example"}`,
		map[string]string{"Authorization": "Bearer " + token}))
	// SIGTERM: the server drains, then sends its last spans (the cleanup
	// checks it exits 0).
	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGTERM))
	write := otlptest.WaitFor(t, receiver, "the write's spans", func(spans []otlptest.Span) (map[string]otlptest.Span, bool) {
		return rootOf(spans, putUserRoute, engine.SpanAdmission, engine.SpanCommit)
	})
	assert.Equal(t, write[putUserRoute].SpanID, write[engine.SpanCommit].ParentSpanID)
	assertNoSecret(t, receiver.Spans(), token, "yann@acme.example")
	assert.Contains(t, srv.logs(), "sending traces")
}

func TestOTelFlags(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{name: "no tracing", change: func(*Config) {}},
		{name: "a collector", change: func(c *Config) { c.OTelEndpoint = "otel-collector.observability:4317" }},
		{name: "a plaintext collector", change: func(c *Config) { c.OTelEndpoint, c.OTelInsecure = "127.0.0.1:4317", true }},
		{name: "a URL", change: func(c *Config) { c.OTelEndpoint = "http://collector:4317" }, want: `--otel-endpoint: the OTLP endpoint "http://collector:4317" is not HOST:PORT`},
		{name: "no port", change: func(c *Config) { c.OTelEndpoint = "collector" }, want: "--otel-endpoint"},
		{name: "a path", change: func(c *Config) { c.OTelEndpoint = "collector:4318/v1/traces" }, want: "not a number from 1 to 65535"},
		{name: "no host", change: func(c *Config) { c.OTelEndpoint = ":4317" }, want: "missing host"},
		{name: "insecure alone", change: func(c *Config) { c.OTelInsecure = true }, want: "--otel-insecure needs --otel-endpoint"},
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
	t.Run("read from GATEHOUSE_OTEL_ENDPOINT", func(t *testing.T) {
		t.Setenv("GATEHOUSE_OTEL_ENDPOINT", "collector")
		_, err := runGatehouse(t, "serve")
		require.ErrorContains(t, err, `--otel-endpoint: the OTLP endpoint "collector" is not HOST:PORT`)
	})
}
