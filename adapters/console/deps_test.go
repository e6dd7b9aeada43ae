package console_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The console has no path to the state but the API (issue 12, R43): of
// gatehouse's packages it imports the client only, never the engine, a
// store or another adapter; and no Redis or Gin. Its other imports are the
// standard library and the OpenID Connect libraries of its sign-in.
func TestImportsOnlyTheClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	var own []string
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/gatehouse/gatehouse/") {
			own = append(own, d)
		}
		for _, banned := range []string{"github.com/redis/", "github.com/gin-gonic/", "github.com/open-policy-agent/"} {
			assert.False(t, strings.HasPrefix(d, banned), "the console imports %s", d)
		}
	}
	slices.Sort(own)
	assert.Equal(t, []string{"github.com/gatehouse/gatehouse/adapters/console", "github.com/gatehouse/gatehouse/client"}, own)
}
