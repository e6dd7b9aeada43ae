package sentineltest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// operator is the system administrator the tests act as (R32).
const operator = "ops"

// newEngine returns an engine with the built-in policies on store, whose
// commands may take a minute: long enough for every resend of a commit
// whose acknowledgements did not come.
func newEngine(tb testing.TB, store *redisstore.Store) *engine.Engine {
	tb.Helper()
	ctx := context.Background()
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(tb, err)
	p, err := engine.CompilePolicy(ctx, files, "built-in")
	require.NoError(tb, err)
	eng, err := engine.New(store, p, engine.WithSystemAdmins(operator), engine.WithCommandTimeout(time.Minute))
	require.NoError(tb, err)
	return eng
}

// seed creates the accounts and users u0 ... u<users-1> in a few commits.
func seed(tb testing.TB, store engine.Store, accounts []string, users int) {
	tb.Helper()
	ctx := context.Background()
	change := engine.Change{}
	for _, a := range accounts {
		change.Accounts = append(change.Accounts, engine.Account{ID: a, Name: a})
	}
	require.NoError(tb, store.Commit(ctx, change))
	for first := 0; first < users; first += 500 {
		change := engine.Change{}
		for i := first; i < min(first+500, users); i++ {
			id := user(i)
			change.Users = append(change.Users, engine.User{ID: id, Email: id + "@example.com"})
		}
		require.NoError(tb, store.Commit(ctx, change))
	}
}

func user(i int) string { return fmt.Sprintf("u%d", i) }

// member is the membership the load adds: user i on one of accounts.
func member(accounts []string, i int) engine.Membership {
	return engine.Membership{Account: accounts[i%len(accounts)], User: user(i), Roles: []string{"account_user"}}
}
