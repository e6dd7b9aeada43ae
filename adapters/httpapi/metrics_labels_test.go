package httpapi_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 10 §4: no metric label carries an unbounded or secret value. After
// requests with a thousand distinct paths, ids, query strings, tokens in
// the path and made-up methods, gatehouse_http_requests_total holds only
// route patterns (or "unmatched"), the API's methods (or "other") and
// numeric statuses, and nothing the requests carried.
func TestHTTPMetricLabelsStayBounded(t *testing.T) {
	h := newEmbeddedHarness(t)
	seedAcme(h)
	const secret = "S3cretInThePath"
	for i := range 250 {
		h.call(http.MethodGet, fmt.Sprintf("/v1/users/u%d?token=%s%d", i, secret, i), systemAdmin, nil)
		h.call(http.MethodGet, fmt.Sprintf("/no/such/%s/%d", secret, i), "", nil)
		h.call(fmt.Sprintf("BREW%d", i), "/v1/decisions", "", nil)
		h.call(http.MethodHead, fmt.Sprintf("/v1/accounts/a%d/members", i), systemAdmin, nil)
	}
	families, err := h.registry.Gather()
	require.NoError(t, err)
	routes := map[string]bool{"unmatched": true}
	for _, r := range h.server.Routes() {
		routes[r.Path] = true
	}
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, "other"}
	series := 0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			series++
			for _, l := range m.GetLabel() {
				assert.NotContains(t, l.GetValue(), secret, "%s{%s}", f.GetName(), l.GetName())
				if f.GetName() != "gatehouse_http_requests_total" {
					continue
				}
				switch l.GetName() {
				case "route":
					assert.True(t, routes[l.GetValue()], "route label %q is no route pattern", l.GetValue())
				case "method":
					assert.Contains(t, methods, l.GetValue())
				case "status":
					_, err := strconv.Atoi(l.GetValue())
					assert.True(t, err == nil || l.GetValue() == "other", "status label %q", l.GetValue())
				default:
					assert.Fail(t, "unexpected label", l.GetName())
				}
			}
		}
	}
	t.Logf("%d series after 1000 requests on distinct paths and methods", series)
	assert.Less(t, series, 60, "the series stay few")
}
