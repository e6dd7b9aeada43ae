package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// storeKinds are the stores the end-to-end tests run on.
var storeKinds = []struct {
	name string
	open func(tb testing.TB) engine.Store
}{
	{"embedded", openEmbedded},
	{"redis", func(tb testing.TB) engine.Store { return openRedis(tb, redistest.Start(tb)) }},
}

func openRedis(tb testing.TB, srv *redistest.Server) engine.Store {
	tb.Helper()
	// Generous deadlines: under -race on a busy machine a call can take far
	// longer than the production second. The outage tests use openRedisDefaults.
	return openRedisWith(tb, srv, redisstore.WithReadTimeout(time.Minute), redisstore.WithWriteTimeout(time.Minute))
}

// openRedisDefaults opens the Redis store with the production deadlines,
// for the tests of those deadlines.
func openRedisDefaults(tb testing.TB, srv *redistest.Server) engine.Store {
	tb.Helper()
	return openRedisWith(tb, srv)
}

func openRedisWith(tb testing.TB, srv *redistest.Server, opts ...redisstore.Option) engine.Store {
	tb.Helper()
	store, err := redisstore.Open(srv.URL(), opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = store.Close() })
	return store
}

// mustWrite sends a write as sub and requires one of the success statuses.
func (h *harness) mustWrite(method, path, sub string, body any, statuses ...int) map[string]any {
	h.tb.Helper()
	rec := h.call(method, path, sub, body)
	if len(statuses) == 0 {
		statuses = []int{http.StatusOK, http.StatusCreated}
	}
	require.Contains(h.tb, statuses, rec.Code, "%s %s as %s: %s", method, path, sub, rec.Body.String())
	if rec.Code == http.StatusNoContent {
		return nil
	}
	return decodeAs[map[string]any](h.tb, rec)
}

// mustRead sends a GET as sub and requires 200.
func (h *harness) mustRead(path, sub string) map[string]any {
	h.tb.Helper()
	rec := h.call(http.MethodGet, path, sub, nil)
	require.Equal(h.tb, http.StatusOK, rec.Code, "GET %s as %s: %s", path, sub, rec.Body.String())
	return decodeAs[map[string]any](h.tb, rec)
}

// putUser creates a user as the system administrator.
func (h *harness) putUser(id, organization string) {
	h.tb.Helper()
	body := map[string]any{"email": id + "@example.com", "first_name": id, "last_name": "Test"}
	if organization != "" {
		body["organization"] = organization
	}
	h.mustWrite(http.MethodPut, "/v1/users/"+id, systemAdmin, body)
}

// putAccount creates an account as the system administrator.
func (h *harness) putAccount(id, partner string, vas ...string) {
	h.tb.Helper()
	body := map[string]any{"name": id, "virtual_accounts": append([]string{}, vas...)}
	if partner != "" {
		body["partner"] = partner
	}
	h.mustWrite(http.MethodPut, "/v1/accounts/"+id, systemAdmin, body)
}

// putMember sets a membership as the system administrator (R32).
func (h *harness) putMember(account, user string, body map[string]any) {
	h.tb.Helper()
	if _, ok := body["justification"]; !ok {
		body["justification"] = "set up by the test"
	}
	h.mustWrite(http.MethodPut, "/v1/accounts/"+account+"/members/"+user, systemAdmin, body)
}

// items returns the items of a listing answer.
func items(tb testing.TB, answer map[string]any) []map[string]any {
	tb.Helper()
	raw, ok := answer["items"].([]any)
	require.True(tb, ok, "a listing has items: %v", answer)
	out := make([]map[string]any, len(raw))
	for i, item := range raw {
		out[i], ok = item.(map[string]any)
		require.True(tb, ok)
	}
	return out
}

// twoAccounts sets up acme (admin alice, user bob, va1) and globex (admin
// gina, member hank), with carl a user of neither, and a pending request
// by carl to each account. It returns the two requests' ids.
func twoAccounts(h *harness) (acmeRequest, globexRequest string) {
	h.tb.Helper()
	for _, u := range []string{"alice", "bob", "carl", "gina", "hank"} {
		h.putUser(u, "")
	}
	h.putAccount("acme", "", "va1")
	h.putAccount("globex", "", "vg1")
	h.putMember("acme", "alice", map[string]any{"roles": []string{"account_admin"}, "contact": "primary"})
	h.putMember("acme", "bob", map[string]any{"roles": []string{"account_user"}})
	h.putMember("globex", "gina", map[string]any{"roles": []string{"account_admin"}, "contact": "primary"})
	h.putMember("globex", "hank", map[string]any{"roles": []string{"account_viewer"}})
	a := h.mustWrite(http.MethodPost, "/v1/accounts/acme/access-requests", "carl",
		map[string]any{"justification": "I work on acme"}, http.StatusCreated)
	g := h.mustWrite(http.MethodPost, "/v1/accounts/globex/access-requests", "carl",
		map[string]any{"justification": "I work on globex"}, http.StatusCreated)
	return a["id"].(string), g["id"].(string)
}

// rfc3339 formats t as the API does.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
