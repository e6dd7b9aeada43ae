package main

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 9, sections 1 and 5: `make run` (scripts/demo-run.sh) prints the
// GATEHOUSE_SERVER of its address, keeps its data in a directory of its
// own, and a second `make run` on an address where a demo runs refuses,
// naming the address and how to stop the other one, and deletes nothing.

// syncBuffer is a bytes.Buffer safe for a process writing while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// demoRun is one scripts/demo-run.sh process.
type demoRun struct {
	cmd  *exec.Cmd
	out  syncBuffer
	done chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

func startDemo(t *testing.T, bin, addr, root, secret string) *demoRun {
	t.Helper()
	repo, err := filepath.Abs("../..")
	require.NoError(t, err)
	d := &demoRun{done: make(chan error, 1)}
	d.cmd = exec.Command(filepath.Join(repo, "scripts", "demo-run.sh"), bin, addr, root, secret)
	d.cmd.Stdout, d.cmd.Stderr = &d.out, &d.out
	require.NoError(t, d.cmd.Start())
	go func() { d.done <- d.cmd.Wait() }()
	return d
}

// wait returns the process's exit error, failing the test if it runs on.
func (d *demoRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(replicaDeadline):
		_ = d.cmd.Process.Kill()
		require.FailNow(t, "demo-run.sh did not exit", d.out.String())
		return nil
	}
}

// exited reports whether the process has ended.
func (d *demoRun) exited() bool {
	select {
	case err := <-d.done:
		d.done <- err
		return true
	default:
		return false
	}
}

// stop ends a running demo server with SIGTERM, as Ctrl-C would.
func (d *demoRun) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("SIGTERM: %v", err)
	}
	_ = d.wait(t)
}

func waitHealthy(t *testing.T, d *demoRun, addr string) {
	t.Helper()
	start := time.Now()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, replicaDeadline, 50*time.Millisecond, "demo on %s did not serve:\n%s", addr, d.out.String())
	t.Logf("demo on %s served /health after %s", addr, time.Since(start).Round(time.Millisecond))
}

func demoDecides(t *testing.T, addr string) bool {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/v1/decisions", "application/json",
		strings.NewReader(`{"subject":"alice","action":"manage","resource":{"account":"acme"}}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	require.NoError(t, err)
	return strings.Contains(buf.String(), `"allow":true`)
}

func TestMakeRunTwice(t *testing.T) {
	bin := buildGatehouse(t)
	root := filepath.Join(t.TempDir(), "demo")
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("demo-run-test-secret-0123456789abcdef"), 0o600))
	addr := freeAddr(t)

	first := startDemo(t, bin, addr, root, secret)
	t.Cleanup(func() {
		if !first.exited() {
			first.stop(t)
		}
	})
	waitHealthy(t, first, addr)
	assert.Contains(t, first.out.String(), "export GATEHOUSE_SERVER=http://"+addr+"\n")
	require.True(t, demoDecides(t, addr), "the demo data answers alice")
	dataDir := filepath.Join(root, strings.ReplaceAll(addr, ":", "_"), "data")
	require.DirExists(t, dataDir, "the demo's data lives in a directory named after its address")

	second := startDemo(t, bin, addr, root, secret)
	err := second.wait(t)
	require.Error(t, err, "a second make run on %s must refuse:\n%s", addr, second.out.String())
	msg := second.out.String()
	t.Logf("second make run on the same address:\n%s", msg)
	assert.Contains(t, msg, "already runs on "+addr)
	assert.Contains(t, msg, "pid "+strconv.Itoa(first.cmd.Process.Pid))
	assert.Contains(t, msg, "Ctrl-C")
	assert.Contains(t, msg, "kill "+strconv.Itoa(first.cmd.Process.Pid))
	assert.NotContains(t, msg, "seeded", "nothing was deleted or reseeded")
	require.DirExists(t, dataDir)
	assert.True(t, demoDecides(t, addr), "the running demo still answers from its data")

	// Another address runs beside it, with its own directory.
	other := freeAddr(t)
	beside := startDemo(t, bin, other, root, secret)
	waitHealthy(t, beside, other)
	assert.True(t, demoDecides(t, other))
	beside.stop(t)

	// Once the first demo stops, make run on its address starts afresh.
	first.stop(t)
	again := startDemo(t, bin, addr, root, secret)
	waitHealthy(t, again, addr)
	again.stop(t)
}

// make run refuses an address another program listens on, before it
// deletes the data of that address.
func TestMakeRunRefusesABusyAddress(t *testing.T) {
	bin := buildGatehouse(t)
	root := filepath.Join(t.TempDir(), "demo")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	addr := ln.Addr().String()
	kept := filepath.Join(root, strings.ReplaceAll(addr, ":", "_"), "data", "kept")
	require.NoError(t, os.MkdirAll(filepath.Dir(kept), 0o755))
	require.NoError(t, os.WriteFile(kept, []byte("x"), 0o600))

	d := startDemo(t, bin, addr, root, filepath.Join(t.TempDir(), "no-secret"))
	require.Error(t, d.wait(t), d.out.String())
	assert.Contains(t, d.out.String(), "something already listens on "+addr)
	assert.FileExists(t, kept, "nothing deleted")
}

// The Makefile's run target hands ADDR to the script.
func TestMakeRunUsesTheScript(t *testing.T) {
	repo, err := filepath.Abs("../..")
	require.NoError(t, err)
	cmd := exec.Command("make", "-n", "run", "ADDR=127.0.0.1:18280")
	cmd.Dir = repo
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "scripts/demo-run.sh bin/gatehouse 127.0.0.1:18280 .cache/demo .cache/dev-jwt-secret")
}
