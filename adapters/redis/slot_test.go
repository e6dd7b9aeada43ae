package redis_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// fullChange writes every kind of key the Store has for account (a tenant
// with a partner) and user.
func fullChange(account, user string) engine.Change {
	now := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	return engine.Change{
		Versions: map[string]uint64{account: 0},
		Users:    []engine.User{{ID: user, Email: user + "@example.com", CreatedAt: now}},
		Accounts: []engine.Account{{ID: account, Name: "A", Partner: "reseller", CreatedAt: now}},
		Members: []engine.Membership{{
			Account: account, User: user, Roles: []string{"account_user"}, AddedAt: now, ExpiresAt: &later,
		}},
		Requests: []engine.AccessRequest{{
			ID: "req-" + account, Kind: engine.KindTenant, Account: account, Requester: user,
			Status: engine.StatusGranted, CreatedAt: now, ExpiresAt: &later,
		}},
		Grants: []engine.TenantGrants{{
			Tenant: account, User: user, Grants: []engine.Grant{{Request: "req-" + account, GrantedBy: "root"}},
		}},
		ExclusiveTenants: []string{account},
		Audit:            []engine.AuditRecord{{ID: "au-" + account, Account: account, Action: "tenant.grant", At: now}},
		Events: []engine.Event{{
			ID: "ev-" + account, Type: "request.granted", Account: account, At: now, To: []string{user},
		}},
	}
}

// TestAccountKeysShareOneSlot: every key of one account hashes to one slot,
// and every key of one user to one slot, whatever the id holds, as the real
// Redis Cluster rule computes it (CLUSTER KEYSLOT on a cluster-enabled server).
func TestAccountKeysShareOneSlot(t *testing.T) {
	srv := redistest.Start(t)
	s := newStore(t, srv)
	accounts := []string{"acme", "tom-sawyer", "has{braces}", "has}close", "", "ünïcode"}
	for _, a := range accounts {
		change := fullChange(a, "user-of-"+a)
		if a == "" {
			// An empty id cannot be written, but its keys would still share a slot.
			continue
		}
		require.NoError(t, s.Commit(t.Context(), change))
	}
	c := newClient(t, srv)
	keys, err := c.Keys(t.Context(), "*").Result()
	require.NoError(t, err)

	cluster := newClient(t, redistest.Start(t, redistest.WithArgs("--cluster-enabled", "yes")))
	slot := func(key string) int64 {
		n, err := cluster.ClusterKeySlot(t.Context(), key).Result()
		require.NoError(t, err)
		return n
	}

	parts := []string{"account", "version", "members", "requests", "grants", "exclusive", "audit", "outbox"}
	for _, a := range accounts {
		t.Run(a, func(t *testing.T) {
			want := slot("gh:{a:" + a + "}:account")
			for _, part := range parts {
				key := "gh:{a:" + a + "}:" + part
				if a != "" {
					assert.Contains(t, keys, key, "the Store writes %s", key)
				}
				assert.Equal(t, want, slot(key), key)
			}
			user := "user-of-" + a
			wantUser := slot("gh:{u:" + user + "}:user")
			for _, part := range []string{"user", "requests", "events"} {
				key := "gh:{u:" + user + "}:" + part
				if a != "" {
					assert.Contains(t, keys, key, "the Store writes %s", key)
				}
				assert.Equal(t, wantUser, slot(key), key)
			}
		})
	}

	global := []string{"gh:requests", "gh:events", "gh:expiries", "gh:expiry-at"}
	tagged := []string{"gh:{a:", "gh:{u:", "gh:{outboxes:", "gh:{gh:"}
	for _, key := range keys {
		if slices.Contains(global, key) || slices.ContainsFunc(tagged, func(p string) bool { return strings.HasPrefix(key, p) }) {
			continue
		}
		t.Errorf("key %q is not in the documented layout", key)
	}
}
