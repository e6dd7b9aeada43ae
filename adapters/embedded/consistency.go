package embedded

import (
	"context"
	"fmt"
	"maps"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse/gatehouse/engine"
)

// SnapshotAtLeast is Snapshot, read in the same transaction as the versions
// of the accounts atLeast names. One process holds the store and every
// commit is durable before it answers, so the state is always as fresh as
// any token this store answered; an account behind its version in atLeast
// (a token of another store, or a forged one) is an error wrapping
// engine.ErrUnavailable.
func (s *Store) SnapshotAtLeast(ctx context.Context, subject, account string, atLeast engine.Token) (engine.Snapshot, error) {
	var snap engine.Snapshot
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if err := reached(tx, atLeast); err != nil {
			return err
		}
		var err error
		snap, err = snapshot(tx, subject, account)
		return err
	})
	if err != nil {
		return engine.Snapshot{}, err
	}
	return snap, nil
}

// reached checks that every account of t is at its version or past it.
func reached(tx *bolt.Tx, t engine.Token) error {
	for _, account := range slices.Sorted(maps.Keys(t.Versions)) {
		if v := readVersion(tx, account); v < t.Versions[account] {
			return fmt.Errorf("%w: embedded store: account %q is at version %d, the consistency token names %d",
				engine.ErrUnavailable, account, v, t.Versions[account])
		}
	}
	return nil
}
