//go:build !unix

package main

// openFileLimit returns 0: this platform has no RLIMIT_NOFILE.
func openFileLimit() uint64 { return 0 }
