package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// update rewrites the screenshots under docs/console.
var update = flag.Bool("update", false, "rewrite the screenshots under docs/console")

// deadline bounds each wait for a server or a page: generous, for loaded
// test machines. Measured times are logged, never asserted.
const deadline = 90 * time.Second

// repoRoot is the repository's root, from this package's directory.
const repoRoot = "../../.."

// gatehouseBin is the binary TestMain builds.
var gatehouseBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "gatehouse-browsertest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gatehouseBin = filepath.Join(dir, "gatehouse")
	if out, err := exec.Command("go", "build", "-o", gatehouseBin, "github.com/gatehouse/gatehouse/cmd/gatehouse").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// demo is a `gatehouse serve` process with the demo data and the
// development sign-in, as `make run` starts it.
type demo struct {
	url    string
	secret string
	cmd    *exec.Cmd
	done   chan error

	mu  sync.Mutex
	log bytes.Buffer
}

var servingAddr = regexp.MustCompile(`msg="gatehouse serving" addr=(\S+)`)

// startDemo seeds testdata/demo.json into a fresh embedded store and
// serves it on a free port until the test ends.
func startDemo(t *testing.T) *demo {
	t.Helper()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte("browsertest-development-secret-0123456789"), 0o600))
	data := filepath.Join(dir, "data")
	out, err := exec.Command(gatehouseBin, "seed", filepath.Join(repoRoot, "testdata", "demo.json"),
		"--store", "embedded", "--data-dir", data).CombinedOutput()
	require.NoError(t, err, "seed: %s", out)
	cmd := exec.Command(gatehouseBin, "serve", "--addr", "127.0.0.1:0", "--store", "embedded", "--data-dir", data,
		"--jwt-hs256-secret-file", secret, "--console-dev-sign-in", "--system-admins", "ops",
		"--decision-timeout", "20s", "--store-write-timeout", "20s", "--store-read-timeout", "20s")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	d := &demo{secret: secret, cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			d.mu.Lock()
			d.log.WriteString(lines.Text() + "\n")
			d.mu.Unlock()
			if m := servingAddr.FindStringSubmatch(lines.Text()); m != nil {
				addr <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		d.done <- cmd.Wait()
	}()
	t.Cleanup(func() { d.stop(t) })
	select {
	case a := <-addr:
		d.url = "http://" + a
	case err := <-d.done:
		d.done <- err
		require.FailNow(t, "gatehouse serve exited before serving", "%v\n%s", err, d.logs())
	case <-time.After(deadline):
		require.FailNow(t, "gatehouse serve did not start serving", d.logs())
	}
	return d
}

func (d *demo) logs() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

func (d *demo) stop(t *testing.T) {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM: %v", err)
	}
	select {
	case err := <-d.done:
		assert.NoError(t, err, "gatehouse serve must exit 0 on SIGTERM:\n%s", d.logs())
	case <-time.After(deadline):
		_ = d.cmd.Process.Kill()
		<-d.done
		t.Errorf("gatehouse serve did not shut down:\n%s", d.logs())
	}
	// No token may reach the server's log (the console's sign-ins included).
	assert.NotRegexp(t, `eyJ[A-Za-z0-9_-]{10,}\.`, d.logs(), "a token was logged")
}

// token mints a development token for sub with `gatehouse token`.
func (d *demo) token(t *testing.T, sub string) string {
	t.Helper()
	out, err := exec.Command(gatehouseBin, "token", "--sub", sub, "--jwt-hs256-secret-file", d.secret).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// call sends a JSON request to the API as sub ("" for none) and decodes
// the answer into out (nil to discard); it returns the status.
func (d *demo) call(t *testing.T, sub, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.url+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if sub != "" {
		req.Header.Set("Authorization", "Bearer "+d.token(t, sub))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(raw, out), "%s", raw)
	}
	return resp.StatusCode
}

// request is the part of an access request the tests read.
type request struct {
	ID         string   `json:"id"`
	Status     string   `json:"status"`
	ReasonCode string   `json:"reason_code"`
	Message    string   `json:"message"`
	Name       string   `json:"name"`
	Users      []string `json:"users"`
}

// requestAccess makes sub ask access to account through the API.
func (d *demo) requestAccess(t *testing.T, sub, account, justification string) request {
	t.Helper()
	var r request
	status := d.call(t, sub, http.MethodPost, "/v1/accounts/"+account+"/access-requests", map[string]string{"justification": justification}, &r)
	require.Equal(t, http.StatusCreated, status)
	return r
}

// getRequest reads request id as sub.
func (d *demo) getRequest(t *testing.T, sub, id string) request {
	t.Helper()
	var r request
	require.Equal(t, http.StatusOK, d.call(t, sub, http.MethodGet, "/v1/access-requests/"+id, nil, &r))
	return r
}

// allowed asks POST /v1/decisions.
func (d *demo) allowed(t *testing.T, subject, action, account, va string) bool {
	t.Helper()
	var dec struct {
		Allow bool `json:"allow"`
	}
	resource := map[string]string{"account": account}
	if va != "" {
		resource["virtual_account"] = va
	}
	require.Equal(t, http.StatusOK, d.call(t, "", http.MethodPost, "/v1/decisions",
		map[string]any{"subject": subject, "action": action, "resource": resource}, &dec))
	return dec.Allow
}

// browser is one headless Chromium with a fresh profile.
type browser struct {
	ctx context.Context
	t   *testing.T
	// dialogs counts the JavaScript dialogs pages opened (an injected
	// alert would open one).
	mu      sync.Mutex
	dialogs []string
}

// chromiumPath finds Debian's chromium, or fails naming how to install it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	require.FailNow(t, "chromium is missing: the browser tests need it. Install it with "+
		"`apt-get install -y chromium` (or run `make test`, whose scripts/ensure-chromium.sh installs it).")
	return ""
}

// newBrowser starts a headless Chromium for the test, width pixels wide.
func newBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	b := &browser{t: t}
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithListener(func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			b.mu.Lock()
			b.dialogs = append(b.dialogs, d.Message)
			b.mu.Unlock()
		}
	}))
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*deadline)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	b.ctx = ctx
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))))
	return b
}

// do runs steps, failing the test on an error.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, steps...))
}

// open navigates to url and returns the HTTP status of the page, logging
// how long the page took to load.
func (b *browser) open(url string) int64 {
	b.t.Helper()
	start := time.Now()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(url))
	require.NoError(b.t, err)
	b.t.Logf("page load %s: %d in %s", strings.SplitN(url, "/console/", 2)[len(strings.SplitN(url, "/console/", 2))-1], resp.Status, time.Since(start))
	return resp.Status
}

// submit runs steps that submit a form and returns the HTTP status of the
// page the browser lands on.
func (b *browser) submit(steps ...chromedp.Action[chromedp.Void]) int64 {
	b.t.Helper()
	start := time.Now()
	resp, err := chromedp.RunResponse(b.ctx, steps...)
	require.NoError(b.t, err)
	b.t.Logf("form submit: %d in %s", resp.Status, time.Since(start))
	return resp.Status
}

// text returns the visible text of the element sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(b.t, err)
	return s
}

// eval evaluates a JavaScript expression in the page (DevTools'
// evaluation, which the page's CSP does not govern).
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	require.NoError(b.t, err)
	return v
}

// signIn uses the development sign-in as user.
func (b *browser) signIn(d *demo, user string) {
	b.t.Helper()
	require.EqualValues(b.t, http.StatusOK, b.open(d.url+"/console/login"))
	status := b.submit(
		chromedp.SendKeys(chromedp.CSS("#user"), user),
		chromedp.Click(chromedp.CSS(`form[action="/console/login/dev"] button[type=submit]`)),
	)
	require.EqualValues(b.t, http.StatusOK, status)
	require.Equal(b.t, user, b.text("#signed-in-as"))
}

// choose selects value in the select sel and tells the page it changed,
// as a user's choice does.
func (b *browser) choose(sel, value string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(sel), value),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[any](fmt.Sprintf(
				`document.querySelector(%q).dispatchEvent(new Event("change", {bubbles: true}))`, sel))(ctx, t)
			return err
		}))
}

// bodyText is the page's whole visible text.
func (b *browser) bodyText() string { return b.text("body") }

// screenshot saves the page as docs/console/name.png when -update is given.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	if !*update {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	dir := filepath.Join(repoRoot, "docs", "console")
	require.NoError(b.t, os.MkdirAll(dir, 0o755))
	require.NoError(b.t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
	b.t.Logf("wrote docs/console/%s.png", name)
}
