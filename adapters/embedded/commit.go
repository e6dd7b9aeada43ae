package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse/gatehouse/engine"
)

// Commit applies change in one bbolt read-write transaction: it checks every
// version in change.Versions, change.ReadVersions and
// change.RequesterVersions and the idempotency key, writes everything, then
// increments the versions of change.Versions and of the requesters whose
// requests it wrote. Any failure rolls the whole transaction back. Members
// listed in both Members and RemovedMembers end up removed.
//
// A change whose ID was applied (within engine.CommitRetention) writes
// nothing and returns nil. Each commit also deletes a few commit and
// idempotency records whose retention has passed. A failed transaction is
// rolled back: the outcome of a commit here is always known.
func (s *Store) Commit(ctx context.Context, change engine.Change) error {
	if err := validate(change); err != nil {
		return err
	}
	steps := []func(*bolt.Tx, engine.Change) error{
		checkVersions, checkRequesterVersions, putUsers, putAccounts, putMembers, removeMembers,
		putRequests, putGrants, putExclusive, appendAudit, appendEvents, bumpVersions, bumpRequesterVersions,
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		now := time.Now()
		if applied(tx, change, now) {
			return nil
		}
		if err := checkIdempotency(tx, change, now); err != nil {
			return err
		}
		for _, step := range steps {
			if err := step(tx, change); err != nil {
				return err
			}
		}
		if err := putRecords(tx, change, now); err != nil {
			return err
		}
		return sweepRecords(tx, now)
	})
}

// validate refuses a change whose records lack the ids they are stored by.
func validate(c engine.Change) error {
	for i, u := range c.Users {
		if u.ID == "" {
			return engine.Invalid(fmt.Sprintf("users[%d].id", i), "is empty")
		}
	}
	for i, a := range c.Accounts {
		if a.ID == "" {
			return engine.Invalid(fmt.Sprintf("accounts[%d].id", i), "is empty")
		}
	}
	for i, m := range c.Members {
		if m.Account == "" || m.User == "" {
			return engine.Invalid(fmt.Sprintf("members[%d]", i), "account and user are required")
		}
	}
	for i, ref := range c.RemovedMembers {
		if ref.Account == "" || ref.User == "" {
			return engine.Invalid(fmt.Sprintf("removed_members[%d]", i), "account and user are required")
		}
	}
	for i, r := range c.Requests {
		if r.ID == "" || r.Account == "" || r.Requester == "" {
			return engine.Invalid(fmt.Sprintf("requests[%d]", i), "id, account and requester are required")
		}
	}
	for i, g := range c.Grants {
		if g.Tenant == "" || g.User == "" {
			return engine.Invalid(fmt.Sprintf("grants[%d]", i), "tenant and user are required")
		}
	}
	for i, t := range c.ExclusiveTenants {
		if t == "" {
			return engine.Invalid(fmt.Sprintf("exclusive_tenants[%d]", i), "is empty")
		}
	}
	for i, a := range c.Audit {
		if a.Account == "" {
			return engine.Invalid(fmt.Sprintf("audit[%d].account", i), "is empty")
		}
	}
	for ref := range c.RequesterVersions {
		if ref.Account == "" || ref.Requester == "" {
			return engine.Invalid("requester_versions", "account and requester are required")
		}
	}
	if rec := c.Idempotency; rec != nil && (rec.Actor == "" || rec.Key == "") {
		return engine.Invalid("idempotency", "actor and key are required")
	}
	return nil
}

// checkVersions fails with ErrConflict when an account moved on since the
// command read it.
func checkVersions(tx *bolt.Tx, c engine.Change) error {
	for _, versions := range []map[string]uint64{c.Versions, c.ReadVersions} {
		for _, account := range slices.Sorted(maps.Keys(versions)) {
			read, current := versions[account], readVersion(tx, account)
			if read != current {
				return fmt.Errorf("%w: account %q is at version %d, the change was decided at %d",
					engine.ErrConflict, account, current, read)
			}
		}
	}
	return nil
}

// bumpVersions increments the version of every account in c.Versions.
func bumpVersions(tx *bolt.Tx, c engine.Change) error {
	b := tx.Bucket(bucketVersions)
	for account, read := range c.Versions {
		if err := b.Put([]byte(account), binary.BigEndian.AppendUint64(nil, read+1)); err != nil {
			return err
		}
	}
	return nil
}

// readVersion returns the account's version, 0 when never committed.
func readVersion(tx *bolt.Tx, account string) uint64 {
	raw := tx.Bucket(bucketVersions).Get([]byte(account))
	if len(raw) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(raw)
}

func putUsers(tx *bolt.Tx, c engine.Change) error {
	b := tx.Bucket(bucketUsers)
	for _, u := range c.Users {
		if err := putJSON(b, []byte(u.ID), u); err != nil {
			return err
		}
	}
	return nil
}

func putAccounts(tx *bolt.Tx, c engine.Change) error {
	b := tx.Bucket(bucketAccounts)
	for _, a := range c.Accounts {
		if err := putJSON(b, []byte(a.ID), a); err != nil {
			return err
		}
	}
	return nil
}

// putMembers writes memberships, moving their expiry index entries.
func putMembers(tx *bolt.Tx, c engine.Change) error {
	b := tx.Bucket(bucketMembers)
	for _, m := range c.Members {
		key := compoundKey(m.Account, m.User)
		if err := unindexMember(tx, key); err != nil {
			return err
		}
		if err := putJSON(b, key, m); err != nil {
			return err
		}
		if err := indexExpiry(tx, memberExpiry(m)); err != nil {
			return err
		}
	}
	return nil
}

// removeMembers deletes memberships and their expiry index entries; removing
// a missing membership does nothing.
func removeMembers(tx *bolt.Tx, c engine.Change) error {
	b := tx.Bucket(bucketMembers)
	for _, ref := range c.RemovedMembers {
		key := compoundKey(ref.Account, ref.User)
		if err := unindexMember(tx, key); err != nil {
			return err
		}
		if err := b.Delete(key); err != nil {
			return err
		}
	}
	return nil
}

// unindexMember drops the expiry index entry of the membership stored at key.
func unindexMember(tx *bolt.Tx, key []byte) error {
	old, err := getPtr[engine.Membership](tx.Bucket(bucketMembers), key)
	if err != nil || old == nil {
		return err
	}
	return unindexExpiry(tx, memberExpiry(*old))
}

// putRequests writes requests and moves their index entries: by account and
// by requester (ordered by creation time) and by expiry when granted.
func putRequests(tx *bolt.Tx, c engine.Change) error {
	b := tx.Bucket(bucketRequests)
	byAccount, byRequester := tx.Bucket(bucketByAccount), tx.Bucket(bucketByRequester)
	for _, r := range c.Requests {
		old, err := getPtr[engine.AccessRequest](b, []byte(r.ID))
		if err != nil {
			return err
		}
		if old != nil {
			if err := byAccount.Delete(requestIndexKey(old.Account, *old)); err != nil {
				return err
			}
			if err := byRequester.Delete(requestIndexKey(old.Requester, *old)); err != nil {
				return err
			}
			if err := unindexExpiry(tx, requestExpiry(*old)); err != nil {
				return err
			}
		}
		if err := putJSON(b, []byte(r.ID), r); err != nil {
			return err
		}
		if err := byAccount.Put(requestIndexKey(r.Account, r), nil); err != nil {
			return err
		}
		if err := byRequester.Put(requestIndexKey(r.Requester, r), nil); err != nil {
			return err
		}
		if err := indexExpiry(tx, requestExpiry(r)); err != nil {
			return err
		}
	}
	return nil
}

// requestIndexKey is (owner) + creation time + id: an owner's requests sort
// oldest first, ties broken by id.
func requestIndexKey(owner string, r engine.AccessRequest) []byte {
	return join(compoundKey(owner), timeKey(r.CreatedAt), []byte(r.ID))
}

// putGrants writes tenant grants; an entry without grants is deleted.
func putGrants(tx *bolt.Tx, c engine.Change) error {
	b := tx.Bucket(bucketGrants)
	for _, g := range c.Grants {
		key := compoundKey(g.Tenant, g.User)
		if len(g.Grants) == 0 {
			if err := b.Delete(key); err != nil {
				return err
			}
			continue
		}
		if err := putJSON(b, key, g.Grants); err != nil {
			return err
		}
	}
	return nil
}

func putExclusive(tx *bolt.Tx, c engine.Change) error {
	b := tx.Bucket(bucketExclusive)
	for _, tenant := range c.ExclusiveTenants {
		if err := b.Put([]byte(tenant), []byte{1}); err != nil {
			return err
		}
	}
	return nil
}

// appendAudit appends audit records under (account) + sequence number.
func appendAudit(tx *bolt.Tx, c engine.Change) error {
	b := tx.Bucket(bucketAudit)
	for _, rec := range c.Audit {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		rec.Cursor = ""
		if err := putJSON(b, join(compoundKey(rec.Account), seqKey(seq)), rec); err != nil {
			return err
		}
	}
	return nil
}

// appendEvents appends events under their sequence number, and indexes
// each under (recipient) + that sequence number for each of its recipients.
func appendEvents(tx *bolt.Tx, c engine.Change) error {
	b, byRecipient := tx.Bucket(bucketEvents), tx.Bucket(bucketEventsTo)
	for _, ev := range c.Events {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		ev.Cursor = ""
		if err := putJSON(b, seqKey(seq), ev); err != nil {
			return err
		}
		for _, to := range ev.To {
			if err := byRecipient.Put(join(compoundKey(to), seqKey(seq)), nil); err != nil {
				return err
			}
		}
	}
	return nil
}
