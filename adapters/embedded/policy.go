package embedded

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse/gatehouse/engine"
)

// activeKey is the key of the active policy in bucketPolicyState.
var activeKey = []byte("active")

// SavePolicy stores a policy revision with its files. Saving a revision that
// exists already keeps the stored one and succeeds.
func (s *Store) SavePolicy(ctx context.Context, rev engine.PolicyRevision) error {
	if rev.Revision == "" {
		return engine.Invalid("revision", "is empty")
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		revisions := tx.Bucket(bucketPolicies)
		if revisions.Get([]byte(rev.Revision)) != nil {
			return nil
		}
		if err := putJSON(revisions, []byte(rev.Revision), rev); err != nil {
			return err
		}
		listed := rev
		listed.Files = nil
		return putJSON(tx.Bucket(bucketPolicyLog), policyLogKey(rev), listed)
	})
}

// GetPolicy returns a stored revision with its files.
func (s *Store) GetPolicy(ctx context.Context, revision string) (engine.PolicyRevision, error) {
	var rev engine.PolicyRevision
	err := s.view(ctx, func(tx *bolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucketPolicies), []byte(revision), &rev)
		if err == nil && !found {
			err = fmt.Errorf("embedded: policy revision %q: %w", revision, engine.ErrNotFound)
		}
		return err
	})
	return rev, err
}

// ListPolicies lists revisions newest first, without their files, at most
// limit of them when limit is positive. It walks the time index backwards.
func (s *Store) ListPolicies(ctx context.Context, limit int) ([]engine.PolicyRevision, error) {
	out := []engine.PolicyRevision{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPolicyLog).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			if limit > 0 && len(out) == limit {
				break
			}
			var rev engine.PolicyRevision
			if err := decode(k, v, &rev); err != nil {
				return err
			}
			out = append(out, rev)
		}
		return nil
	})
	return out, err
}

// ActivatePolicy makes a stored revision the active one, then hands the
// activation to every watcher of this store.
func (s *Store) ActivatePolicy(ctx context.Context, a engine.PolicyActivation) error {
	if a.Revision == "" {
		return engine.Invalid("revision", "is empty")
	}
	return s.watchers.publish(a, func() error {
		return s.update(ctx, func(tx *bolt.Tx) error {
			if tx.Bucket(bucketPolicies).Get([]byte(a.Revision)) == nil {
				return fmt.Errorf("embedded: policy revision %q: %w", a.Revision, engine.ErrNotFound)
			}
			return putJSON(tx.Bucket(bucketPolicyState), activeKey, a)
		})
	})
}

// ActivePolicy returns the latest activation.
func (s *Store) ActivePolicy(ctx context.Context) (engine.PolicyActivation, error) {
	var a engine.PolicyActivation
	err := s.view(ctx, func(tx *bolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucketPolicyState), activeKey, &a)
		if err == nil && !found {
			err = fmt.Errorf("embedded: active policy: %w", engine.ErrNotFound)
		}
		return err
	})
	return a, err
}

// WatchPolicy delivers the activations made through this store until ctx
// ends, then closes the channel. The store is single-process, so every
// activation goes through it.
func (s *Store) WatchPolicy(ctx context.Context) (<-chan engine.PolicyActivation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.watchers.subscribe(ctx), nil
}

// policyLogKey is the revision's key in the time index: its creation
// instant, then its id.
func policyLogKey(rev engine.PolicyRevision) []byte {
	return join(timeKey(rev.CreatedAt), []byte(rev.Revision))
}
