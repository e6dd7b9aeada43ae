package engine_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Imports point inward (STYLE.md): the engine imports the standard library,
// OPA, an id library and an LRU, and knows nothing of HTTP frameworks, Redis, the
// embedded store or the adapters.
// Its internal packages (the plan interpreter) are part of it and import
// the standard library and OPA only.
func TestEngineImportsPointInward(t *testing.T) {
	direct := goList(t, "{{join .Imports \"\\n\"}}", ".")
	for _, imp := range direct {
		stdlib := !strings.Contains(strings.Split(imp, "/")[0], ".")
		allowed := stdlib ||
			strings.HasPrefix(imp, "github.com/open-policy-agent/opa/") ||
			strings.HasPrefix(imp, engineInternal) ||
			imp == "github.com/oklog/ulid/v2" ||
			imp == "github.com/hashicorp/golang-lru/v2"
		assert.True(t, allowed, "engine imports %s", imp)
	}
	for _, imp := range goList(t, "{{join .Imports \"\\n\"}}", "./internal/...") {
		stdlib := !strings.Contains(strings.Split(imp, "/")[0], ".")
		assert.True(t, stdlib || strings.HasPrefix(imp, "github.com/open-policy-agent/opa/"), "engine/internal imports %s", imp)
	}
	for _, dep := range goList(t, "{{join .Deps \"\\n\"}}", ".") {
		if strings.HasPrefix(dep, engineInternal) {
			continue
		}
		for _, banned := range []string{
			"github.com/gatehouse/gatehouse/", "github.com/gin-gonic/", "github.com/redis/go-redis/", "go.etcd.io/bbolt",
		} {
			assert.False(t, strings.HasPrefix(dep, banned), "engine depends on %s", dep)
		}
	}
}

// engineInternal is the prefix of the engine's own internal packages.
const engineInternal = "github.com/gatehouse/gatehouse/engine/internal/"

func goList(t *testing.T, format, pkgs string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", format, pkgs).Output()
	require.NoError(t, err, "go list")
	return strings.Fields(string(out))
}
