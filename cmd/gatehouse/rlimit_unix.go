//go:build unix

package main

import "syscall"

// openFileLimit returns the process's soft limit on open files
// (RLIMIT_NOFILE; unlimited reads as a huge number), or 0 when it cannot
// be read. Go raises the soft limit to the hard one at start-up.
func openFileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur == 0 {
		return 0
	}
	return uint64(lim.Cur)
}
