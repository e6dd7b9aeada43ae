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
	"sync"
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

// Restart starts the server again on the same port and directory, stopping
// it first if it runs, and returns once it answers PING. Data is not kept
// unless persistence was turned on with WithArgs.
func (s *Server) Restart() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
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
	if err := waitReady(s.Addr(), done, s.cfg.startTimeout); err != nil {
		s.stopLocked()
		return fmt.Errorf("%w; log:\n%s", err, tail(logPath))
	}
	return nil
}

func (s *Server) stopLocked() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill() // fails only when the process already exited
	<-s.done
	s.cmd, s.done = nil, nil
}

// waitReady polls addr with PING, backing off from 2ms to 100ms, until it
// answers PONG, the process exits or timeout passes.
func waitReady(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	delay := 2 * time.Millisecond
	for {
		err := ping(addr)
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

// ping sends one PING over a fresh connection and expects +PONG.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
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
