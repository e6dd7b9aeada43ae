package decisionlog_test

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/decisionlog"
	"github.com/gatehouse/gatehouse/engine"
)

// Issue 7 §1: an integer above 2^53 in context is written as it was decided
// and read back exactly, so that `gatehouse policy replay` decides on the
// very number that was decided; with a mask too.
func TestContextNumbersStayExactThroughTheLog(t *testing.T) {
	context := map[string]any{
		"n":      json.Number("9007199254740993"),
		"nested": map[string]any{"list": []any{json.Number("-9007199254740995"), json.Number("0.1")}},
	}
	for _, mask := range [][]string{nil, {"grant.approved_by"}} {
		t.Run("mask "+strings.Join(mask, ","), func(t *testing.T) {
			var out syncBuffer
			l := decisionlog.New([]io.Writer{&out}, decisionlog.WithMask(mask...))
			req, d := decision(0)
			req.Context = context
			l.ObserveDecision(req, d)
			require.NoError(t, l.Close())
			assert.Contains(t, out.String(), `"n":9007199254740993`)
			assert.Contains(t, out.String(), `-9007199254740995`)

			entries, err := decisionlog.ReadEntries(strings.NewReader(out.String()))
			require.NoError(t, err)
			require.Len(t, entries, 1)
			assert.Equal(t, context, entries[0].Context)
			assert.Equal(t, context, entries[0].Logged().Request.Context)
			assert.True(t, entries[0].Replayable())
			assert.Equal(t, engine.Verdict{Allow: true, Reasons: d.Reasons}, entries[0].Logged().Verdict)
		})
	}
}
