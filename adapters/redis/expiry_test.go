package redis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// R7, R38: the expiry index follows every write of a request or membership,
// so that it holds exactly the granted requests and memberships that expire.
func TestExpiryIndexFollowsWrites(t *testing.T) {
	base := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	expires := base.Add(time.Hour)
	later := base.Add(2 * time.Hour)
	request := engine.AccessRequest{ID: "r1", Kind: engine.KindTenant, Account: "acme", Requester: "u", CreatedAt: base}
	member := engine.Membership{Account: "acme", User: "u", Roles: []string{"account_user"}, AddedAt: base}
	with := func(r engine.AccessRequest, status string, at *time.Time) engine.AccessRequest {
		r.Status, r.ExpiresAt = status, at
		return r
	}
	withExpiry := func(m engine.Membership, at *time.Time) engine.Membership {
		m.ExpiresAt = at
		return m
	}

	steps := []struct {
		name   string
		change engine.Change
		want   []engine.Expiry // due at `later`
	}{
		{"pending request with expiry is not indexed", engine.Change{
			Requests: []engine.AccessRequest{with(request, engine.StatusPending, &expires)},
		}, nil},
		{"granted request with expiry is", engine.Change{
			Requests: []engine.AccessRequest{with(request, engine.StatusGranted, &expires)},
		}, []engine.Expiry{{Account: "acme", Request: "r1", At: expires}}},
		{"expiry moved later", engine.Change{
			Requests: []engine.AccessRequest{with(request, engine.StatusGranted, &later)},
		}, []engine.Expiry{{Account: "acme", Request: "r1", At: later}}},
		{"membership with expiry joins", engine.Change{
			Members: []engine.Membership{withExpiry(member, &expires)},
		}, []engine.Expiry{
			{Account: "acme", User: "u", At: expires},
			{Account: "acme", Request: "r1", At: later},
		}},
		{"request expired leaves", engine.Change{
			Requests: []engine.AccessRequest{with(request, engine.StatusExpired, &later)},
		}, []engine.Expiry{{Account: "acme", User: "u", At: expires}}},
		{"membership expiry removed", engine.Change{
			Members: []engine.Membership{withExpiry(member, nil)},
		}, nil},
		{"membership with expiry removed", engine.Change{
			Members:        []engine.Membership{withExpiry(member, &expires)},
			RemovedMembers: []engine.MemberRef{{Account: "acme", User: "u"}},
		}, nil},
	}

	srv := redistest.Start(t)
	s := newStore(t, srv)
	c := newClient(t, srv)
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			require.NoError(t, s.Commit(t.Context(), step.change))
			due, err := s.DueExpiries(t.Context(), later, 0)
			require.NoError(t, err)
			assert.Equal(t, step.want, due)
			assert.Equal(t, int64(len(step.want)), c.ZCard(t.Context(), "gh:expiries").Val())
			assert.Equal(t, int64(len(step.want)), c.HLen(t.Context(), "gh:expiry-at").Val())
		})
	}
}

// R7: the index scores by microsecond, but an expiry is due only from its
// exact instant, nanoseconds included.
func TestDueExpiriesIsExactBelowAMicrosecond(t *testing.T) {
	expires := time.Date(2025, 3, 14, 9, 0, 0, 1_500, time.UTC) // 1.5µs past the second
	s := newStore(t, redistest.Start(t))
	require.NoError(t, s.Commit(t.Context(), engine.Change{Members: []engine.Membership{{
		Account: "acme", User: "u", AddedAt: expires, ExpiresAt: &expires,
	}}}))

	tests := []struct {
		name string
		now  time.Time
		due  bool
	}{
		{"a microsecond before", expires.Add(-time.Microsecond), false},
		{"same microsecond, earlier", expires.Add(-time.Nanosecond), false},
		{"the instant itself", expires, true},
		{"same microsecond, later", expires.Add(time.Nanosecond), true},
		{"much later", expires.Add(time.Hour), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			due, err := s.DueExpiries(t.Context(), tc.now, 10)
			require.NoError(t, err)
			if !tc.due {
				assert.Empty(t, due)
				return
			}
			require.Len(t, due, 1)
			assert.True(t, expires.Equal(due[0].At), "at %v", due[0].At)
		})
	}
}

// DueExpiries reads the index in pages; a limit cuts across them, earliest first.
func TestDueExpiriesPagesAndLimits(t *testing.T) {
	base := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	s := newStore(t, redistest.Start(t))
	const n = 600 // more than two pages
	members := make([]engine.Membership, n)
	for i := range members {
		at := base.Add(time.Duration(n-i) * time.Second)
		members[i] = engine.Membership{Account: "acme", User: fmt.Sprintf("u%03d", i), ExpiresAt: &at}
	}
	require.NoError(t, s.Commit(t.Context(), engine.Change{Members: members}))

	all, err := s.DueExpiries(t.Context(), base.Add(time.Hour), 0)
	require.NoError(t, err)
	assert.Len(t, all, n)

	some, err := s.DueExpiries(t.Context(), base.Add(time.Hour), 300)
	require.NoError(t, err)
	require.Len(t, some, 300)
	assert.Equal(t, all[:300], some)
	assert.True(t, base.Add(time.Second).Equal(some[0].At), "earliest first")
}
