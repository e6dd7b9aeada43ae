package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 9, section 1: `version` prints the version, the commit and the
// build date, not "(devel)" alone.

// The details come from the build info, else from what make build stamps.
func TestVersionDetails(t *testing.T) {
	tests := []struct {
		name  string
		info  *debug.BuildInfo
		stamp func()
		want  []string
	}{
		{
			name: "build info with vcs",
			info: &debug.BuildInfo{
				Main: debug.Module{Path: "github.com/gatehouse/gatehouse", Version: "v1.2.3"},
				Settings: []debug.BuildSetting{
					{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
					{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
					{Key: "vcs.modified", Value: "true"},
				},
			},
			want: []string{
				"gatehouse v1.2.3\n",
				"  module   github.com/gatehouse/gatehouse v1.2.3\n",
				"  commit   0123456789abcdef0123456789abcdef01234567, committed 2026-01-02T03:04:05Z, with uncommitted changes\n",
				"  built    date unknown (make build stamps it) with go",
			},
		},
		{
			name: "devel build with vcs: the short commit is the version",
			info: &debug.BuildInfo{
				Main:     debug.Module{Path: "github.com/gatehouse/gatehouse", Version: "(devel)"},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}},
			},
			want: []string{"gatehouse 0123456789ab\n", "  commit   0123456789abcdef0123456789abcdef01234567\n"},
		},
		{
			name: "stamped by make build",
			info: &debug.BuildInfo{Main: debug.Module{Path: "github.com/gatehouse/gatehouse", Version: "(devel)"}},
			stamp: func() {
				version, commit, commitDate, modified, buildDate = "v0.9.0-3-g0123456-dirty", "0123456789abcdef", "2026-01-02T03:04:05+00:00", "true", "2026-02-03T04:05:06Z"
			},
			want: []string{
				"gatehouse v0.9.0-3-g0123456-dirty\n",
				"  module   github.com/gatehouse/gatehouse (devel)\n",
				"  commit   0123456789abcdef, committed 2026-01-02T03:04:05+00:00, with uncommitted changes\n",
				"  built    2026-02-03T04:05:06Z with go",
			},
		},
		{
			name: "nothing known",
			want: []string{"gatehouse (devel)\n", "  commit   unknown (the build carries no vcs information: make build stamps it)\n"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			saved := []string{version, commit, commitDate, modified, buildDate}
			t.Cleanup(func() {
				version, commit, commitDate, modified, buildDate = saved[0], saved[1], saved[2], saved[3], saved[4]
			})
			version, commit, commitDate, modified, buildDate = "", "", "", "", ""
			if tc.stamp != nil {
				tc.stamp()
			}
			var out bytes.Buffer
			writeVersion(&out, newBuildDetails(tc.info))
			for _, w := range tc.want {
				assert.Contains(t, out.String(), w)
			}
		})
	}
}

// The binary `make build` produces names the commit of the checkout it was
// built from, and its build date.
func TestVersionOfMakeBuild(t *testing.T) {
	repo, err := filepath.Abs("../..")
	require.NoError(t, err)
	git := exec.Command("git", "rev-parse", "HEAD")
	git.Dir = repo
	head, gitErr := git.Output()

	bin := filepath.Join(t.TempDir(), "gatehouse")
	build := exec.Command("make", "-s", "build", "BIN="+bin)
	build.Dir = repo
	out, err := build.CombinedOutput()
	require.NoError(t, err, "make build: %s", out)

	printed := runBinary(t, bin, "version")
	t.Logf("gatehouse version:\n%s", printed)
	lines := strings.Split(printed, "\n")
	require.GreaterOrEqual(t, len(lines), 4, printed)
	assert.Regexp(t, `^gatehouse \S+$`, lines[0])
	assert.NotEqual(t, "gatehouse (devel)", lines[0])
	assert.Regexp(t, `(?m)^  built    \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ with go`, printed, "make build stamps the build date")
	if gitErr != nil {
		t.Logf("not a git checkout (git rev-parse HEAD: %v): the commit is unknown", gitErr)
		assert.Contains(t, printed, "  commit   unknown")
		return
	}
	assert.Contains(t, printed, "  commit   "+strings.TrimSpace(string(head))+", committed ")
}
