package console_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The console has no path to the state but the API (issue 12, R43): it
// imports the client and the standard library only, never the engine, a
// store or another adapter.
func TestImportsOnlyTheClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.ElementsMatch(t, []string{"github.com/gatehouse/gatehouse/client", "github.com/gatehouse/gatehouse/adapters/console"},
		strings.Fields(string(out)))
}
