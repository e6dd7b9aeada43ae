// Command gatehouse is the authorization sidecar: it serves decisions and
// the admin API, and carries the tools to seed data, mint development
// tokens and test policies.
package main

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/gatehouse/gatehouse/engine"
)

// Exit statuses. Every command exits 0 on success and exitError on an
// error; decide adds exitDeny and exitFailClosed so that a script can tell
// a deny from a failure (decide --help, README "Exit status").
const (
	exitOK         = 0
	exitError      = 1 // bad input, unreachable store or server, server error
	exitDeny       = 2 // decide: the policy denied
	exitFailClosed = 3 // decide: denied because deciding failed (timeout, store_unavailable, policy_error)
)

// statusError ends the command with status code; the command has already
// said what it had to, so main prints nothing for it.
type statusError struct{ code int }

func (e *statusError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	os.Exit(run())
}

func run() int {
	err := newRootCommand().Execute()
	var se *statusError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &se):
		return se.code
	}
	fmt.Fprintln(os.Stderr, "gatehouse:", message(err))
	return exitError
}

// message is err as the person at the terminal reads it: a store that
// cannot be reached is said so, with the network's reason, not with the
// store adapter's wrapping (operation names, keys).
func message(err error) string {
	if !errors.Is(err, engine.ErrUnavailable) {
		return err.Error()
	}
	msg := "the store is unavailable: check --store and --redis-url (or GATEHOUSE_STORE, GATEHOUSE_REDIS_URL)"
	var op *net.OpError
	if errors.As(err, &op) {
		msg += " (" + op.Error() + ")"
	}
	return msg
}
