package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/spf13/cobra"
)

func newPolicyFmtCommand(cfg *Config) *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use:   "fmt [--check] [DIR]",
		Short: "Format the Rego of a policy directory as opa fmt does",
		Long: `Rewrite every .rego file of the policy directory that is not formatted the
way opa fmt formats Rego v1. With --check, rewrite nothing: list the files
that need formatting and exit non-zero if there are any. The built-in
policies can only be checked.`,
		Example: "  gatehouse policy fmt --check policies\n  gatehouse policy fmt ./my-policies",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := policyDirArg(cfg, args)
			if dir == "" && !check {
				return errors.New("the built-in policies can only be checked: give a DIR, or --check")
			}
			files, source, err := readPolicyDir(dir)
			if err != nil {
				return err
			}
			changed, err := formatRego(files)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, name := range sortedNames(changed) {
				if check {
					fmt.Fprintln(out, path.Join(source, name))
					continue
				}
				if err := rewrite(filepath.Join(dir, filepath.FromSlash(name)), changed[name]); err != nil {
					return err
				}
				fmt.Fprintln(out, "formatted", path.Join(source, name))
			}
			if check && len(changed) > 0 {
				return fmt.Errorf("%d Rego files of %s need formatting: run gatehouse policy fmt", len(changed), source)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "list unformatted files and exit non-zero instead of rewriting them")
	configFlags(cmd.Flags(), cfg.bindPolicyDirFlag)
	return cmd
}

// formatRego returns the formatted text of every .rego file whose text
// changes when formatted. A file that does not parse is an error.
func formatRego(files map[string][]byte) (map[string][]byte, error) {
	changed := map[string][]byte{}
	var errs []error
	for _, name := range sortedNames(files) {
		if path.Ext(name) != ".rego" {
			continue
		}
		formatted, err := format.SourceWithOpts(name, files[name], format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !bytes.Equal(formatted, files[name]) {
			changed[name] = formatted
		}
	}
	return changed, errors.Join(errs...)
}

// rewrite replaces a file's content, keeping its mode.
func rewrite(name string, content []byte) error {
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	return os.WriteFile(name, content, info.Mode().Perm())
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
