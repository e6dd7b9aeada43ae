package main

import (
	"fmt"
	"io"

	"github.com/gatehouse/gatehouse/engine"
	"github.com/spf13/cobra"
)

func newPolicyTestCommand(cfg *Config) *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Run the Rego tests of a policy directory, with coverage per file",
		Long: `Run every Rego test (rules named test_* in *_test.rego files) of the policy
directory, print each failing test with its file and line, a summary and the
coverage of each policy file. Exits non-zero when any test fails or errors,
or when the directory has no tests: reloads refuse such a set too.`,
		Example: "  gatehouse policy test policies",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, source, err := readPolicyDir(policyDirArg(cfg, args))
			if err != nil {
				return err
			}
			report, err := engine.RunPolicyTests(cmd.Context(), files)
			if err != nil {
				return err
			}
			printTestReport(cmd.OutOrStdout(), source, report, verbose)
			if len(report.Results) == 0 {
				return fmt.Errorf("%s has no Rego tests", source)
			}
			if n := len(report.Failures()); n > 0 {
				return fmt.Errorf("policy tests failed: %d of %d", n, len(report.Results))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every test, not only the failing ones")
	configFlags(cmd.Flags(), cfg.bindPolicyDirFlag)
	return cmd
}

// printTestReport prints the failing (or, verbose, every) test, a summary
// line and the coverage of each policy file.
func printTestReport(w io.Writer, source string, r engine.TestReport, verbose bool) {
	for _, t := range r.Results {
		if !verbose && t.Outcome != engine.TestFail && t.Outcome != engine.TestError {
			continue
		}
		fmt.Fprintf(w, "%s  %s.%s: %s\n", t.Where(), t.Package, t.Name, outcomeText(t))
	}
	failed := len(r.Failures())
	fmt.Fprintf(w, "%s: %d passed, %d failed", source, r.Count(engine.TestPass), failed)
	if n := r.Count(engine.TestSkip); n > 0 {
		fmt.Fprintf(w, ", %d skipped", n)
	}
	fmt.Fprintln(w)
	if len(r.Coverage) > 0 {
		fmt.Fprintln(w, "coverage:")
		for _, c := range r.Coverage {
			fmt.Fprintf(w, "  %6.1f%%  %s (%d of %d lines)\n", c.Percent, c.File, c.CoveredLines, c.CoveredLines+c.NotCoveredLines)
		}
	}
}

func outcomeText(t engine.TestResult) string {
	if t.Message == "" {
		return t.Outcome
	}
	return t.Outcome + ": " + t.Message
}
