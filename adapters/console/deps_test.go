package console_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The console has no path to the state but the API (issue 12, R43): of
// gatehouse's packages it imports the client, and the engine for its id
// rule (engine.ValidID) only; never a store, its client library or
// another adapter (the engine's own internal packages come with it).
func TestReachesStateOnlyThroughTheAPI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var own []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/gatehouse/gatehouse/") && !strings.HasPrefix(p, "github.com/gatehouse/gatehouse/engine/internal/") {
			own = append(own, p)
		}
		assert.NotContains(t, p, "redis", "a store's client library")
		assert.NotContains(t, p, "bbolt", "a store's library")
	}
	assert.ElementsMatch(t, []string{"github.com/gatehouse/gatehouse/client", "github.com/gatehouse/gatehouse/engine",
		"github.com/gatehouse/gatehouse/adapters/console"}, own)
}
