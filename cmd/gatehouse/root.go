package main

import (
	"fmt"
	"io"
	"os"
	"slices"
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
	root.AddCommand(
		newServeCommand(cfg),
		newDecideCommand(cfg),
		newPolicyCommand(cfg),
		newSeedCommand(cfg),
		newRequestsCommand(cfg),
		newMembersCommand(cfg),
		newAuditCommand(cfg),
		newEventsCommand(cfg),
		newTokenCommand(cfg),
		newVersionCommand(),
	)
	explainArgs(root)
	help := root.HelpFunc()
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		help(cmd, args)
		writeEnvHelp(cmd.OutOrStdout(), cmd)
	})
	return root
}

// explainArgs makes every command's argument errors name the arguments
// missing or extra and show the usage line, instead of cobra's "accepts 2
// arg(s), received 1". The names come from the command's Use, e.g.
// "set ACCOUNT USER" or "push [DIR]".
func explainArgs(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return argsError(c, args)
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		explainArgs(sub)
	}
}

// argsError says what is wrong with args given to cmd, and how to call it.
func argsError(cmd *cobra.Command, args []string) error {
	var required, optional []string
	for _, word := range strings.Fields(cmd.Use)[1:] {
		if strings.HasPrefix(word, "-") {
			break // flags and their values follow: --log FILE
		}
		if strings.HasPrefix(word, "[") {
			optional = append(optional, strings.Trim(word, "[].")) // [DIR], [ARG...]
		} else {
			required = append(required, word)
		}
	}
	usage := fmt.Sprintf("usage: %s (see %s --help)", cmd.UseLine(), cmd.CommandPath())
	switch {
	case len(args) < len(required):
		missing := required[len(args):]
		what := "argument"
		if len(missing) > 1 {
			what = "arguments"
		}
		return fmt.Errorf("missing %s %s\n%s", what, strings.Join(missing, " "), usage)
	case len(required)+len(optional) == 0:
		if cmd.HasSubCommands() {
			return fmt.Errorf("unknown command %q for %s\n%s", args[0], cmd.CommandPath(), usage)
		}
		return fmt.Errorf("%s takes no arguments, but got %q\n%s", cmd.CommandPath(), strings.Join(args, " "), usage)
	default:
		extra := args[min(len(args), len(required)+len(optional)):]
		return fmt.Errorf("unexpected argument %q\n%s", strings.Join(extra, " "), usage)
	}
}

// envAnnotation marks a configuration flag: one that reads its
// GATEHOUSE_<FLAG> variable when it is not given.
const envAnnotation = "gatehouse_env"

// configFlags binds groups of configuration flags (the bind methods of
// Config) to fs, and marks each as read from GATEHOUSE_<FLAG> (applyEnv) and
// listed under "Environment" in the command's help. A command takes only the
// groups it uses, so that no flag it offers does nothing.
func configFlags(fs *pflag.FlagSet, groups ...func(*pflag.FlagSet)) {
	for _, bind := range groups {
		group := pflag.NewFlagSet("", pflag.ContinueOnError)
		bind(group)
		group.VisitAll(func(f *pflag.Flag) {
			if f.Annotations == nil {
				f.Annotations = map[string][]string{}
			}
			f.Annotations[envAnnotation] = []string{envName(f.Name)}
		})
		fs.AddFlagSet(group)
	}
}

// isConfigFlag reports whether f reads GATEHOUSE_<FLAG>.
func isConfigFlag(f *pflag.Flag) bool {
	_, ok := f.Annotations[envAnnotation]
	return ok
}

// applyEnv sets every configuration flag not given on the command line from
// its environment variable GATEHOUSE_<FLAG>, upper case with '_' for '-'.
// Flags that shape one invocation (--subject, --json ...) read no variable.
func applyEnv(flags *pflag.FlagSet) error {
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || !isConfigFlag(f) {
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

// envFlags returns the configuration flags cmd offers, its own and those
// it inherits, by name.
func envFlags(cmd *cobra.Command) []*pflag.Flag {
	var flags []*pflag.Flag
	visit := func(f *pflag.Flag) {
		if isConfigFlag(f) {
			flags = append(flags, f)
		}
	}
	cmd.LocalFlags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	slices.SortFunc(flags, func(a, b *pflag.Flag) int { return strings.Compare(a.Name, b.Name) })
	return flags
}

// writeEnvHelp ends a command's help with the environment variables its
// flags read, generated from its flag set.
func writeEnvHelp(w io.Writer, cmd *cobra.Command) {
	flags := envFlags(cmd)
	if len(flags) == 0 {
		return
	}
	width := 0
	for _, f := range flags {
		width = max(width, len(envName(f.Name)))
	}
	fmt.Fprint(w, "\nEnvironment (each variable sets its flag when the flag is not given")
	if slices.ContainsFunc(flags, func(f *pflag.Flag) bool { _, ok := f.Value.(pflag.SliceValue); return ok }) {
		fmt.Fprint(w, "; lists are comma-separated")
	}
	fmt.Fprintln(w, "):")
	for _, f := range flags {
		fmt.Fprintf(w, "  %-*s  --%s\n", width, envName(f.Name), f.Name)
	}
}
