package envoyauthz_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Imports point inward (STYLE.md): the adapter depends on the engine (and
// the engine's own internal packages, which come with it) and its own
// libraries, never on another adapter.
func TestImportsNoOtherAdapter(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Deps "\n"}}`, ".").Output()
	require.NoError(t, err, "go list")
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/gatehouse/gatehouse/") && !strings.HasPrefix(dep, "github.com/gatehouse/gatehouse/engine/internal/") {
			assert.Contains(t, []string{"github.com/gatehouse/gatehouse/engine"}, dep, "envoyauthz depends on %s", dep)
		}
	}
}
