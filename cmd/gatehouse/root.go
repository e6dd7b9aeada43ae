package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newRootCommand() *cobra.Command {
	cfg := DefaultConfig()
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "An authorization sidecar: Rego policies, access requests, decisions over HTTP",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd.Flags())
		},
	}
	cfg.bindStoreFlags(root.PersistentFlags())
	root.AddCommand(
		newServeCommand(cfg),
		newDecideCommand(cfg),
		newPolicyCommand(cfg),
		newSeedCommand(cfg),
		newRequestsCommand(cfg),
		newMembersCommand(cfg),
		newTokenCommand(cfg),
		newVersionCommand(),
	)
	return root
}

// applyEnv sets every flag not given on the command line from its
// environment variable GATEHOUSE_<FLAG>, upper case with '_' for '-'.
func applyEnv(flags *pflag.FlagSet) error {
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := envName(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if sv, isSlice := f.Value.(pflag.SliceValue); isSlice {
			err = sv.Replace(strings.Split(v, ","))
		} else {
			err = f.Value.Set(v)
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", name, err)
		}
	})
	return err
}

func envName(flag string) string {
	return "GATEHOUSE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}
