package policies

import (
	"embed"
	"io/fs"
)

//go:embed *.rego data.json
var files embed.FS

// FS returns the built-in policies: every .rego file (tests included) and
// data.json, at the root of the file system.
func FS() fs.FS {
	return files
}
