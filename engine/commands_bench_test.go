package engine_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
)

// seatsPerAccount is the secondary contact limit of the benchmark's
// accounts: every approval is checked against it (R10) and fits.
const seatsPerAccount = 4

// seedApprovals writes n pending requests, seatsPerAccount per account,
// each account with alice as account_admin and primary contact, straight
// through the store. It returns the request ids seat by seat, so that
// consecutive approvals fall on different accounts.
func seedApprovals(b *testing.B, store engine.Store, n int) []string {
	b.Helper()
	ctx := context.Background()
	require.NoError(b, store.Commit(ctx, engine.Change{Users: []engine.User{{ID: "alice", Email: "alice@example.com"}}}))
	seats := make([][]string, seatsPerAccount)
	for a, seeded := 0, 0; seeded < n; a++ {
		account := fmt.Sprintf("acct%05d", a)
		change := engine.Change{
			Versions: map[string]uint64{account: 0},
			Accounts: []engine.Account{{
				ID: account, Name: account, Settings: map[string]any{"max_secondary_contacts": seatsPerAccount},
			}},
			Members: []engine.Membership{{
				Account: account, User: "alice", Roles: []string{"account_admin"}, Contact: engine.ContactPrimary, AddedBy: sysAdmin,
			}},
		}
		for i := 0; i < seatsPerAccount && seeded < n; i++ {
			user := fmt.Sprintf("%s-user%d", account, i)
			id := fmt.Sprintf("REQ%s%d", account, i)
			change.Users = append(change.Users, engine.User{ID: user, Email: user + "@example.com"})
			change.Requests = append(change.Requests, engine.AccessRequest{
				ID: id, Kind: engine.KindAccount, Account: account, Requester: user,
				Status: engine.StatusPending, CreatedAt: commandEpoch,
			})
			seats[i] = append(seats[i], id)
			seeded++
		}
		require.NoError(b, store.Commit(ctx, change))
	}
	var ids []string
	for _, seat := range seats {
		ids = append(ids, seat...)
	}
	return ids
}

// BenchmarkApproveRedis measures approvals committed per second on Redis:
// each approval reads its account's state, asks the admission policy
// (secondary contact limit included, R10), and commits the membership,
// request, audit records and events atomically with the version check (R40).
func BenchmarkApproveRedis(b *testing.B) {
	approve := engine.Approval{Contact: engine.ContactSecondary, Privileges: map[string]string{"entitlements": "view"}}
	b.Run("serial", func(b *testing.B) {
		e := newCommandEngine(b, openRedisStore(b, redistest.Start(b)), newFakeClock())
		ids := seedApprovals(b, e.Store(), b.N)
		ctx := context.Background()
		b.ResetTimer()
		for i := range b.N {
			if _, err := e.Approve(ctx, "alice", ids[i], approve); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "approvals/s")
	})
	b.Run("parallel", func(b *testing.B) {
		e := newCommandEngine(b, openRedisStore(b, redistest.Start(b)), newFakeClock())
		ids := seedApprovals(b, e.Store(), b.N)
		ctx := context.Background()
		var next atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := ids[next.Add(1)-1]
				if _, err := e.Approve(ctx, "alice", id, approve); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "approvals/s")
	})
}
