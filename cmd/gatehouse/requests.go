package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/engine"
)

func newRequestsCommand(cfg *Config) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "List, show and decide access requests on a running gatehouse",
		Long: `List, show and decide access requests on a running gatehouse.

Tables show, newest first, the fields that matter for each kind of request
and viewer, in at most 100 columns (long text is cut with "…"):
  account requests, --account:  ID REQUESTER STATUS REASON AGE DECIDER EXPIRES
  account requests, --mine:     ID ACCOUNT STATUS REASON AGE DECIDER EXPIRES
  tenant requests, --account:   ID RESELLER STATUS AGE EXPIRES MESSAGE (the reseller's; R37)
  tenant requests, --mine:      NAME TENANT USERS STATUS EXPIRES MESSAGE (the tenant's; R39a)
REASON is the reason code of a denial, AGE the time since the request was
made, EXPIRES the day (UTC) access ends. "requests show" and the commands that change one request print every
field as "key: value" lines; --json prints what the API returns, complete.`,
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the API's JSON, every field, instead of a table")
	configFlags(cmd.PersistentFlags(), cfg.bindClientFlags)

	// show prints requests as a table for the viewer, or as a JSON array
	// with --json.
	show := func(cmd *cobra.Command, view requestView, got []client.AccessRequest) error {
		if asJSON {
			if got == nil {
				got = []client.AccessRequest{}
			}
			return printJSON(cmd.OutOrStdout(), got)
		}
		raw, err := json.Marshal(got)
		if err != nil {
			return err
		}
		var reqs []engine.AccessRequest
		if err := json.Unmarshal(raw, &reqs); err != nil {
			return fmt.Errorf("the server answered a request this client cannot read: %w", err)
		}
		return printRequests(cmd.OutOrStdout(), time.Now(), view, reqs)
	}
	// send makes the call and prints the request that comes back, field
	// by field, or as JSON with --json.
	send := func(cmd *cobra.Command, call requestCall) error {
		var r client.AccessRequest
		err := newAPIClient(cfg).run(func(gh *client.Client) (err error) {
			r, err = call(cmd.Context(), gh)
			return err
		})
		if err != nil {
			return err
		}
		if asJSON {
			return printJSON(cmd.OutOrStdout(), r)
		}
		raw, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return printFields(cmd.OutOrStdout(), raw, requestFields)
	}

	var account, status string
	var mine bool
	list := &cobra.Command{
		Use:   "list (--account ID | --mine) [--status STATUS]",
		Short: "List an account's requests (deciders' view) or your own (--mine), newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			view := requesterView
			switch {
			case mine && account != "":
				return fmt.Errorf("give --account or --mine, not both")
			case !mine && account == "":
				return fmt.Errorf("give --account ID or --mine")
			case !mine:
				view = deciderView
			}
			filter := client.RequestFilter{Status: status}
			var items []client.AccessRequest
			err := newAPIClient(cfg).run(func(gh *client.Client) (err error) {
				if mine {
					items, err = gh.ListMyRequests(cmd.Context(), filter)
				} else {
					items, err = gh.ListRequests(cmd.Context(), account, filter)
				}
				return err
			})
			if err != nil {
				return err
			}
			return show(cmd, view, items)
		},
	}
	list.Flags().StringVar(&account, "account", "", "the account whose incoming requests to list")
	list.Flags().BoolVar(&mine, "mine", false, "list the requests you made")
	list.Flags().StringVar(&status, "status", "", "pending, granted, denied, expired or revoked")

	get := &cobra.Command{
		Use:   "show ID",
		Short: `Show every field of one request, as "key: value" lines`,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, func(ctx context.Context, gh *client.Client) (client.AccessRequest, error) {
				return gh.GetRequest(ctx, args[0])
			})
		},
	}

	var justification string
	create := &cobra.Command{
		Use:   "create ACCOUNT",
		Short: "Ask for access to an account (R20)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, func(ctx context.Context, gh *client.Client) (client.AccessRequest, error) {
				return gh.RequestAccess(ctx, args[0], justification)
			})
		},
	}
	create.Flags().StringVar(&justification, "justification", "", "why you need access")

	cmd.AddCommand(list, get, create, newTenantRequestCommand(cfg, show),
		newApproveCommand(send), newDenyCommand(send), newRevokeCommand(send), newExpiryCommand(send))
	return cmd
}

// requestCall is a call of the API that answers one request.
type requestCall func(ctx context.Context, gh *client.Client) (client.AccessRequest, error)

// requestSender makes a call and shows the request it returns.
type requestSender func(cmd *cobra.Command, call requestCall) error

func newApproveCommand(send requestSender) *cobra.Command {
	var a client.Approval
	var privileges []string
	var expiresAt string
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
			if a.ExpiresAt, err = timeFlag("expires-at", expiresAt); err != nil {
				return err
			}
			return send(cmd, func(ctx context.Context, gh *client.Client) (client.AccessRequest, error) {
				return gh.Approve(ctx, args[0], a)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&a.Scope, "scope", "", "account or virtual_accounts (account requests)")
	f.StringVar(&a.Role, "role", "", "the role granted: an account role for scope account, a virtual-account role otherwise")
	f.StringSliceVar(&a.VirtualAccounts, "va", nil, "virtual accounts, for scope virtual_accounts (repeatable)")
	f.StringVar(&a.Contact, "contact", "", "contact type for the requester: secondary, or none (the same as not giving it: an approval keeps the requester's current contact type)")
	f.StringArrayVar(&privileges, "privilege", nil, "application privilege as APP=LEVEL (repeatable)")
	f.StringVar(&a.Justification, "justification", "", "justification, when the request had none")
	f.StringVar(&expiresAt, "expires-at", "", "RFC 3339 time at which the access ends")
	f.StringVar(&a.Message, "message", "", "message to the requester")
	return cmd
}

func newDenyCommand(send requestSender) *cobra.Command {
	var d client.Denial
	cmd := &cobra.Command{
		Use:   "deny ID",
		Short: "Deny a request (R24)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, func(ctx context.Context, gh *client.Client) (client.AccessRequest, error) {
				return gh.Deny(ctx, args[0], d)
			})
		},
	}
	cmd.Flags().StringVar(&d.ReasonCode, "reason-code", "", "unknown_requester, access_not_needed, no_business_relationship or other")
	cmd.Flags().StringVar(&d.Message, "message", "", "message to the requester")
	return cmd
}

func newRevokeCommand(send requestSender) *cobra.Command {
	var message string
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a granted request",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, func(ctx context.Context, gh *client.Client) (client.AccessRequest, error) {
				return gh.Revoke(ctx, args[0], message)
			})
		},
	}
	cmd.Flags().StringVar(&message, "message", "", "message to the requester")
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
			expires, err := timeFlag("expires-at", at)
			if err != nil {
				return err
			}
			return send(cmd, func(ctx context.Context, gh *client.Client) (client.AccessRequest, error) {
				return gh.SetExpiry(ctx, args[0], expires)
			})
		},
	}
	cmd.Flags().StringVar(&at, "expires-at", "", "RFC 3339 time at which the access ends")
	cmd.Flags().BoolVar(&clear, "clear", false, "remove the expiry")
	return cmd
}

func newTenantRequestCommand(cfg *Config, show func(*cobra.Command, requestView, []client.AccessRequest) error) *cobra.Command {
	var name, message string
	var assocs []string
	cmd := &cobra.Command{
		Use:   "tenant --name NAME --assoc USERS:TENANTS ...",
		Short: "Ask tenants for support access for your users (R35, R36)",
		Example: `  gatehouse requests tenant --name SupportAccess \
    --assoc caroline:tom-sawyer --assoc charlotte:tom-sawyer,hundred-acre`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := client.TenantRequest{Name: name, Message: message}
			for _, a := range assocs {
				users, tenants, ok := strings.Cut(a, ":")
				if !ok || users == "" || tenants == "" {
					return fmt.Errorf("--assoc %q: want USER[,USER...]:TENANT[,TENANT...]", a)
				}
				body.Associations = append(body.Associations, client.Association{Users: strings.Split(users, ","), Tenants: strings.Split(tenants, ",")})
			}
			var got []client.AccessRequest
			err := newAPIClient(cfg).run(func(gh *client.Client) (err error) {
				got, err = gh.RequestTenantAccess(cmd.Context(), body)
				return err
			})
			if err != nil {
				return err
			}
			return show(cmd, requesterView, got)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "request name: letters and digits only")
	cmd.Flags().StringVar(&message, "message", "", "message to the tenants' admins")
	cmd.Flags().StringArrayVar(&assocs, "assoc", nil, "an association USERS:TENANTS, comma-separated (repeatable)")
	return cmd
}

// requestFields is the order in which "requests show" prints the fields of
// a request (the API's names); a field not named here follows them.
var requestFields = []string{
	"id", "kind", "status", "account", "partner", "requester", "name", "users", "justification",
	"request_message", "created_at", "decided_by", "decided_at", "reason_code", "message", "expires_at",
}

// requestView is who looks at a list of requests: it decides the columns
// of a tenant request (R37, R39a).
type requestView int

const (
	// deciderView is "requests list --account": the account's side, a
	// tenant's admins for a tenant request, who see the reseller and its
	// message but not the request's name nor its users (R37).
	deciderView requestView = iota
	// requesterView is "requests list --mine" and "requests tenant": the
	// requester, who sees everything, and the tenant admin's message (R39a).
	requesterView
)

// printRequests writes requests as tables, newest first (then by account
// and id): one table for account requests, one for tenant requests with
// the columns of view, each titled when both are there. now is the clock
// of the AGE column.
func printRequests(w io.Writer, now time.Time, view requestView, reqs []engine.AccessRequest) error {
	if len(reqs) == 0 {
		_, err := fmt.Fprintln(w, "no requests")
		return err
	}
	reqs = slices.Clone(reqs)
	slices.SortStableFunc(reqs, func(a, b engine.AccessRequest) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		if c := strings.Compare(a.Account, b.Account); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	var accounts, tenants [][]string
	for _, r := range reqs {
		switch {
		case r.Kind == engine.KindTenant && view == requesterView:
			tenants = append(tenants, []string{orDash(r.Name), r.Account, orDash(joinComma(r.Users)),
				r.Status, dateCell(r.ExpiresAt), orDash(r.Message)})
		case r.Kind == engine.KindTenant:
			tenants = append(tenants, []string{r.ID, orDash(r.Partner), r.Status, ageCell(now, r.CreatedAt),
				dateCell(r.ExpiresAt), orDash(r.RequestMessage)})
		case view == requesterView:
			accounts = append(accounts, []string{r.ID, r.Account, r.Status, orDash(r.ReasonCode),
				ageCell(now, r.CreatedAt), orDash(r.DecidedBy), dateCell(r.ExpiresAt)})
		default:
			accounts = append(accounts, []string{r.ID, orDash(r.Requester), r.Status, orDash(r.ReasonCode),
				ageCell(now, r.CreatedAt), orDash(r.DecidedBy), dateCell(r.ExpiresAt)})
		}
	}
	accountCols, tenantCols := accountDeciderColumns, tenantDeciderColumns
	if view == requesterView {
		accountCols, tenantCols = accountRequesterColumns, tenantRequesterColumns
	}
	both := len(accounts) > 0 && len(tenants) > 0
	var err error
	if len(accounts) > 0 {
		if both {
			fmt.Fprintln(w, "Account requests")
		}
		err = writeTable(w, accountCols, accounts)
	}
	if len(tenants) > 0 && err == nil {
		if both {
			fmt.Fprintln(w, "\nTenant requests")
		}
		err = writeTable(w, tenantCols, tenants)
	}
	return err
}

// The columns of each kind of request row and viewer. A column that would
// hold one value on every row is left out: the account of "list --account",
// the requester of "list --mine". Free text gives way first when a row
// would pass 100 columns, then names; the id (what approve, deny and show
// take), the status and the dates last.
var (
	accountDeciderColumns = []column{
		{"ID", fixedColumn}, {"REQUESTER", nameColumn}, {"STATUS", fixedColumn}, {"REASON", nameColumn},
		{"AGE", fixedColumn}, {"DECIDER", nameColumn}, {"EXPIRES", fixedColumn},
	}
	accountRequesterColumns = []column{
		{"ID", fixedColumn}, {"ACCOUNT", nameColumn}, {"STATUS", fixedColumn}, {"REASON", nameColumn},
		{"AGE", fixedColumn}, {"DECIDER", nameColumn}, {"EXPIRES", fixedColumn},
	}
	// R39a: the requester's tenants, each with its status, expiry and the
	// tenant admin's message; the id is in --json and "requests show".
	tenantRequesterColumns = []column{
		{"NAME", nameColumn}, {"TENANT", nameColumn}, {"USERS", nameColumn},
		{"STATUS", fixedColumn}, {"EXPIRES", fixedColumn}, {"MESSAGE", textColumn},
	}
	// R37: the reseller, its message and the dates; not the name nor the users.
	tenantDeciderColumns = []column{
		{"ID", fixedColumn}, {"RESELLER", nameColumn}, {"STATUS", fixedColumn}, {"AGE", fixedColumn},
		{"EXPIRES", fixedColumn}, {"MESSAGE", textColumn},
	}
)
