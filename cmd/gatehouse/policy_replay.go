package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gatehouse/gatehouse/adapters/decisionlog"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/spf13/cobra"
)

func newPolicyReplayCommand(cfg *Config) *cobra.Command {
	var logFile string
	cmd := &cobra.Command{
		Use:   "replay --log FILE --policy-dir NEW",
		Short: "Re-decide logged decisions with a candidate policy and list those that would flip",
		Long: `Read a decision log (the JSON lines of --decision-log), re-decide every
logged decision with the candidate policy of --policy-dir against the
configured store as it is now (which must exist: it is never created), and print
each decision whose allow would flip, with the logged reasons and the
candidate's, then a summary.

The store is read as it is now: memberships granted or removed and expiries
passed since a decision was logged flip it too. Entries whose subject,
action, resource or context were masked cannot be replayed; they are counted
as skipped.

Without --policy-dir the candidate is the policy revision active in the store
(the one pushed last with gatehouse policy push), or the built-in policies
when none was pushed; the summary names the revision and where it came from.
The exit status is 0 whether or not decisions flip (non-zero only
when the replay itself fails): read the summary, or grep for "flip".`,
		Example: "  gatehouse policy replay --log decisions.log --policy-dir ./candidate --store redis",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if logFile == "" {
				return errors.New("--log is required: the decision log to replay")
			}
			entries, err := readLog(logFile)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			eng, store, err := openReadingEngine(ctx, cfg, "replay against the store of the gatehouse that logged the decisions (--store redis --redis-url for Redis)")
			if err != nil {
				return err
			}
			defer store.Close()
			candidate := eng.Policy()
			var logged []engine.LoggedDecision
			for _, e := range entries {
				if e.Replayable() {
					logged = append(logged, e.Logged())
				}
			}
			flips, err := eng.Replay(ctx, logged, candidate)
			if err != nil {
				return err
			}
			printFlips(cmd.OutOrStdout(), flips)
			printReplaySummary(cmd.OutOrStdout(), candidate, len(entries), len(logged), flips)
			return nil
		},
	}
	cmd.Flags().StringVar(&logFile, "log", "", "the decision log to replay (JSON lines)")
	configFlags(cmd.Flags(), cfg.bindStoreFlags, cfg.bindPolicyDirFlag, cfg.bindDecisionFlags)
	return cmd
}

func readLog(name string) ([]decisionlog.Entry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := decisionlog.ReadEntries(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return entries, nil
}

func printFlips(w io.Writer, flips []engine.Flip) {
	for _, f := range flips {
		r := f.Request
		resource := r.Resource.Account
		if r.Resource.VirtualAccount != "" {
			resource += "/" + r.Resource.VirtualAccount
		}
		fmt.Fprintf(w, "flip %s: %s %s on %s: %s -> %s\n", f.DecisionID, r.Subject, r.Action, resource, verdictWord(f.Before), verdictWord(f.After))
		fmt.Fprintf(w, "  before: %s\n", strings.Join(f.Before.Reasons, "; "))
		fmt.Fprintf(w, "  after:  %s\n", strings.Join(f.After.Reasons, "; "))
	}
}

func printReplaySummary(w io.Writer, candidate *engine.Policy, total, replayed int, flips []engine.Flip) {
	var denied int
	for _, f := range flips {
		if f.Before.Allow {
			denied++
		}
	}
	fmt.Fprintf(w, "replayed %d of %d logged decisions with %s (revision %s): %d would flip (%d allow -> deny, %d deny -> allow)",
		replayed, total, candidate.Source, candidate.Revision, len(flips), denied, len(flips)-denied)
	if skipped := total - replayed; skipped > 0 {
		fmt.Fprintf(w, "; %d skipped (masked or malformed)", skipped)
	}
	fmt.Fprintln(w)
}

func verdictWord(v engine.Verdict) string {
	if v.Allow {
		return "allow"
	}
	return "deny"
}
