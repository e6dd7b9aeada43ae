package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/client"
)

func newPolicyPushCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "push [DIR]",
		Short: "Ship a policy directory to every replica: a running gatehouse tests it, stores it and activates it",
		Long: `Sends the .rego and .json files of DIR (else --policy-dir, else the built-in
policies) to PUT /v1/policies of the gatehouse at --server. It compiles them in
strict mode and runs their Rego tests; only if all pass does it store the
revision, with you (the token's subject) as author, and activate it on every
replica that follows the store. The token needs the policy_admin role or a
system administrator.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, source, err := readPolicyDir(policyDirArg(cfg, args))
			if err != nil {
				return err
			}
			sources := make(map[string]string, len(files))
			for name, content := range files {
				sources[name] = string(content)
			}
			var p client.PolicyRevision
			err = newAPIClient(cfg).run(func(gh *client.Client) (err error) {
				p, err = gh.PushPolicy(cmd.Context(), sources)
				return err
			})
			if err != nil {
				return fmt.Errorf("push %s: %w", source, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pushed policy revision %s (%d files from %s), author %s: active on every replica that follows the store\n",
				p.Revision, len(files), source, p.Author)
			return nil
		},
	}
	configFlags(cmd.Flags(), cfg.bindPolicyDirFlag, cfg.bindClientFlags)
	return cmd
}

func newPolicyListCommand(cfg *Config) *cobra.Command {
	var (
		asJSON bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the policy revisions pushed to a running gatehouse, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkLimit(limit); err != nil {
				return err
			}
			var items []client.PolicyRevision
			err := newAPIClient(cfg).run(func(gh *client.Client) (err error) {
				items, err = gh.ListPolicies(cmd.Context(), limit)
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				if items == nil {
					items = []client.PolicyRevision{}
				}
				return printJSON(cmd.OutOrStdout(), items)
			}
			rows := make([][]string, len(items))
			for i, p := range items {
				active := ""
				if p.Active {
					active = "*"
				}
				rows[i] = []string{p.Revision, orDash(p.Author), p.CreatedAt.UTC().Format(time.RFC3339), orDash(active), orDash(p.Source)}
			}
			return printTable(cmd.OutOrStdout(), []string{"REVISION", "AUTHOR", "CREATED", "ACTIVE", "SOURCE"}, rows)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.Flags().IntVar(&limit, "limit", 100, "how many revisions to list (1-1000)")
	configFlags(cmd.Flags(), cfg.bindClientFlags)
	return cmd
}

func newPolicyRollbackCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollback REVISION",
		Short: "Make a policy revision pushed earlier the active one again, on every replica",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p client.PolicyRevision
			err := newAPIClient(cfg).run(func(gh *client.Client) (err error) {
				p, err = gh.ActivatePolicy(cmd.Context(), args[0])
				return err
			})
			if err != nil {
				return err
			}
			// A baseline was not pushed: it is what the replicas served
			// until the first push, stored by that push's author.
			origin := fmt.Sprintf("pushed by %s at %s", orDash(p.Author), p.CreatedAt.UTC().Format(time.RFC3339))
			if strings.HasPrefix(p.Source, "baseline: ") {
				origin = fmt.Sprintf("%s, served until %s pushed the first revision", p.Source, orDash(p.Author))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "policy revision %s (%s) is active again on every replica that follows the store\n",
				p.Revision, origin)
			return nil
		},
	}
	configFlags(cmd.Flags(), cfg.bindClientFlags)
	return cmd
}
