package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/client"
)

// memberBody is the body of PUT /v1/accounts/{id}/members/{user}, a full
// replacement (members set --replace).
type memberBody struct {
	Roles         []string          `json:"roles"`
	VARoles       map[string]string `json:"va_roles,omitempty"`
	Contact       string            `json:"contact,omitempty"`
	Privileges    map[string]string `json:"privileges,omitempty"`
	Justification string            `json:"justification,omitempty"`
	ExpiresAt     string            `json:"expires_at,omitempty"`
}

func newMembersCommand(cfg *Config) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List, set and remove an account's members on a running gatehouse",
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	configFlags(cmd.PersistentFlags(), cfg.bindClientFlags)

	list := &cobra.Command{
		Use:   "list ACCOUNT",
		Short: "List the members of an account",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var items []client.Member
			err := newAPIClient(cfg).run(func(gh *client.Client) (err error) {
				items, err = gh.ListMembers(cmd.Context(), args[0])
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				if items == nil {
					items = []client.Member{}
				}
				return printJSON(cmd.OutOrStdout(), items)
			}
			rows := make([][]string, len(items))
			for i, m := range items {
				rows[i] = []string{m.User, orDash(joinComma(m.Roles)), mapCell(m.VARoles), orDash(m.Contact), mapCell(m.Privileges), timeCell(m.ExpiresAt), m.AddedBy}
			}
			return printTable(cmd.OutOrStdout(), []string{"USER", "ROLES", "VA ROLES", "CONTACT", "PRIVILEGES", "EXPIRES", "ADDED BY"}, rows)
		},
	}

	var body memberBody
	var vaRoles, privileges []string
	var replace bool
	set := &cobra.Command{
		Use:   "set ACCOUNT USER",
		Short: "Add a member, or change only the given parts of a member's access (R26, R30)",
		Long: `Add USER to ACCOUNT, or change their access.

By default only what the flags give changes (PATCH): a secondary contact
given a new --role keeps their contact type and privileges. Each flag given
replaces that part whole (--va-role and --privilege replace all the
virtual-account roles or privileges); --role "", --contact "" and
--expires-at "" clear theirs, and --va-role "" and --privilege "" clear
all of them. A user who is not yet a member is added with the flags given.

With --replace the membership becomes exactly what the flags say (PUT): a
part without its flag is cleared.`,
		Example: `  gatehouse members set acme carol --role account_user --justification "new buyer"
  gatehouse members set northwind omar --contact secondary --privilege entitlements=view --justification "billing"
  gatehouse members set northwind omar --role account_viewer          # omar stays a secondary contact
  gatehouse members set acme carol --replace --role account_viewer    # carol keeps nothing else`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if body.VARoles, err = parsePairs("va-role", nonEmpty(vaRoles)); err != nil {
				return err
			}
			if body.Privileges, err = parsePairs("privilege", nonEmpty(privileges)); err != nil {
				return err
			}
			expires, err := timeFlag("expires-at", body.ExpiresAt)
			if err != nil {
				return err
			}
			patch := memberPatch(cmd.Flags().Changed, body, expires)
			if !replace && patch.Empty() {
				return fmt.Errorf("nothing to change: give --role, --va-role, --contact, --privilege, --justification or --expires-at\nusage: %s", cmd.UseLine())
			}
			var m client.Member
			err = newAPIClient(cfg).run(func(gh *client.Client) (err error) {
				if replace {
					m, err = gh.SetMember(cmd.Context(), args[0], args[1], client.MemberInput{Roles: body.Roles, VARoles: body.VARoles,
						Contact: body.Contact, Privileges: body.Privileges, Justification: body.Justification, ExpiresAt: expires})
				} else {
					m, err = gh.UpdateMember(cmd.Context(), args[0], args[1], patch)
				}
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), m)
			}
			return printTable(cmd.OutOrStdout(), []string{"USER", "ACCOUNT", "ROLES", "VA ROLES", "CONTACT", "PRIVILEGES", "EXPIRES"},
				[][]string{{m.User, m.Account, orDash(joinComma(m.Roles)), mapCell(m.VARoles), orDash(m.Contact), mapCell(m.Privileges), timeCell(m.ExpiresAt)}})
		},
	}
	f := set.Flags()
	f.StringSliceVar(&body.Roles, "role", nil, `account role (repeatable): account_admin, account_user, account_viewer, ...; "" clears`)
	f.StringArrayVar(&vaRoles, "va-role", nil, `virtual-account role as VA=ROLE (repeatable); "" clears them all`)
	f.StringVar(&body.Contact, "contact", "", `contact type: primary, secondary or none; "" clears it`)
	f.StringArrayVar(&privileges, "privilege", nil, `application privilege as APP=LEVEL (repeatable); "" clears them all`)
	f.StringVar(&body.Justification, "justification", "", "business justification (required for a direct add, R26)")
	f.StringVar(&body.ExpiresAt, "expires-at", "", `RFC 3339 time at which the membership ends; "" clears it`)
	f.BoolVar(&replace, "replace", false, "replace the whole membership with what the flags say (PUT): parts without a flag are cleared")

	remove := &cobra.Command{
		Use:   "remove ACCOUNT USER",
		Short: "Remove a member (never the last primary contact or admin, R12)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := newAPIClient(cfg).run(func(gh *client.Client) error {
				return gh.RemoveMember(cmd.Context(), args[0], args[1])
			})
			if err != nil {
				return err
			}
			if !asJSON {
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s from %s\n", args[1], args[0])
			}
			return nil
		},
	}
	cmd.AddCommand(list, set, remove)
	return cmd
}

func joinComma(ss []string) string { return strings.Join(ss, ",") }

// memberPatch is the JSON merge patch (PATCH .../members/{user}) of the
// flags given: a flag not given is left out, so that its part is kept; an
// empty --contact or --expires-at (expires nil) clears it.
func memberPatch(given func(flag string) bool, b memberBody, expires *time.Time) client.MemberPatch {
	var patch client.MemberPatch
	if given("role") {
		roles := nonNilSlice(b.Roles)
		patch.Roles = &roles
	}
	if given("va-role") {
		patch.VARoles = &b.VARoles
	}
	if given("contact") {
		patch.Contact = &b.Contact
	}
	if given("privilege") {
		patch.Privileges = &b.Privileges
	}
	if given("justification") {
		patch.Justification = &b.Justification
	}
	if given("expires-at") {
		patch.ExpiresAt, patch.ClearExpiry = expires, expires == nil
	}
	return patch
}

// timeFlag reads the RFC 3339 time of a flag; "" is nil.
func timeFlag(flag, value string) (*time.Time, error) {
	if value == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return nil, fmt.Errorf("--%s %q: give an RFC 3339 time, e.g. 2026-12-31T00:00:00Z", flag, value)
	}
	return &t, nil
}

// nonEmpty drops empty values: --va-role "" asks to clear, not for a pair.
func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func nonNilSlice(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
