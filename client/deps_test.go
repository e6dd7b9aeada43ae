package client_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The client is what an application imports: it must bring in the
// standard library only, nothing of gatehouse's engine or adapters, and no
// other module.
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Equal(t, []string{"github.com/gatehouse/gatehouse/client"}, deps,
		"the client package imports only the standard library")
}
