package httpapi

import (
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse/engine"
)

// auditResponse is one audit record (R41).
type auditResponse struct {
	Cursor         string          `json:"cursor,omitempty"`
	ID             string          `json:"id"`
	Account        string          `json:"account"`
	Actor          string          `json:"actor"`
	Action         string          `json:"action"`
	Target         string          `json:"target,omitempty"`
	At             time.Time       `json:"at"`
	Before         json.RawMessage `json:"before,omitempty"`
	After          json.RawMessage `json:"after,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	PolicyRevision string          `json:"policy_revision"`
}

func newAuditResponses(rs []engine.AuditRecord) []auditResponse {
	out := make([]auditResponse, len(rs))
	for i, r := range rs {
		out[i] = auditResponse{
			Cursor:         r.Cursor,
			ID:             r.ID,
			Account:        r.Account,
			Actor:          r.Actor,
			Action:         r.Action,
			Target:         r.Target,
			At:             r.At,
			Before:         r.Before,
			After:          r.After,
			Reason:         r.Reason,
			PolicyRevision: r.PolicyRevision,
		}
	}
	return out
}

// eventResponse is one event (R42).
type eventResponse struct {
	Cursor  string          `json:"cursor,omitempty"`
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Account string          `json:"account,omitempty"`
	At      time.Time       `json:"at"`
	To      []string        `json:"to,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func newEventResponses(es []engine.Event) []eventResponse {
	out := make([]eventResponse, len(es))
	for i, e := range es {
		out[i] = eventResponse{
			Cursor:  e.Cursor,
			ID:      e.ID,
			Type:    e.Type,
			Account: e.Account,
			At:      e.At,
			To:      e.To,
			Data:    e.Data,
		}
	}
	return out
}

// nextCursor is the cursor of the last item when the page is full.
func nextCursor(n, limit int, last func() string) string {
	if n == 0 || n < limit {
		return ""
	}
	return last()
}
