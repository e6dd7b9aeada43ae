package decisionlog_test

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/decisionlog"
	"github.com/gatehouse/gatehouse/engine"
)

// Values of the echoing decision, each unlikely to appear by chance.
const (
	subject  = "alice.secret@example.com"
	action   = "entitlements.update"
	account  = "acme-secret-acct"
	va       = "va-secret-emea"
	ip       = "203.0.113.77"
	pin      = "9007199254740993"
	request  = "req-secret-77"
	approver = "tom-approver-secret"
)

// echoing returns a decision whose values echo each other, as real ones
// do: the reasons name the subject, action, account, grant and context;
// the context names the subject, also as a key.
func echoing() (engine.DecisionRequest, engine.Decision) {
	req := engine.DecisionRequest{
		Subject:  subject,
		Action:   action,
		Resource: engine.Resource{Account: account, VirtualAccount: va},
		Context: map[string]any{
			"ip":     ip,
			"pin":    json.Number(pin),
			"note":   "asked by " + subject + " from " + ip,
			"nested": map[string]any{"list": []any{subject}, subject: true},
		},
	}
	d := engine.Decision{
		DecisionID:     "d-1",
		PolicyRevision: "rev1",
		At:             at,
		Allow:          true,
		Reasons: []string{
			subject + " may " + action + " on " + account + "/" + va + " through request " + request + " approved by " + approver,
			"context: ip " + ip + ", pin " + pin,
		},
		Grant: &engine.DecisionGrant{Kind: "membership", Account: account, Request: request, ApprovedBy: approver},
	}
	return req, d
}

// failing returns a decision that failed closed, whose reasons repeat its
// error code.
func failing() (engine.DecisionRequest, engine.Decision) {
	req, d := echoing()
	d.Allow, d.Grant = false, nil
	d.Error = "store_unavailable"
	d.Reasons = []string{"denied: store_unavailable while " + subject + " asked"}
	return req, d
}

// Issue 7, point 4: masking a field removes its value from the whole
// line: the raw bytes hold none of the masked values, even where one is
// only a part of a reason sentence, a context value, a key or a number.
func TestMaskingHidesTheValueEverywhere(t *testing.T) {
	tests := []struct {
		mask     string
		decision func() (engine.DecisionRequest, engine.Decision)
		hidden   []string
		kept     []string // values that must survive, to show the line is not blanked
	}{
		{mask: "subject", decision: echoing, hidden: []string{subject}, kept: []string{action, account, approver, ip}},
		{mask: "action", decision: echoing, hidden: []string{action}, kept: []string{subject, account}},
		{mask: "resource", decision: echoing, hidden: []string{account, va}, kept: []string{subject, approver}},
		{mask: "resource.account", decision: echoing, hidden: []string{account}, kept: []string{va, subject}},
		{mask: "resource.virtual_account", decision: echoing, hidden: []string{va}, kept: []string{account}},
		{mask: "context", decision: echoing, hidden: []string{ip, pin, subject, "asked by"}, kept: []string{account, approver}},
		{mask: "context.ip", decision: echoing, hidden: []string{ip}, kept: []string{subject, pin}},
		{mask: "context.pin", decision: echoing, hidden: []string{pin}, kept: []string{ip, subject}},
		{mask: "context.nested", decision: echoing, hidden: []string{subject}, kept: []string{ip, pin}},
		{mask: "reasons", decision: echoing, hidden: []string{" may ", "context: ip"}, kept: []string{subject, ip}},
		{mask: "grant", decision: echoing, hidden: []string{request, approver, account, "membership"}, kept: []string{subject, ip}},
		{mask: "grant.approved_by", decision: echoing, hidden: []string{approver}, kept: []string{request, subject}},
		{mask: "grant.request", decision: echoing, hidden: []string{request}, kept: []string{approver}},
		{mask: "grant.account", decision: echoing, hidden: []string{account}, kept: []string{approver, va}},
		{mask: "error", decision: failing, hidden: []string{"store_unavailable"}, kept: []string{subject}},
		{mask: "subject,context", decision: failing, hidden: []string{subject, ip, pin}, kept: []string{"store_unavailable", account}},
	}
	for _, tt := range tests {
		t.Run(tt.mask, func(t *testing.T) {
			var out syncBuffer
			l := decisionlog.New([]io.Writer{&out}, decisionlog.WithMask(strings.Split(tt.mask, ",")...))
			l.ObserveDecision(tt.decision())
			require.NoError(t, l.Close())
			line := []byte(out.String())

			for _, v := range tt.hidden {
				assert.False(t, bytes.Contains(line, []byte(v)), "%q is in the line masking %s: %s", v, tt.mask, line)
			}
			for _, v := range tt.kept {
				assert.True(t, bytes.Contains(line, []byte(v)), "%q was not masked and must stay: %s", v, line)
			}
			var doc map[string]any
			require.NoError(t, json.Unmarshal(line, &doc), "the line stays JSON")
			for _, path := range strings.Split(tt.mask, ",") {
				assert.Equal(t, decisionlog.Masked, valueAt(doc, path), path)
			}
			for _, k := range []string{"decision_id", "time", "policy_revision", "eval_ms"} {
				assert.Contains(t, doc, k)
			}
			entries, err := decisionlog.ReadEntries(bytes.NewReader(line))
			require.NoError(t, err)
			require.Len(t, entries, 1)
		})
	}
}

// An entry whose context had a value scrubbed (a masked subject inside a
// context note) is not replayed: its context is no longer what was asked.
func TestScrubbedContextIsNotReplayable(t *testing.T) {
	var out syncBuffer
	l := decisionlog.New([]io.Writer{&out}, decisionlog.WithMask("grant.approved_by"))
	req, d := echoing()
	req.Context = map[string]any{"note": "approved by " + approver}
	l.ObserveDecision(req, d)
	require.NoError(t, l.Close())
	entries, err := decisionlog.ReadEntries(strings.NewReader(out.String()))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "approved by ***", entries[0].Context["note"])
	assert.False(t, entries[0].Replayable())
}
