package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// What the Go build info lacks, stamped by `make build` with -ldflags
// "-X main.version=... -X main.commit=..." (a build from a git worktree, or
// with -buildvcs=false, carries no vcs.* settings; no build carries its
// date). Empty when not stamped.
var (
	version    = "" // git describe --tags --always --dirty
	commit     = "" // git rev-parse HEAD
	commitDate = "" // the commit's date, RFC 3339
	modified   = "" // "true" when the checkout had uncommitted changes
	buildDate  = "" // RFC 3339, UTC
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print gatehouse's version, the commit it was built from and when",
		Long: `Print the version (git describe of the checkout, else the module version),
the module, the commit (with its date, and whether the checkout had
uncommitted changes), and the build date and Go version. The first line is
"gatehouse VERSION". Commit and build date come from the Go build info, else
from what make build stamps; "unknown" when neither has them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info, _ := debug.ReadBuildInfo()
			writeVersion(cmd.OutOrStdout(), newBuildDetails(info))
			return nil
		},
	}
}

// buildDetails is what `gatehouse version` prints.
type buildDetails struct {
	Version    string // git describe, else the module version, else the short commit
	Module     string // path and version of the main module
	Commit     string // full revision; "" when unknown
	CommitDate string
	Modified   bool
	BuildDate  string
	Go         string // Go version and platform
}

// newBuildDetails reads info (nil when the binary has none) and fills what
// it lacks from the values make build stamps.
func newBuildDetails(info *debug.BuildInfo) buildDetails {
	d := buildDetails{
		Version: version, Commit: commit, CommitDate: commitDate, Modified: modified == "true", BuildDate: buildDate,
		Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
	}
	if info == nil {
		return d
	}
	d.Module = info.Main.Path + " " + info.Main.Version
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			d.Commit = s.Value
		case "vcs.time":
			d.CommitDate = s.Value
		case "vcs.modified":
			d.Modified = s.Value == "true"
		}
	}
	if d.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		d.Version = info.Main.Version
	}
	return d
}

func writeVersion(w io.Writer, d buildDetails) {
	v := d.Version
	if v == "" && d.Commit != "" {
		v = d.Commit[:min(12, len(d.Commit))]
		if d.Modified {
			v += "-dirty"
		}
	}
	if v == "" {
		v = "(devel)"
	}
	fmt.Fprintln(w, "gatehouse", v)
	if d.Module != "" {
		fmt.Fprintln(w, "  module  ", d.Module)
	}
	c := "unknown (the build carries no vcs information: make build stamps it)"
	if d.Commit != "" {
		c = d.Commit
		if d.CommitDate != "" {
			c += ", committed " + d.CommitDate
		}
		if d.Modified {
			c += ", with uncommitted changes"
		}
	}
	fmt.Fprintln(w, "  commit  ", c)
	b := "date unknown (make build stamps it)"
	if d.BuildDate != "" {
		b = d.BuildDate
	}
	fmt.Fprintln(w, "  built   ", b, "with", d.Go)
}
