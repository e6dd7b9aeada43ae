package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a redis-server process owned by one test.
// Its methods are safe for concurrent use.
type Server struct {
	tb   testing.TB
	bin  string
	dir  string
	port int
	cfg  config

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startAttempts bounds how often Start picks another port when the one it
// chose was taken before redis-server could bind it.
const startAttempts = 3

// Start runs a fresh redis-server on a free port of 127.0.0.1, in
// tb.TempDir(), without persistence. It returns once the server answers
// PING, and kills the server when the test ends. A missing redis-server
// binary fails the test.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("redistest: redis-server is not in PATH (%v): install it with "+
			"`apt-get install -y redis-server`, or run `make test`, which installs it", err)
	}
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), cfg: cfg}
	tb.Cleanup(s.Stop)

	s.mu.Lock()
	defer s.mu.Unlock()
	var lastErr error
	for range startAttempts {
		if s.port, err = freePort(); err != nil {
			tb.Fatalf("redistest: pick a free port: %v", err)
		}
		if lastErr = s.startLocked(); lastErr == nil {
			return s
		}
	}
	tb.Fatalf("redistest: start redis-server: %v", lastErr)
	return nil
}

// Addr is the server's host:port.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL is the server's redis:// URL, database 0.
func (s *Server) URL() string {
	return "redis://" + s.Addr() + "/0"
}

// Stop kills the server and waits for it to exit. Stopping a stopped server
// does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// Dir is the server's working directory, where a dump.rdb would be written.
func (s *Server) Dir() string { return s.dir }

// Restart starts the server again on the same port and directory, stopping
// it first if it runs, and returns once it answers PING. Data is not kept
// unless persistence was turned on with WithArgs. opts apply from this
// start on, after those given to Start (WithArgs appends to its arguments).
func (s *Server) Restart(opts ...Option) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	for _, opt := range opts {
		opt(&s.cfg)
	}
	if err := s.startLocked(); err != nil {
		s.tb.Fatalf("redistest: restart redis-server on %s: %v", s.Addr(), err)
	}
}

func (s *Server) startLocked() error {
	logPath := filepath.Join(s.dir, "redis.log")
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", logPath,
	}
	if s.cfg.sentinel != "" {
		// Sentinel mode reads its configuration file, the first argument,
		// and rewrites it as it learns the deployment.
		args = append([]string{s.cfg.sentinel, "--sentinel"}, args...)
	}
	cmd := exec.Command(s.bin, append(args, s.cfg.args...)...)
	orphanProof(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait() // the exit status of a killed server says nothing useful
		close(done)
	}()
	s.cmd, s.done = cmd, done
	if err := waitReady(s.Addr(), done, s.cfg.startTimeout, s.cfg.ready); err != nil {
		s.stopLocked()
		return fmt.Errorf("%w; log:\n%s", err, tail(logPath))
	}
	return nil
}

// Pause freezes the server with SIGSTOP, as a stalled host or a long GC
// pause would: the kernel still accepts connections, nothing answers. Stop
// and the test's cleanup end a paused server too.
func (s *Server) Pause() {
	s.tb.Helper()
	s.signal(syscall.SIGSTOP)
}

// Resume lets a paused server run again with SIGCONT.
func (s *Server) Resume() {
	s.tb.Helper()
	s.signal(syscall.SIGCONT)
}

func (s *Server) signal(sig syscall.Signal) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.tb.Fatalf("redistest: %v to a stopped redis-server", sig)
		return
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("redistest: %v to redis-server: %v", sig, err)
	}
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill() // fails only when the process already exited; SIGKILL ends a paused one too
	<-s.done
	s.cmd, s.done = nil, nil
}

// waitReady polls addr with PING, backing off from 2ms to 100ms, until its
// reply starts with one of ready, the process exits or timeout passes.
func waitReady(addr string, exited <-chan struct{}, timeout time.Duration, ready []string) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	delay := 2 * time.Millisecond
	for {
		err := ping(addr, ready)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("redis-server exited before answering PING")
		case <-deadline.C:
			return fmt.Errorf("redis-server did not answer PING within %s: %w", timeout, err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// ping sends one PING over a fresh connection and expects a reply starting
// with one of ready.
func ping(addr string, ready []string) error {
	line, err := command(addr, time.Second, "PING")
	if err != nil {
		return err
	}
	for _, r := range ready {
		if strings.HasPrefix(line, r) {
			return nil
		}
	}
	return fmt.Errorf("PING answered %q", line)
}

// FreePort returns a port of 127.0.0.1 on which nothing listens now, for a
// replica whose master is gone (ReplicaOfAddr) or a refused connection.
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatalf("redistest: pick a free port: %v", err)
	}
	return port
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("listener address %v is not TCP", l.Addr())
	}
	return addr.Port, nil
}

// tail returns the end of the server's log, for failure messages.
func tail(path string) string {
	const max = 2048
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// RestartLoading makes the server slow to start, as a Redis restarted with
// a large data set is: it adds filler keys (filler:1 ... filler:N) to the
// data, saves it all to the dump file, and restarts the server so that it
// loads the dump taking perKey per key (redis-server's key-load-delay, the
// knob of Redis's own test suite). It returns as soon as the server
// answers PING with -LOADING; the server stays loading for about
// filler*perKey, answering -LOADING to every data command meanwhile, then
// serves the saved data. Later Restarts load slowly too.
func (s *Server) RestartLoading(filler int, perKey time.Duration) {
	s.tb.Helper()
	fill := "for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'filler:' .. i, 'x') end return 1"
	for _, cmd := range [][]string{{"EVAL", fill, "0", strconv.Itoa(filler)}, {"SAVE"}} {
		if reply, err := command(s.Addr(), time.Minute, cmd...); err != nil || strings.HasPrefix(reply, "-") {
			s.tb.Fatalf("redistest: %s before a slow restart: %q %v", cmd[0], reply, err)
		}
	}
	s.Restart(
		WithArgs("--dbfilename", "dump.rdb",
			"--key-load-delay", strconv.FormatInt(max(perKey.Microseconds(), 1), 10),
			"--loading-process-events-interval-bytes", "1024"),
		WithReadyReplies("-LOADING"),
	)
}

// Loading reports whether the server still answers PING with -LOADING.
func (s *Server) Loading() bool {
	reply, err := command(s.Addr(), time.Second, "PING")
	return err == nil && strings.HasPrefix(reply, "-LOADING")
}

// command sends one command over a fresh connection and returns the first
// line of its reply, giving up after timeout.
func command(addr string, timeout time.Duration, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	req := "*" + strconv.Itoa(len(args)) + "\r\n"
	for _, a := range args {
		req += "$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n"
	}
	if _, err := conn.Write([]byte(req)); err != nil {
		return "", err
	}
	return bufio.NewReader(conn).ReadString('\n')
}
