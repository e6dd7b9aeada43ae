package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/engine"
)

// The bounds of events --interval: often enough to feel live, seldom
// enough not to load the server.
const (
	minPollInterval = 100 * time.Millisecond
	maxPollInterval = time.Minute
)

// eventColumns are the columns of the events table, of fixed widths so
// that the lines --follow prints over time stay aligned (100 columns).
var eventColumns = []column{{"AT", fixedColumn}, {"TYPE", nameColumn}, {"ACCOUNT", nameColumn}, {"DETAILS", textColumn}}

var eventWidths = []int{19, 22, 16, tableWidth - 19 - 22 - 16 - 3*columnGap}

func newEventsCommand(cfg *Config) *cobra.Command {
	var after string
	var limit int
	var follow, asJSON bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "events [--follow] [--after CURSOR] [--limit N] [--json]",
		Short: "List your events, oldest first; --follow waits for new ones (R42)",
		Long: `List the events addressed to you (every event, for a system administrator)
from a running gatehouse (GET /v1/events), oldest first: requests created,
granted, denied, access expired, members added...

Without --follow, one page is printed; a full page ends with the command for
the next one, on standard error. With --follow, gatehouse asks for what
follows the last event every --interval (at once while pages come back
full) and prints each new event as it comes, until interrupted (Ctrl-C,
SIGINT or SIGTERM: exit status 0).

The table shows AT (UTC), TYPE, ACCOUNT and DETAILS (the request, member
or user it is about, and the message) in 100 columns. --json
prints the API's page (every field, and "next"); with --follow, one JSON
event per line.`,
		Example: `  gatehouse events
  gatehouse events --follow --interval 5s
  gatehouse events --after 1767225600000-0 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkLimit(limit); err != nil {
				return err
			}
			if interval < minPollInterval || interval > maxPollInterval {
				return fmt.Errorf("--interval %s: give a poll interval from %s to %s", interval, minPollInterval, maxPollInterval)
			}
			api := newAPIClient(cfg)
			get := func(ctx context.Context, after string) (client.EventPage, error) {
				var page client.EventPage
				err := api.run(func(gh *client.Client) (err error) {
					page, err = gh.ListEvents(ctx, client.Page{Limit: limit, After: after})
					return err
				})
				return page, err
			}
			out := cmd.OutOrStdout()
			if !follow {
				page, err := get(cmd.Context(), after)
				if err != nil {
					return err
				}
				if page.Items == nil {
					page.Items = []client.Event{}
				}
				if asJSON {
					return printJSON(out, page)
				}
				if len(page.Items) == 0 {
					_, err := fmt.Fprintln(out, "no events")
					return err
				}
				if err := printEvents(out, page.Items, true); err != nil {
					return err
				}
				if page.Next != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "next page: gatehouse events --limit %d --after %s\n", limit, page.Next)
				}
				return nil
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return followEvents(ctx, out, get, after, interval, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&after, "after", "", "start after this event cursor (an event's \"cursor\", or a page's \"next\")")
	f.IntVar(&limit, "limit", engine.DefaultListLimit, fmt.Sprintf("events per request, 1 to %d", engine.MaxListLimit))
	f.BoolVar(&follow, "follow", false, "keep polling for new events until interrupted")
	f.DurationVar(&interval, "interval", 2*time.Second, fmt.Sprintf("with --follow, the time between polls, %s to %s", minPollInterval, maxPollInterval))
	f.BoolVar(&asJSON, "json", false, "print JSON: the API's page, or with --follow one event per line")
	configFlags(f, cfg.bindClientFlags)
	return cmd
}

// followEvents polls for the events after the cursor until ctx ends, which
// is a clean exit (nil). A full page is followed at once, otherwise after
// interval. Each event prints as it comes: a table line, or a JSON line.
func followEvents(ctx context.Context, out io.Writer, get func(context.Context, string) (client.EventPage, error), after string, interval time.Duration, asJSON bool) error {
	header := !asJSON
	for {
		page, err := get(ctx, after)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if asJSON {
			var lines bytes.Buffer
			enc := json.NewEncoder(&lines) // one compact line per event, as the server wrote it
			enc.SetEscapeHTML(false)
			for _, e := range page.Items {
				if err := enc.Encode(e); err != nil {
					return fmt.Errorf("the server answered an event this client cannot write: %w", err)
				}
			}
			if _, err := out.Write(lines.Bytes()); err != nil {
				return err
			}
		} else if len(page.Items) > 0 {
			if err := printEvents(out, page.Items, header); err != nil {
				return err
			}
			header = false
		}
		if len(page.Items) > 0 {
			last := page.Items[len(page.Items)-1]
			if last.Cursor == "" {
				return errors.New("the server answered an event without a cursor: cannot follow on from it")
			}
			after = last.Cursor
		}
		if page.Next != "" {
			continue // a full page: more is waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// printEvents writes events in the fixed columns of the events table,
// under the header when header is set.
func printEvents(w io.Writer, events []client.Event, header bool) error {
	var buf bytes.Buffer
	if header {
		names := make([]string, len(eventColumns))
		for i, c := range eventColumns {
			names[i] = c.header
		}
		buf.WriteString(formatRow(names, eventWidths))
	}
	for _, e := range events {
		buf.WriteString(formatRow([]string{secondCell(e.At), e.Type, orDash(e.Account), eventDetails(e.Data)}, eventWidths))
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// eventDetails sums up an event's data for a table line: what it is about
// (the request, member or user, by id) and the decider's message; data of
// another shape prints as compact JSON. --json has all of it.
func eventDetails(data json.RawMessage) string {
	var fields map[string]json.RawMessage
	if len(data) == 0 || json.Unmarshal(data, &fields) != nil {
		return "-"
	}
	var parts []string
	about := []struct{ key, id, label string }{
		{"request", "id", "request"}, {"membership", "user", "member"}, {"user", "id", "user"},
	}
	for _, a := range about {
		var obj map[string]any
		if json.Unmarshal(fields[a.key], &obj) != nil {
			continue
		}
		if id, ok := obj[a.id].(string); ok {
			parts = append(parts, a.label+" "+id)
		}
	}
	var message string
	if json.Unmarshal(fields["message"], &message) == nil && message != "" {
		parts = append(parts, "message: "+message)
	}
	if len(parts) == 0 {
		var compact bytes.Buffer
		if json.Compact(&compact, data) != nil {
			return "-"
		}
		return compact.String()
	}
	return strings.Join(parts, ", ")
}
