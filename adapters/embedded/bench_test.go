package embedded_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	"github.com/gatehouse/gatehouse/engine"
)

// subject is the user the benchmark decides about.
const subject = "bench-subject"

// BenchmarkSnapshot shows that a Snapshot costs the same in a small store and
// in one holding 10,000 accounts and 100,000 memberships: it reads keys, it
// never scans.
func BenchmarkSnapshot(b *testing.B) {
	sizes := []struct {
		accounts, membersPerAccount int
	}{
		{accounts: 10, membersPerAccount: 10},
		{accounts: 10_000, membersPerAccount: 10},
	}
	for _, size := range sizes {
		b.Run(fmt.Sprintf("accounts=%d/members=%d", size.accounts, size.accounts*size.membersPerAccount), func(b *testing.B) {
			s := openStore(b, b.TempDir(), embedded.WithNoSync())
			load(b, s, size.accounts, size.membersPerAccount)
			account := fmt.Sprintf("account-%05d", size.accounts/2)

			b.ReportAllocs()
			for b.Loop() {
				snap, err := s.Snapshot(b.Context(), subject, account)
				if err != nil || snap.User == nil || snap.Membership == nil || snap.PartnerMembership == nil {
					b.Fatalf("snapshot = %+v, %v; want the user, a membership and a partner membership", snap, err)
				}
			}
		})
	}
}

// load commits accounts, each with membersPerAccount members, in commits of
// a thousand accounts. Every account has partner account-00000 and the
// subject as one of its members.
func load(b *testing.B, s *embedded.Store, accounts, membersPerAccount int) {
	b.Helper()
	const accountsPerCommit = 1_000
	for first := 0; first < accounts; first += accountsPerCommit {
		change := engine.Change{Users: []engine.User{{ID: subject, Email: "bench@example.com"}}}
		for i := first; i < min(first+accountsPerCommit, accounts); i++ {
			id := fmt.Sprintf("account-%05d", i)
			change.Accounts = append(change.Accounts, engine.Account{
				ID: id, Name: id, VirtualAccounts: []string{id + "-va"}, Partner: "account-00000",
			})
			for m := range membersPerAccount {
				user := fmt.Sprintf("user-%07d", i*membersPerAccount+m)
				if m == 0 {
					user = subject
				}
				change.Members = append(change.Members, engine.Membership{
					Account: id, User: user, Roles: []string{"account_user"}, AddedBy: "bench",
				})
			}
		}
		require.NoError(b, s.Commit(b.Context(), change))
	}
}
