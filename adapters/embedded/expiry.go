package embedded

import (
	"bytes"
	"context"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse/gatehouse/engine"
)

// Kinds of expiry index entries, part of their key.
const (
	expiryOfMember  = 'm'
	expiryOfRequest = 'r'
)

// DueExpiries lists, oldest first, memberships and granted requests whose
// expiry is at or before now: at most limit of them when limit is positive.
func (s *Store) DueExpiries(ctx context.Context, now time.Time, limit int) ([]engine.Expiry, error) {
	var due []engine.Expiry
	end := timeKey(now)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketExpiries).Cursor()
		for k, v := c.First(); k != nil && bytes.Compare(k[:timeKeyLen], end) <= 0; k, v = c.Next() {
			if limit > 0 && len(due) == limit {
				break
			}
			var e engine.Expiry
			if err := decode(k, v, &e); err != nil {
				return err
			}
			due = append(due, e)
		}
		return nil
	})
	return due, err
}

// memberExpiry is the expiry index entry of m, nil when it does not expire.
func memberExpiry(m engine.Membership) *engine.Expiry {
	if m.ExpiresAt == nil {
		return nil
	}
	return &engine.Expiry{Account: m.Account, User: m.User, At: *m.ExpiresAt}
}

// requestExpiry is the expiry index entry of r, nil unless r is granted
// with an expiry.
func requestExpiry(r engine.AccessRequest) *engine.Expiry {
	if r.Status != engine.StatusGranted || r.ExpiresAt == nil {
		return nil
	}
	return &engine.Expiry{Account: r.Account, Request: r.ID, At: *r.ExpiresAt}
}

// expiryKey is the expiry instant, the kind, then (account, user or request).
func expiryKey(e engine.Expiry) []byte {
	if e.Request != "" {
		return join(timeKey(e.At), []byte{expiryOfRequest}, compoundKey(e.Account, e.Request))
	}
	return join(timeKey(e.At), []byte{expiryOfMember}, compoundKey(e.Account, e.User))
}

// indexExpiry adds e, when not nil, to the expiry index.
func indexExpiry(tx *bolt.Tx, e *engine.Expiry) error {
	if e == nil {
		return nil
	}
	return putJSON(tx.Bucket(bucketExpiries), expiryKey(*e), e)
}

// unindexExpiry removes e, when not nil, from the expiry index.
func unindexExpiry(tx *bolt.Tx, e *engine.Expiry) error {
	if e == nil {
		return nil
	}
	return tx.Bucket(bucketExpiries).Delete(expiryKey(*e))
}
