package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/engine"
)

// checkLimit refuses a page size the API does not serve, naming the flag.
func checkLimit(limit int) error {
	if limit < 1 || limit > engine.MaxListLimit {
		return fmt.Errorf("--limit %d: give a page size from 1 to %d", limit, engine.MaxListLimit)
	}
	return nil
}

func newAuditCommand(cfg *Config) *cobra.Command {
	var account, after string
	var limit int
	var oldestFirst, asJSON bool
	cmd := &cobra.Command{
		Use:   "audit --account ID [--limit N] [--after CURSOR] [--oldest-first] [--json]",
		Short: "List an account's audit trail, newest first, a page at a time (R41)",
		Long: `List an account's audit trail from a running gatehouse (GET /v1/audit):
who changed what, when, and why, newest first (--oldest-first to reverse).

A full page ends with the command for the next one, on standard error:
  next page: gatehouse audit --account acme --after CURSOR
The table shows AT (UTC), ACTOR, ACTION, TARGET and REASON in at most 100
columns; --json prints the API's page, every field of every record (before,
after, policy revision) and "next".`,
		Example: `  gatehouse audit --account acme --limit 5
  gatehouse audit --account acme --limit 5 --after 1767225600000-0
  gatehouse audit --account acme --oldest-first --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if account == "" {
				return fmt.Errorf("give --account ID: the account whose audit trail to list\nusage: %s", cmd.UseLine())
			}
			if err := checkLimit(limit); err != nil {
				return err
			}
			order := client.Descending
			if oldestFirst {
				order = client.Ascending
			}
			var page client.AuditPage
			err := newAPIClient(cfg).run(func(gh *client.Client) (err error) {
				page, err = gh.ListAudit(cmd.Context(), account, client.Page{Limit: limit, After: after, Order: order})
				return err
			})
			if err != nil {
				return err
			}
			if page.Items == nil {
				page.Items = []client.AuditRecord{}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), page)
			}
			if err := printAudit(cmd.OutOrStdout(), page.Items); err != nil {
				return err
			}
			if page.Next != "" {
				next := "gatehouse audit --account " + account + " --limit " + strconv.Itoa(limit) + " --after " + page.Next
				if oldestFirst {
					next += " --oldest-first"
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "next page: "+next)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&account, "account", "", "the account whose audit trail to list (required)")
	f.IntVar(&limit, "limit", 20, fmt.Sprintf("records per page, 1 to %d", engine.MaxListLimit))
	f.StringVar(&after, "after", "", `the cursor a previous page ended with ("next page: ..."): list what follows it`)
	f.BoolVar(&oldestFirst, "oldest-first", false, "list oldest first (the default is newest first)")
	f.BoolVar(&asJSON, "json", false, `print the API's page as JSON: every field, and "next"`)
	configFlags(f, cfg.bindClientFlags)
	return cmd
}

// auditColumns are the columns of an audit trail: the reason (free text)
// gives way first, the target (a request id "requests show" takes) last.
var auditColumns = []column{
	{"AT", fixedColumn}, {"ACTOR", nameColumn}, {"ACTION", nameColumn}, {"TARGET", fixedColumn}, {"REASON", textColumn},
}

// printAudit writes audit records as a table, in the order the API gave.
func printAudit(w io.Writer, records []client.AuditRecord) error {
	if len(records) == 0 {
		_, err := fmt.Fprintln(w, "no audit records")
		return err
	}
	rows := make([][]string, len(records))
	for i, r := range records {
		rows[i] = []string{secondCell(r.At), r.Actor, r.Action, orDash(r.Target), orDash(r.Reason)}
	}
	return writeTable(w, auditColumns, rows)
}

// secondCell shows an instant to the second, in UTC.
func secondCell(t time.Time) string {
	return t.UTC().Format(time.DateTime)
}
