package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/engine"
	"github.com/spf13/cobra"
)

// memberBody is the body of PUT /v1/accounts/{id}/members/{user}.
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
			var out struct {
				Items []engine.Membership `json:"items"`
			}
			if err := newAPIClient(cfg).do(cmd.Context(), "GET", "/v1/accounts/"+url.PathEscape(args[0])+"/members", nil, &out); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), out.Items)
			}
			rows := make([][]string, len(out.Items))
			for i, m := range out.Items {
				rows[i] = []string{m.User, orDash(joinComma(m.Roles)), mapCell(m.VARoles), orDash(m.Contact), mapCell(m.Privileges), timeCell(m.ExpiresAt), m.AddedBy}
			}
			return printTable(cmd.OutOrStdout(), []string{"USER", "ROLES", "VA ROLES", "CONTACT", "PRIVILEGES", "EXPIRES", "ADDED BY"}, rows)
		},
	}

	var body memberBody
	var vaRoles, privileges []string
	set := &cobra.Command{
		Use:   "set ACCOUNT USER",
		Short: "Add a member, or change a member's access (R26, R30)",
		Example: `  gatehouse members set acme carol --role account_user --justification "new buyer"
  gatehouse members set northwind omar --contact secondary --privilege entitlements=view --justification "billing"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if body.VARoles, err = parsePairs("va-role", vaRoles); err != nil {
				return err
			}
			if body.Privileges, err = parsePairs("privilege", privileges); err != nil {
				return err
			}
			if body.Roles == nil {
				body.Roles = []string{}
			}
			var m engine.Membership
			path := "/v1/accounts/" + url.PathEscape(args[0]) + "/members/" + url.PathEscape(args[1])
			if err := newAPIClient(cfg).do(cmd.Context(), "PUT", path, body, &m); err != nil {
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
	f.StringSliceVar(&body.Roles, "role", nil, "account role (repeatable): account_admin, account_user, account_viewer, ...")
	f.StringArrayVar(&vaRoles, "va-role", nil, "virtual-account role as VA=ROLE (repeatable)")
	f.StringVar(&body.Contact, "contact", "", "contact type: primary, secondary or none (the same as not giving it)")
	f.StringArrayVar(&privileges, "privilege", nil, "application privilege as APP=LEVEL (repeatable)")
	f.StringVar(&body.Justification, "justification", "", "business justification (required for a direct add, R26)")
	f.StringVar(&body.ExpiresAt, "expires-at", "", "RFC 3339 time at which the membership ends")

	remove := &cobra.Command{
		Use:   "remove ACCOUNT USER",
		Short: "Remove a member (never the last primary contact or admin, R12)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/v1/accounts/" + url.PathEscape(args[0]) + "/members/" + url.PathEscape(args[1])
			if err := newAPIClient(cfg).do(cmd.Context(), "DELETE", path, nil, nil); err != nil {
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
