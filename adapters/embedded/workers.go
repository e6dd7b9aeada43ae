package embedded

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse/gatehouse/engine"
)

// lease is a stored lease: who holds it and until when.
type lease struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

// AcquireLease takes the named lease for holder for ttl when it is free,
// expired or already holder's (a renewal), and reports whether it did.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := validateLease(name, holder, ttl); err != nil {
		return false, err
	}
	acquired := false
	err := s.update(ctx, func(tx *bolt.Tx) error {
		leases := tx.Bucket(bucketLeases)
		var current lease
		found, err := getJSON(leases, []byte(name), &current)
		if err != nil {
			return err
		}
		now := time.Now()
		if found && current.Holder != holder && now.Before(current.Expires) {
			return nil
		}
		acquired = true
		return putJSON(leases, []byte(name), lease{Holder: holder, Expires: now.Add(ttl)})
	})
	return acquired && err == nil, err
}

// GetCursor returns the named cursor, "" when it was never set.
func (s *Store) GetCursor(ctx context.Context, name string) (string, error) {
	var cursor string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		cursor = string(tx.Bucket(bucketCursors).Get([]byte(name)))
		return nil
	})
	return cursor, err
}

// SetCursor stores the named cursor.
func (s *Store) SetCursor(ctx context.Context, name, cursor string) error {
	if name == "" {
		return engine.Invalid("name", "is empty")
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketCursors).Put([]byte(name), []byte(cursor)); err != nil {
			return fmt.Errorf("embedded: set cursor %q: %w", name, err)
		}
		return nil
	})
}

// validateLease refuses a lease without name or holder, or shorter than a
// millisecond.
func validateLease(name, holder string, ttl time.Duration) error {
	switch {
	case name == "":
		return engine.Invalid("name", "is empty")
	case holder == "":
		return engine.Invalid("holder", "is empty")
	case ttl < time.Millisecond:
		return engine.Invalid("ttl", "must be at least a millisecond, not %s", ttl)
	}
	return nil
}
