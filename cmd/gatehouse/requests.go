package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/engine"
	"github.com/spf13/cobra"
)

func newRequestsCommand(cfg *Config) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "List, show and decide access requests on a running gatehouse",
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	configFlags(cmd.PersistentFlags(), cfg.bindClientFlags)

	// show prints a list of requests as a table, or as a JSON array with --json.
	show := func(cmd *cobra.Command, reqs ...engine.AccessRequest) error {
		if asJSON {
			if reqs == nil {
				reqs = []engine.AccessRequest{}
			}
			return printJSON(cmd.OutOrStdout(), reqs)
		}
		rows := make([][]string, len(reqs))
		for i, r := range reqs {
			rows[i] = []string{r.ID, r.Kind, r.Account, orDash(r.Requester), r.Status, r.CreatedAt.UTC().Format(time.RFC3339),
				orDash(r.DecidedBy), timeCell(r.ExpiresAt), orDash(r.Name), orDash(joinComma(r.Users)), orDash(r.Message)}
		}
		return printTable(cmd.OutOrStdout(), []string{"ID", "KIND", "ACCOUNT", "REQUESTER", "STATUS", "CREATED", "DECIDED BY", "EXPIRES", "NAME", "USERS", "MESSAGE"}, rows)
	}
	// send posts body to path and shows the request that comes back.
	send := func(cmd *cobra.Command, method, path string, body any) error {
		var r engine.AccessRequest
		if err := newAPIClient(cfg).do(cmd.Context(), method, path, body, &r); err != nil {
			return err
		}
		if asJSON {
			return printJSON(cmd.OutOrStdout(), r)
		}
		return show(cmd, r)
	}

	var account, status string
	var mine bool
	list := &cobra.Command{
		Use:   "list (--account ID | --mine) [--status STATUS]",
		Short: "List an account's requests (deciders' view) or your own (--mine)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			path := "/v1/me/access-requests"
			switch {
			case mine && account != "":
				return fmt.Errorf("give --account or --mine, not both")
			case !mine && account == "":
				return fmt.Errorf("give --account ID or --mine")
			case !mine:
				path = "/v1/access-requests"
				q.Set("account", account)
			}
			if status != "" {
				q.Set("status", status)
			}
			var out struct {
				Items []engine.AccessRequest `json:"items"`
			}
			if err := newAPIClient(cfg).do(cmd.Context(), "GET", path+"?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			return show(cmd, out.Items...)
		},
	}
	list.Flags().StringVar(&account, "account", "", "the account whose incoming requests to list")
	list.Flags().BoolVar(&mine, "mine", false, "list the requests you made")
	list.Flags().StringVar(&status, "status", "", "pending, granted, denied, expired or revoked")

	get := &cobra.Command{
		Use:   "show ID",
		Short: "Show one request",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, "GET", "/v1/access-requests/"+url.PathEscape(args[0]), nil)
		},
	}

	var justification string
	create := &cobra.Command{
		Use:   "create ACCOUNT",
		Short: "Ask for access to an account (R20)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := map[string]string{}
			if justification != "" {
				body["justification"] = justification
			}
			return send(cmd, "POST", "/v1/accounts/"+url.PathEscape(args[0])+"/access-requests", body)
		},
	}
	create.Flags().StringVar(&justification, "justification", "", "why you need access")

	cmd.AddCommand(list, get, create, newTenantRequestCommand(cfg, show),
		newApproveCommand(send), newDenyCommand(send), newRevokeCommand(send), newExpiryCommand(send))
	return cmd
}

// requestSender sends a body to the API and shows the request it returns.
type requestSender func(cmd *cobra.Command, method, path string, body any) error

func newApproveCommand(send requestSender) *cobra.Command {
	var a struct {
		Scope           string            `json:"scope,omitempty"`
		Role            string            `json:"role,omitempty"`
		VirtualAccounts []string          `json:"virtual_accounts,omitempty"`
		Contact         string            `json:"contact,omitempty"`
		Privileges      map[string]string `json:"privileges,omitempty"`
		Justification   string            `json:"justification,omitempty"`
		ExpiresAt       string            `json:"expires_at,omitempty"`
		Message         string            `json:"message,omitempty"`
	}
	var privileges []string
	cmd := &cobra.Command{
		Use:   "approve ID",
		Short: "Approve (grant) a request (R21-R23, R38)",
		Example: `  gatehouse requests approve 01J... --scope account --role account_user
  gatehouse requests approve 01J... --scope virtual_accounts --va acme-emea --role va_viewer
  gatehouse requests approve 01J... --expires-at 2026-12-31T00:00:00Z --message "until year end"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if a.Privileges, err = parsePairs("privilege", privileges); err != nil {
				return err
			}
			return send(cmd, "POST", "/v1/access-requests/"+url.PathEscape(args[0])+"/approve", a)
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Scope, "scope", "", "account or virtual_accounts (account requests)")
	f.StringVar(&a.Role, "role", "", "the role granted: an account role for scope account, a virtual-account role otherwise")
	f.StringSliceVar(&a.VirtualAccounts, "va", nil, "virtual accounts, for scope virtual_accounts (repeatable)")
	f.StringVar(&a.Contact, "contact", "", "contact type for the requester: secondary, or none (the same as not giving it: an approval keeps the requester's current contact type)")
	f.StringArrayVar(&privileges, "privilege", nil, "application privilege as APP=LEVEL (repeatable)")
	f.StringVar(&a.Justification, "justification", "", "justification, when the request had none")
	f.StringVar(&a.ExpiresAt, "expires-at", "", "RFC 3339 time at which the access ends")
	f.StringVar(&a.Message, "message", "", "message to the requester")
	return cmd
}

func newDenyCommand(send requestSender) *cobra.Command {
	var d struct {
		ReasonCode string `json:"reason_code,omitempty"`
		Message    string `json:"message,omitempty"`
	}
	cmd := &cobra.Command{
		Use:   "deny ID",
		Short: "Deny a request (R24)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, "POST", "/v1/access-requests/"+url.PathEscape(args[0])+"/deny", d)
		},
	}
	cmd.Flags().StringVar(&d.ReasonCode, "reason-code", "", "unknown_requester, access_not_needed, no_business_relationship or other")
	cmd.Flags().StringVar(&d.Message, "message", "", "message to the requester")
	return cmd
}

func newRevokeCommand(send requestSender) *cobra.Command {
	var body struct {
		Message string `json:"message,omitempty"`
	}
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a granted request",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, "POST", "/v1/access-requests/"+url.PathEscape(args[0])+"/revoke", body)
		},
	}
	cmd.Flags().StringVar(&body.Message, "message", "", "message to the requester")
	return cmd
}

func newExpiryCommand(send requestSender) *cobra.Command {
	var at string
	var clear bool
	cmd := &cobra.Command{
		Use:   "expiry ID (--expires-at TIME | --clear)",
		Short: "Add, change or remove the expiry of a granted tenant request (R38)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (at == "") == !clear {
				return fmt.Errorf("give --expires-at TIME or --clear")
			}
			body := map[string]any{"expires_at": nil}
			if at != "" {
				body["expires_at"] = at
			}
			return send(cmd, "PATCH", "/v1/access-requests/"+url.PathEscape(args[0]), body)
		},
	}
	cmd.Flags().StringVar(&at, "expires-at", "", "RFC 3339 time at which the access ends")
	cmd.Flags().BoolVar(&clear, "clear", false, "remove the expiry")
	return cmd
}

func newTenantRequestCommand(cfg *Config, show func(*cobra.Command, ...engine.AccessRequest) error) *cobra.Command {
	var name, message string
	var assocs []string
	cmd := &cobra.Command{
		Use:   "tenant --name NAME --assoc USERS:TENANTS ...",
		Short: "Ask tenants for support access for your users (R35, R36)",
		Example: `  gatehouse requests tenant --name SupportAccess \
    --assoc caroline:tom-sawyer --assoc charlotte:tom-sawyer,hundred-acre`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type association struct {
				Users   []string `json:"users"`
				Tenants []string `json:"tenants"`
			}
			body := struct {
				Name         string        `json:"name"`
				Message      string        `json:"message,omitempty"`
				Associations []association `json:"associations"`
			}{Name: name, Message: message}
			for _, a := range assocs {
				users, tenants, ok := strings.Cut(a, ":")
				if !ok || users == "" || tenants == "" {
					return fmt.Errorf("--assoc %q: want USER[,USER...]:TENANT[,TENANT...]", a)
				}
				body.Associations = append(body.Associations, association{Users: strings.Split(users, ","), Tenants: strings.Split(tenants, ",")})
			}
			var out struct {
				Requests []engine.AccessRequest `json:"requests"`
			}
			if err := newAPIClient(cfg).do(cmd.Context(), "POST", "/v1/tenant-access-requests", body, &out); err != nil {
				return err
			}
			return show(cmd, out.Requests...)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "request name: letters and digits only")
	cmd.Flags().StringVar(&message, "message", "", "message to the tenants' admins")
	cmd.Flags().StringArrayVar(&assocs, "assoc", nil, "an association USERS:TENANTS, comma-separated (repeatable)")
	return cmd
}
