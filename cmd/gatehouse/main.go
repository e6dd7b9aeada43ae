// Command gatehouse is the authorization sidecar: it serves decisions and
// the admin API, and carries the tools to seed data, mint development
// tokens and test policies.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse:", err)
		os.Exit(1)
	}
}
