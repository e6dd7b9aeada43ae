package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// testDueExpiries: memberships and granted requests whose expiry is at or
// before now are due, earliest first; future ones, other statuses, removed
// members and moved expiries are not (R7, R38, R42).
func testDueExpiries(t *testing.T, s engine.Store) {
	createAccounts(t, s, newAccount("acme"))
	member := func(user string, expires *int) engine.Membership {
		m := newMember("acme", user)
		if expires != nil {
			m.ExpiresAt = atPtr(*expires)
		}
		return m
	}
	request := func(id, status string, expires *int) engine.AccessRequest {
		r := newRequest(id, "acme", "someone", status, 0)
		if expires != nil {
			r.ExpiresAt = atPtr(*expires)
		}
		return r
	}
	minute := func(m int) *int { return &m }
	commit(t, s, engine.Change{
		Members: []engine.Membership{
			member("past", minute(90)),
			member("now", minute(100)),
			member("future", minute(110)),
			member("forever", nil),
		},
		Requests: []engine.AccessRequest{
			request("granted-past", engine.StatusGranted, minute(95)),
			request("pending-past", engine.StatusPending, minute(80)),
			request("denied-past", engine.StatusDenied, minute(80)),
			request("granted-future", engine.StatusGranted, minute(120)),
			request("granted-forever", engine.StatusGranted, nil),
		},
	})
	ofMember := func(user string, m int) engine.Expiry {
		return engine.Expiry{Account: "acme", User: user, At: at(m)}
	}
	ofRequest := func(id string, m int) engine.Expiry {
		return engine.Expiry{Account: "acme", Request: id, At: at(m)}
	}

	due := func(t *testing.T, now, limit int) []engine.Expiry {
		t.Helper()
		got, err := s.DueExpiries(t.Context(), at(now), limit)
		require.NoError(t, err)
		return normAll(got, normExpiry)
	}

	t.Run("due at or before now, earliest first", func(t *testing.T) {
		want := []engine.Expiry{ofMember("past", 90), ofRequest("granted-past", 95), ofMember("now", 100)}
		assert.Equal(t, want, due(t, 100, 0))
	})
	t.Run("limit keeps the earliest", func(t *testing.T) {
		want := []engine.Expiry{ofMember("past", 90), ofRequest("granted-past", 95)}
		assert.Equal(t, want, due(t, 100, 2))
	})
	t.Run("nothing due before the first expiry", func(t *testing.T) {
		assert.Empty(t, due(t, 89, 0))
	})

	moved := member("now", minute(130))
	commit(t, s, engine.Change{
		Members:        []engine.Membership{moved, member("future", nil)},
		RemovedMembers: []engine.MemberRef{{Account: "acme", User: "past"}},
		Requests: []engine.AccessRequest{
			request("granted-past", engine.StatusExpired, minute(95)),
			request("granted-future", engine.StatusGranted, minute(99)),
			request("pending-past", engine.StatusGranted, minute(97)),
		},
	})

	t.Run("removal, status change and moved expiries are followed", func(t *testing.T) {
		want := []engine.Expiry{ofRequest("pending-past", 97), ofRequest("granted-future", 99)}
		assert.Equal(t, want, due(t, 100, 0))
	})
	t.Run("later expiries become due in time", func(t *testing.T) {
		want := []engine.Expiry{ofRequest("pending-past", 97), ofRequest("granted-future", 99), ofMember("now", 130)}
		assert.Equal(t, want, due(t, 200, 0))
	})
}
