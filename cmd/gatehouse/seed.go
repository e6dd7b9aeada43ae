package main

import (
	"fmt"

	"github.com/gatehouse/gatehouse/engine"
	"github.com/spf13/cobra"
)

// seedActor is the system administrator seeding acts as; it appears in the
// audit trail of everything a seed file creates.
const seedActor = "gatehouse-seed"

// seedFile is the fixture format: accounts, then users, then members, each
// created in file order.
type seedFile struct {
	Accounts []engine.Account    `json:"accounts"`
	Users    []engine.User       `json:"users"`
	Members  []engine.Membership `json:"members"`
}

func newSeedCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "seed FILE",
		Short: "Load users, accounts and members from a JSON fixture into the configured store",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var seed seedFile
			if err := readJSONFile(args[0], &seed); err != nil {
				return err
			}
			ctx := cmd.Context()
			eng, store, created, err := openEngine(ctx, cfg, engine.WithSystemAdmins(seedActor))
			if err != nil {
				return err
			}
			defer store.Close()
			for _, a := range seed.Accounts {
				if _, _, err := eng.PutAccount(ctx, seedActor, a); err != nil {
					return fmt.Errorf("account %s: %w", a.ID, err)
				}
			}
			for _, u := range seed.Users {
				if _, _, err := eng.PutUser(ctx, seedActor, u); err != nil {
					return fmt.Errorf("user %s: %w", u.ID, err)
				}
			}
			for _, m := range seed.Members {
				if _, err := eng.SetMember(ctx, seedActor, m); err != nil {
					return fmt.Errorf("member %s of %s: %w", m.User, m.Account, err)
				}
			}
			where := "the " + cfg.Store + " store"
			if created {
				where = "a new embedded store in " + cfg.DataDir
			}
			fmt.Fprintf(cmd.OutOrStdout(), "seeded %d accounts, %d users, %d members into %s\n",
				len(seed.Accounts), len(seed.Users), len(seed.Members), where)
			return nil
		},
	}
	configFlags(cmd.Flags(), cfg.bindStoreFlags, cfg.bindPolicyDirFlag)
	return cmd
}
