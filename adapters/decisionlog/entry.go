package decisionlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/engine"
)

// Masked is the value a masked field holds in the log.
const Masked = "***"

// maskedJSON is Masked as a JSON value.
var maskedJSON = []byte(`"` + Masked + `"`)

// maxLine is the longest log line ReadEntries accepts.
const maxLine = 4 << 20

// Entry is one decision log line.
type Entry struct {
	DecisionID string                `json:"decision_id"`
	Time       time.Time             `json:"time"`
	Subject    string                `json:"subject"`
	Action     string                `json:"action"`
	Resource   Resource              `json:"resource"`
	Context    map[string]any        `json:"context,omitempty"`
	Allow      bool                  `json:"allow"`
	Reasons    []string              `json:"reasons"`
	Grant      *engine.DecisionGrant `json:"grant,omitempty"`
	// PolicyRevision is the revision that decided.
	PolicyRevision string `json:"policy_revision"`
	// Caller is the authenticated application that asked (serve
	// --decision-auth), absent when callers are not authenticated.
	Caller string `json:"caller,omitempty"`
	// Error is set when the decision failed closed (see engine.Decision).
	Error string `json:"error,omitempty"`
	// EvalMS is how long the decision took, in milliseconds.
	EvalMS float64 `json:"eval_ms"`

	// MaskedFields lists the top-level fields ReadEntries found masked; they
	// hold their zero value. It is not written.
	MaskedFields []string `json:"-"`
}

// Resource is the resource of a logged decision.
type Resource struct {
	Account        string `json:"account"`
	VirtualAccount string `json:"virtual_account,omitempty"`
}

// NewEntry returns the log entry of a decision. The entry shares the
// request's Context and the decision's Reasons and Grant: they must not
// change once decided.
func NewEntry(req engine.DecisionRequest, d engine.Decision) Entry {
	return Entry{
		DecisionID:     d.DecisionID,
		Time:           d.At.UTC(),
		Subject:        req.Subject,
		Action:         req.Action,
		Resource:       Resource{Account: req.Resource.Account, VirtualAccount: req.Resource.VirtualAccount},
		Context:        req.Context,
		Caller:         req.Caller,
		Allow:          d.Allow,
		Reasons:        d.Reasons,
		Grant:          d.Grant,
		PolicyRevision: d.PolicyRevision,
		Error:          d.Error,
		EvalMS:         float64(d.Duration.Microseconds()) / 1000,
	}
}

// Logged returns the entry as a decision to replay.
func (e Entry) Logged() engine.LoggedDecision {
	return engine.LoggedDecision{
		DecisionID: e.DecisionID,
		Request: engine.DecisionRequest{
			Subject: e.Subject, Action: e.Action, Context: e.Context, Caller: e.Caller,
			Resource: engine.Resource{Account: e.Resource.Account, VirtualAccount: e.Resource.VirtualAccount},
		},
		PolicyRevision: e.PolicyRevision,
		Verdict:        engine.Verdict{Allow: e.Allow, Reasons: e.Reasons, Error: e.Error},
	}
}

// Replayable reports whether the entry can be re-decided: no field a
// decision needs (subject, action, resource, context, caller, allow) was masked,
// and the request it records is well formed.
func (e Entry) Replayable() bool {
	for _, f := range e.MaskedFields {
		switch f {
		case "subject", "action", "resource", "context", "caller", "allow":
			return false
		}
	}
	if holdsMasked(e.Context) {
		return false
	}
	return e.Logged().Request.Validate() == nil
}

// holdsMasked reports whether a decoded JSON value holds Masked anywhere,
// whole or inside a string or a key (a masked value is scrubbed from the
// rest of the line too).
func holdsMasked(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.Contains(v, Masked)
	case map[string]any:
		for k, x := range v {
			if strings.Contains(k, Masked) || holdsMasked(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if holdsMasked(x) {
				return true
			}
		}
	}
	return false
}

// UnmarshalJSON reads a log line, masked fields included: a top-level
// field holding Masked is left zero and listed in MaskedFields. (A masked
// nested field, e.g. resource.account, reads as the string Masked.)
// Numbers in context are read as json.Number, exactly as they were logged,
// so that a replay decides on the very value that was decided.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var masked []string
	for k, v := range raw {
		if bytes.Equal(bytes.TrimSpace(v), maskedJSON) {
			masked = append(masked, k)
			delete(raw, k)
		}
	}
	sort.Strings(masked)
	rest, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	type plain Entry
	var out plain
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.UseNumber() // context numbers stay exact for a replay (issue 7 §1)
	if err := dec.Decode(&out); err != nil {
		return err
	}
	*e = Entry(out)
	e.MaskedFields = masked
	return nil
}

// ReadEntries reads a decision log: one JSON entry per line, blank lines
// ignored. An unreadable line is an error naming its line number.
func ReadEntries(r io.Reader) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []Entry
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return out, fmt.Errorf("decision log line %d: %w", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read decision log: %w", err)
	}
	return out, nil
}
