package embedded

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse/gatehouse/engine"
)

// Snapshot reads, in one transaction and by key only, what a decision about
// subject acting on account needs. Unknown subjects and accounts give an
// empty snapshot.
func (s *Store) Snapshot(ctx context.Context, subject, account string) (engine.Snapshot, error) {
	var snap engine.Snapshot
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		snap, err = snapshot(tx, subject, account)
		return err
	})
	if err != nil {
		return engine.Snapshot{}, err
	}
	return snap, nil
}

// snapshot reads what Snapshot returns in tx.
func snapshot(tx *bolt.Tx, subject, account string) (engine.Snapshot, error) {
	var snap engine.Snapshot
	var err error
	if snap.User, err = getPtr[engine.User](tx.Bucket(bucketUsers), []byte(subject)); err != nil {
		return engine.Snapshot{}, err
	}
	if snap.Account, err = getPtr[engine.Account](tx.Bucket(bucketAccounts), []byte(account)); err != nil {
		return engine.Snapshot{}, err
	}
	members := tx.Bucket(bucketMembers)
	if snap.Membership, err = getPtr[engine.Membership](members, compoundKey(account, subject)); err != nil {
		return engine.Snapshot{}, err
	}
	if snap.Account != nil && snap.Account.Partner != "" {
		key := compoundKey(snap.Account.Partner, subject)
		if snap.PartnerMembership, err = getPtr[engine.Membership](members, key); err != nil {
			return engine.Snapshot{}, err
		}
	}
	snap.TenantExclusive = tx.Bucket(bucketExclusive).Get([]byte(account)) != nil
	if _, err := getJSON(tx.Bucket(bucketGrants), compoundKey(account, subject), &snap.TenantGrants); err != nil {
		return engine.Snapshot{}, err
	}
	return snap, nil
}

// AccountState reads the account, its members, its requests with the given
// statuses (all when none), its version and its requesters' versions in
// one transaction.
func (s *Store) AccountState(ctx context.Context, account string, statuses ...string) (engine.AccountState, error) {
	var state engine.AccountState
	err := s.view(ctx, func(tx *bolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucketAccounts), []byte(account), &state.Account)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: account %q", engine.ErrNotFound, account)
		}
		if state.Members, err = listMembers(tx, account); err != nil {
			return err
		}
		keep := func(r engine.AccessRequest) bool {
			return len(statuses) == 0 || slices.Contains(statuses, r.Status)
		}
		if state.Requests, err = listRequests(tx, bucketByAccount, account, keep, 0); err != nil {
			return err
		}
		state.Version = readVersion(tx, account)
		state.RequesterVersions = readRequesterVersions(tx, account)
		return nil
	})
	if err != nil {
		return engine.AccountState{}, err
	}
	return state, nil
}

// GetUser returns the user with that id.
func (s *Store) GetUser(ctx context.Context, id string) (engine.User, error) {
	return get[engine.User](ctx, s, bucketUsers, []byte(id), "user "+id)
}

// GetAccount returns the account with that id.
func (s *Store) GetAccount(ctx context.Context, id string) (engine.Account, error) {
	return get[engine.Account](ctx, s, bucketAccounts, []byte(id), "account "+id)
}

// GetMember returns user's membership in account.
func (s *Store) GetMember(ctx context.Context, account, user string) (engine.Membership, error) {
	return get[engine.Membership](ctx, s, bucketMembers, compoundKey(account, user),
		fmt.Sprintf("member %s of account %s", user, account))
}

// ListMembers lists the account's members ordered by user id; an account
// without members (or unknown) gives an empty list.
func (s *Store) ListMembers(ctx context.Context, account string) ([]engine.Membership, error) {
	var members []engine.Membership
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		members, err = listMembers(tx, account)
		return err
	})
	return members, err
}

// GetRequest returns the access request with that id.
func (s *Store) GetRequest(ctx context.Context, id string) (engine.AccessRequest, error) {
	return get[engine.AccessRequest](ctx, s, bucketRequests, []byte(id), "request "+id)
}

// ListRequests lists requests of one account or one requester, newest first
// (by creation time, then id), optionally of one status, at most
// filter.Limit of them when it is positive.
func (s *Store) ListRequests(ctx context.Context, filter engine.RequestFilter) ([]engine.AccessRequest, error) {
	index, owner := bucketByAccount, filter.Account
	switch {
	case filter.Account != "" && filter.Requester != "":
		return nil, engine.Invalid("filter", "set account or requester, not both")
	case filter.Account == "" && filter.Requester == "":
		return nil, engine.Invalid("filter", "set account or requester")
	case filter.Requester != "":
		index, owner = bucketByRequester, filter.Requester
	}
	keep := func(r engine.AccessRequest) bool {
		return filter.Status == "" || r.Status == filter.Status
	}
	var requests []engine.AccessRequest
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		requests, err = listRequests(tx, index, owner, keep, filter.Limit)
		return err
	})
	return requests, err
}

// get reads one record by key, wrapping ErrNotFound with what when missing.
func get[T any](ctx context.Context, s *Store, bucket, key []byte, what string) (T, error) {
	var v T
	err := s.view(ctx, func(tx *bolt.Tx) error {
		found, err := getJSON(tx.Bucket(bucket), key, &v)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: %s", engine.ErrNotFound, what)
		}
		return nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// getPtr reads one record by key, nil when missing.
func getPtr[T any](b *bolt.Bucket, key []byte) (*T, error) {
	v := new(T)
	found, err := getJSON(b, key, v)
	if err != nil || !found {
		return nil, err
	}
	return v, nil
}

// listMembers walks the members bucket from the account's prefix.
func listMembers(tx *bolt.Tx, account string) ([]engine.Membership, error) {
	prefix := compoundKey(account)
	var members []engine.Membership
	c := tx.Bucket(bucketMembers).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var m engine.Membership
		if err := decode(k, v, &m); err != nil {
			return nil, err
		}
		members = append(members, m)
	}
	return members, nil
}

// listRequests walks a request index backwards from the end of owner's
// prefix (newest first), loading each request and keeping those keep
// accepts, at most limit when limit is positive.
func listRequests(tx *bolt.Tx, index []byte, owner string, keep func(engine.AccessRequest) bool, limit int) ([]engine.AccessRequest, error) {
	prefix := compoundKey(owner)
	requests := tx.Bucket(bucketRequests)
	var out []engine.AccessRequest
	c := tx.Bucket(index).Cursor()
	for k, _ := lastWithPrefix(c, prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if limit > 0 && len(out) == limit {
			break
		}
		id := k[len(prefix)+timeKeyLen:]
		var r engine.AccessRequest
		found, err := getJSON(requests, id, &r)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("embedded: index %s names missing request %q", index, id)
		}
		if keep(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// lastWithPrefix positions c on the last key starting with prefix, or on
// the key just before where such keys would be.
func lastWithPrefix(c *bolt.Cursor, prefix []byte) ([]byte, []byte) {
	end := prefixEnd(prefix)
	if end == nil {
		return c.Last()
	}
	if k, _ := c.Seek(end); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// prefixEnd returns the smallest key greater than every key starting with
// prefix, or nil when there is none.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
