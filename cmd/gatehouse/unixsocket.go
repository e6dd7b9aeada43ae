package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// unixScheme prefixes an --addr naming a Unix socket, as OPA's --addr
// takes it: unix:///run/gatehouse/gatehouse.sock.
const unixScheme = "unix://"

// unixSocketMode is the mode of the socket file: its owner and group may
// connect, no one else. Run the application in gatehouse's group.
const unixSocketMode = 0o660

// unixSocketPath returns the socket path of addr and true when addr names
// a Unix socket.
func unixSocketPath(addr string) (string, bool) {
	return strings.CutPrefix(addr, unixScheme)
}

// validateAddr checks --addr: host:port, or unix:// and a path.
func validateAddr(addr string) error {
	if path, ok := unixSocketPath(addr); ok {
		if path == "" {
			return fmt.Errorf("--addr %q names no socket path (unix:///path/to/gatehouse.sock)", addr)
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("--addr %q: %w (host:port, or unix:///path/to/gatehouse.sock)", addr, err)
	}
	return nil
}

// listenUnix listens on the Unix socket path for the sidecar case. The
// socket is created under a temporary name, given unixSocketMode, then
// renamed into place, so no client ever connects to it with a wider mode.
// A stale socket left by a process that died is replaced; a path held by
// a live socket (another gatehouse serving) or by a file that is not a
// socket is refused. Closing the listener removes the socket file, unless
// another process has replaced it meanwhile.
func listenUnix(path string) (net.Listener, error) {
	if err := claimSocketPath(path); err != nil {
		return nil, err
	}
	tmp := path + "." + strconv.Itoa(os.Getpid())
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("--addr %s%s: %w", unixScheme, path, err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("--addr %s%s: %w", unixScheme, path, err)
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		_ = ln.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("--addr %s%s: %w", unixScheme, path, err)
	}
	if err := os.Chmod(tmp, unixSocketMode); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	info, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	return &unixListener{UnixListener: ln, path: path, info: info}, nil
}

// claimSocketPath makes path free for a new socket: absent, or a stale
// socket nobody listens on (removed). A live socket or another kind of
// file is an error.
func claimSocketPath(path string) error {
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("--addr %s%s: %w", unixScheme, path, err)
	case info.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("--addr %s%s: the path exists and is not a socket; gatehouse does not replace it", unixScheme, path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		_ = conn.Close()
		return fmt.Errorf("--addr %s%s: another process is serving on this socket", unixScheme, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("--addr %s%s: cannot tell whether the socket there is in use: %w", unixScheme, path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("--addr %s%s: remove the stale socket: %w", unixScheme, path, err)
	}
	return nil
}

// unixListener is a Unix socket listener that reports its final path and
// removes it when closed.
type unixListener struct {
	*net.UnixListener
	path  string
	info  fs.FileInfo
	close sync.Once
	err   error
}

// Addr is the socket's path (not the temporary name it was bound under).
func (l *unixListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

// Close stops listening and removes the socket file if it is still the
// one this listener created.
func (l *unixListener) Close() error {
	l.close.Do(func() {
		l.err = l.UnixListener.Close()
		if now, err := os.Lstat(l.path); err == nil && os.SameFile(now, l.info) {
			_ = os.Remove(l.path)
		}
	})
	return l.err
}
