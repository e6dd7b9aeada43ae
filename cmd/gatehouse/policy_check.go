package main

import (
	"fmt"

	"github.com/gatehouse/gatehouse/engine"
	"github.com/spf13/cobra"
)

func newPolicyCheckCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "check [DIR]",
		Short: "Parse and compile a policy directory in strict mode, as a reload does",
		Long: `Parse and strictly compile every .rego file and merge the data files of the
policy directory, exactly as gatehouse does before it serves them. Errors name
their file and line; the exit status is non-zero on any error.`,
		Example: "  gatehouse policy check policies",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, source, err := readPolicyDir(policyDirArg(cfg, args))
			if err != nil {
				return err
			}
			p, err := engine.CompilePolicy(cmd.Context(), files, source)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d files compile in strict mode (revision %s)\n", source, len(files), p.Revision)
			return nil
		},
	}
	configFlags(cmd.Flags(), cfg.bindPolicyDirFlag)
	return cmd
}
