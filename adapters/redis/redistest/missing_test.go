package redistest_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
)

// recordingTB records how a test ends instead of ending the real one.
type recordingTB struct {
	testing.TB
	failed  string
	skipped bool
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recordingTB) Skip(...any)          { r.skipped = true; runtime.Goexit() }
func (r *recordingTB) Skipf(string, ...any) { r.skipped = true; runtime.Goexit() }
func (r *recordingTB) SkipNow()             { r.skipped = true; runtime.Goexit() }

// A machine without redis-server fails the Redis tests, saying how to
// install it; they are never skipped.
func TestMissingRedisServerFailsWithInstallHint(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	rec := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.Start(rec)
	}()
	<-done
	assert.False(t, rec.skipped, "a missing redis-server must not skip")
	assert.Contains(t, rec.failed, "redis-server is not in PATH")
	assert.Contains(t, rec.failed, "apt-get install -y redis-server")
}

// A machine with redis-server but without redis-cli fails the cluster
// tests, saying how to install it, before starting any server.
func TestMissingRedisCliFailsWithInstallHint(t *testing.T) {
	server, err := exec.LookPath("redis-server")
	require.NoError(t, err, "redis-server: apt-get install -y redis-server")
	dir := t.TempDir()
	require.NoError(t, os.Symlink(server, filepath.Join(dir, "redis-server")))
	t.Setenv("PATH", dir)
	rec := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		redistest.StartCluster(rec, 3)
	}()
	<-done
	assert.False(t, rec.skipped, "a missing redis-cli must not skip")
	assert.Contains(t, rec.failed, "redis-cli is not in PATH")
	assert.Contains(t, rec.failed, "apt-get install -y redis-server")
}
