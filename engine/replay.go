package engine

import (
	"context"
	"errors"
	"fmt"
)

// LoggedDecision is a decision as a decision log recorded it: the request
// and the answer it got then.
type LoggedDecision struct {
	DecisionID     string
	Request        DecisionRequest
	PolicyRevision string
	Verdict        Verdict
}

// Verdict is the part of a decision a replay compares.
type Verdict struct {
	Allow   bool
	Reasons []string
	// Error is set when the decision failed closed (see Decision.Error).
	Error string
}

// Flip is a logged decision the candidate policy answers the other way.
type Flip struct {
	DecisionID string
	Request    DecisionRequest
	// Before is the logged answer, After the candidate's.
	Before Verdict
	After  Verdict
}

// Replay re-decides each logged decision with the candidate policy against
// the engine's store as it is now (memberships and grants may have changed,
// and expiries passed, since the decision was logged), and returns every
// decision whose allow would flip, in log order. The active revision is
// untouched and the decision observers are not told. A logged request that
// is malformed (e.g. a masked subject) cannot be replayed: it is an error.
// A replay that cannot read the store stops with an error wrapping
// ErrUnavailable, rather than report every allow as a flip.
func (e *Engine) Replay(ctx context.Context, logged []LoggedDecision, candidate *Policy) ([]Flip, error) {
	if candidate == nil {
		return nil, errors.New("replay: a candidate policy is required")
	}
	var flips []Flip
	for _, l := range logged {
		if err := l.Request.Validate(); err != nil {
			return flips, fmt.Errorf("replay decision %s: %w", l.DecisionID, err)
		}
		d, _ := e.decideWith(ctx, candidate, l.Request, nil)
		switch {
		case ctx.Err() != nil:
			return flips, fmt.Errorf("replay: %w", ctx.Err())
		case d.Error == "store_unavailable":
			return flips, fmt.Errorf("replay decision %s: %w: %s", l.DecisionID, ErrUnavailable, d.Reasons[0])
		}
		if d.Allow == l.Verdict.Allow {
			continue
		}
		flips = append(flips, Flip{
			DecisionID: l.DecisionID,
			Request:    l.Request,
			Before:     l.Verdict,
			After:      Verdict{Allow: d.Allow, Reasons: d.Reasons, Error: d.Error},
		})
	}
	return flips, nil
}
