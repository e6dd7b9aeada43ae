package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// Issue 9, section 3: GET /v1/audit and GET /v1/events list oldest first by
// default (order=asc) and newest first with order=desc; next pages in the
// order asked, page after page, until the log is walked. Another order is
// a 400 naming the parameter and its values, on both endpoints.
func TestLogListingsOrder(t *testing.T) {
	h := newEmbeddedHarness(t)
	start := time.Date(2026, time.March, 1, 9, 0, 0, 0, time.UTC)
	change := engine.Change{Accounts: []engine.Account{{ID: "acme", Name: "Acme", CreatedAt: start}}}
	var want []string
	for i := range 5 {
		id := fmt.Sprintf("a%d", i+1)
		want = append(want, id)
		at := start.Add(time.Duration(i) * time.Minute)
		change.Audit = append(change.Audit, engine.AuditRecord{
			ID: id, Account: "acme", Actor: "ops", Action: "member.add", Target: "u" + id, At: at, PolicyRevision: "rev",
		})
		change.Events = append(change.Events, engine.Event{ID: "e" + id, Type: "user.added", Account: "acme", At: at, To: []string{"u"}})
	}
	h.seed(change)
	reversed := make([]string, len(want))
	for i, id := range want {
		reversed[len(want)-1-i] = id
	}

	// walk lists path page by page, following next, and returns the ids.
	walk := func(t *testing.T, path string, limit int, order string) []string {
		var ids []string
		after := ""
		for range 20 {
			q := url.Values{"limit": {fmt.Sprint(limit)}}
			if order != "" {
				q.Set("order", order)
			}
			if after != "" {
				q.Set("after", after)
			}
			answer := h.mustRead(path+q.Encode(), systemAdmin)
			page := items(t, answer)
			assert.LessOrEqual(t, len(page), limit)
			for _, item := range page {
				ids = append(ids, item["id"].(string))
			}
			next, _ := answer["next"].(string)
			if next == "" {
				return ids
			}
			after = next
		}
		require.FailNow(t, "the listing never ended", "%s order=%s: %v", path, order, ids)
		return nil
	}

	tests := []struct {
		name, path, order string
		want              []string
	}{
		{"audit, default order", "/v1/audit?account=acme&", "", want},
		{"audit, asc", "/v1/audit?account=acme&", "asc", want},
		{"audit, desc", "/v1/audit?account=acme&", "desc", reversed},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 2, 5, 100} {
			t.Run(fmt.Sprintf("%s, pages of %d", tt.name, limit), func(t *testing.T) {
				assert.Equal(t, tt.want, walk(t, tt.path, limit, tt.order))
			})
		}
	}

	t.Run("the newest five of the audit trail", func(t *testing.T) {
		page := items(t, h.mustRead("/v1/audit?account=acme&limit=2&order=desc", systemAdmin))
		require.Len(t, page, 2)
		assert.Equal(t, "a5", page[0]["id"])
		assert.Equal(t, "a4", page[1]["id"])
	})

	t.Run("events, both orders", func(t *testing.T) {
		ids := func(order string) []string {
			var out []string
			for _, item := range items(t, h.mustRead("/v1/events?order="+order, systemAdmin)) {
				out = append(out, item["id"].(string))
			}
			return out
		}
		asc, desc := ids("asc"), ids("desc")
		require.Len(t, asc, 5)
		assert.Equal(t, "ea1", asc[0])
		assert.Equal(t, "ea5", desc[0])
		assert.Equal(t, asc, reverse(desc))
		mine := items(t, h.mustRead("/v1/events?order=desc&limit=1", "u"))
		require.Len(t, mine, 1)
		assert.Equal(t, "ea5", mine[0]["id"], "a user's own events, newest first")
	})

	t.Run("an empty order is the default", func(t *testing.T) {
		page := items(t, h.mustRead("/v1/audit?account=acme&limit=1&order=", systemAdmin))
		require.Len(t, page, 1)
		assert.Equal(t, "a1", page[0]["id"])
	})
	for _, path := range []string{"/v1/audit?account=acme&order=newest", "/v1/events?order=DESC", "/v1/events?order=desc&order=asc"} {
		t.Run("refused: "+path, func(t *testing.T) {
			e := requireError(t, h.call(http.MethodGet, path, systemAdmin, nil), http.StatusBadRequest, "invalid_input")
			assert.Contains(t, e.Error.Message, "order")
			if path != "/v1/events?order=desc&order=asc" {
				assert.Contains(t, e.Error.Message, "must be asc (oldest first, the default) or desc (newest first)")
			}
		})
	}
}

func reverse(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[len(ss)-1-i] = s
	}
	return out
}
