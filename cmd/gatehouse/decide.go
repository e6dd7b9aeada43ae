package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/engine"
)

// decisionBody is a decision request as API.md writes it.
type decisionBody struct {
	Subject  string         `json:"subject"`
	Action   string         `json:"action"`
	Resource resourceBody   `json:"resource"`
	Context  map[string]any `json:"context,omitempty"`
}

type resourceBody struct {
	Account        string `json:"account"`
	VirtualAccount string `json:"virtual_account,omitempty"`
}

// decisionAnswer is a decision answer as API.md writes it.
type decisionAnswer struct {
	Allow          bool     `json:"allow"`
	Reasons        []string `json:"reasons"`
	DecisionID     string   `json:"decision_id"`
	PolicyRevision string   `json:"policy_revision"`
	Error          string   `json:"error,omitempty"`
	// PolicySource says where the revision of a local decision came from:
	// "built-in", the --policy-dir, or "store revision R by A" (the revision
	// active in the store, activated by A).
	// A server's answer does not carry it.
	PolicySource string `json:"policy_source,omitempty"`
}

// exitStatus is the exit status of decide for ans (main.go): 0 allow, 2 a
// deny of the policy, 3 a deny because deciding failed (ans.Error set).
func (ans decisionAnswer) exitStatus() int {
	switch {
	case ans.Allow:
		return exitOK
	case ans.Error != "":
		return exitFailClosed
	default:
		return exitDeny
	}
}

func newDecideCommand(cfg *Config) *cobra.Command {
	var body decisionBody
	var file string
	var remote, explain bool
	cmd := &cobra.Command{
		Use:   "decide",
		Short: "Ask one decision, from flags or a JSON file, of local data or a running server",
		Long: `Ask one decision and print it as JSON (the answer of POST /v1/decisions).

Without --remote it reads the local store (--store, --data-dir, --redis-url),
which must exist: it is never created. It decides with the policy revision
active in that store (the one pushed with gatehouse policy push), or with the
built-in policies when none was pushed, or with --policy-dir when given;
policy_source in the answer says which. With --remote it asks the gatehouse
at --server.

Exit status, for scripts:
  0  allow
  2  deny: the policy refused
  3  deny because deciding failed (the answer's error is timeout,
     store_unavailable or policy_error): gatehouse fails closed
  1  no decision: bad input, no store at --data-dir, server unreachable or
     answering an error`,
		Example: `  gatehouse decide --subject caroline --action impersonate.support --account tom-sawyer
  gatehouse decide --file question.json --remote --server http://127.0.0.1:8280
  gatehouse decide --subject alice --action view --account acme --explain`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file != "" {
				if err := readDecisionFile(file, &body); err != nil {
					return err
				}
			}
			req := engine.DecisionRequest{
				Subject: body.Subject, Action: body.Action, Context: body.Context,
				Resource: engine.Resource{Account: body.Resource.Account, VirtualAccount: body.Resource.VirtualAccount},
			}
			if err := req.Validate(); err != nil {
				return err
			}
			if explain && remote {
				return errors.New("--explain evaluates locally: drop --remote")
			}
			var ans decisionAnswer
			var explanation engine.Explanation
			if remote {
				q := client.DecisionRequest{Subject: body.Subject, Action: body.Action, Context: body.Context,
					Resource: client.Resource{Account: body.Resource.Account, VirtualAccount: body.Resource.VirtualAccount}}
				var d client.Decision
				err := newAPIClient(cfg).run(func(gh *client.Client) (err error) {
					d, err = gh.Decide(cmd.Context(), q)
					return err
				})
				if err != nil {
					return err
				}
				ans = decisionAnswer{Allow: d.Allow, Reasons: d.Reasons, DecisionID: d.DecisionID, PolicyRevision: d.PolicyRevision, Error: d.Error}
			} else {
				eng, store, err := openReadingEngine(cmd.Context(), cfg, "ask a running gatehouse with --remote --server URL")
				if err != nil {
					return err
				}
				defer store.Close()
				var d engine.Decision
				if explain {
					d, explanation, err = eng.Explain(cmd.Context(), req)
					if err != nil {
						return err
					}
				} else {
					d = eng.Decide(cmd.Context(), req)
				}
				ans = decisionAnswer{Allow: d.Allow, Reasons: d.Reasons, DecisionID: d.DecisionID, PolicyRevision: d.PolicyRevision,
					Error: d.Error, PolicySource: eng.Policy().Source}
			}
			if err := printJSON(cmd.OutOrStdout(), ans); err != nil {
				return err
			}
			if explain {
				fmt.Fprintln(cmd.OutOrStdout(), "\nrules that fired (file:line, rule) and the input and data they read:")
				if _, err := explanation.WriteTo(cmd.OutOrStdout()); err != nil {
					return err
				}
			}
			if code := ans.exitStatus(); code != exitOK {
				return &statusError{code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&body.Subject, "subject", "", "who asks")
	f.StringVar(&body.Action, "action", "", "what they want to do (view, use, manage, approve, entitlements.update, impersonate.support...)")
	f.StringVar(&body.Resource.Account, "account", "", "the account acted on")
	f.StringVar(&body.Resource.VirtualAccount, "virtual-account", "", "the virtual account acted on, if any")
	f.StringVar(&file, "file", "", "a JSON file holding the decision body of API.md (flags are ignored)")
	f.BoolVar(&remote, "remote", false, "ask the running server at --server instead of reading the store")
	f.BoolVar(&explain, "explain", false, "after the answer, print which rules fired (file:line) and the input and data they read")
	configFlags(f, cfg.bindStoreFlags, cfg.bindPolicyDirFlag, cfg.bindDecisionFlags, cfg.bindClientFlags)
	return cmd
}

// readJSONFile decodes the JSON file at path into v strictly, as the API
// decodes bodies (R44): unknown fields, a key given twice and a field name
// in another case are refused, naming the field.
func readJSONFile(path string, v any) error { return decodeJSONFile(path, v, false) }

// readDecisionFile decodes a decision body as readJSONFile does, keeping
// the numbers of its context exact (json.Number): an integer above 2^53
// reaches the policy, or the server, unchanged.
func readDecisionFile(path string, v *decisionBody) error { return decodeJSONFile(path, v, true) }

func decodeJSONFile(path string, v any, numbers bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := engine.CheckJSONKeys(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if numbers {
		dec.UseNumber()
	}
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: must hold one JSON value, but more follows it", path)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
