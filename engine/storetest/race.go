package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/engine"
)

// writers is how many goroutines race in the concurrency tests.
const writers = 50

// testCommitRaceRetries: writers each read the account, then commit a new
// member at the version read, re-reading on ErrConflict. Every member lands
// and the version moves by exactly one per commit (R11, R40).
func testCommitRaceRetries(t *testing.T, s engine.Store) {
	createAccounts(t, s, newAccount("acme"))
	initial := version(t, s, "acme")

	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			user := fmt.Sprintf("user-%02d", i)
			// Each round at least one writer wins, so writers rounds suffice;
			// the bound only stops a broken store from spinning forever.
			for attempt := 0; attempt <= writers; attempt++ {
				state, err := s.AccountState(t.Context(), "acme")
				if !assert.NoError(t, err, user) {
					return
				}
				err = s.Commit(t.Context(), engine.Change{
					Versions: map[string]uint64{"acme": state.Version},
					Members:  []engine.Membership{newMember("acme", user)},
				})
				if errors.Is(err, engine.ErrConflict) {
					continue
				}
				assert.NoError(t, err, user)
				return
			}
			assert.Fail(t, "no commit landed", "%s gave up after %d conflicts", user, writers+1)
		})
	}
	close(start)
	wg.Wait()

	members, err := s.ListMembers(t.Context(), "acme")
	require.NoError(t, err)
	assert.Len(t, members, writers)
	assert.Equal(t, initial+writers, version(t, s, "acme"))
}

// testCommitRaceSameVersion: writers commit at the same version at once;
// exactly one wins and the others get ErrConflict (R25).
func testCommitRaceSameVersion(t *testing.T, s engine.Store) {
	createAccounts(t, s, newAccount("acme"))
	initial := version(t, s, "acme")

	start := make(chan struct{})
	results := make(chan error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			<-start
			results <- s.Commit(t.Context(), engine.Change{
				Versions: map[string]uint64{"acme": initial},
				Members:  []engine.Membership{newMember("acme", fmt.Sprintf("user-%02d", i))},
			})
		})
	}
	close(start)
	wg.Wait()
	close(results)

	won, conflicts := 0, 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case errors.Is(err, engine.ErrConflict):
			conflicts++
		default:
			assert.NoError(t, err)
		}
	}
	assert.Equal(t, 1, won, "winners")
	assert.Equal(t, writers-1, conflicts, "conflicts")
	members, err := s.ListMembers(t.Context(), "acme")
	require.NoError(t, err)
	assert.Len(t, members, 1)
	assert.Equal(t, initial+1, version(t, s, "acme"))
}
