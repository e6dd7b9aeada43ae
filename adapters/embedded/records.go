package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse/gatehouse/engine"
)

// sweepBatch bounds how many expired commit and idempotency records one
// commit deletes, so that cleanup costs every commit a little.
const sweepBatch = 64

// Tags of the record kinds in bucketRecordExpiry.
const (
	tagCommit      = 'c'
	tagIdempotency = 'i'
)

// storedIdempotency is an idempotency record with its expiry.
type storedIdempotency struct {
	Record    engine.IdempotencyRecord `json:"record"`
	ExpiresAt time.Time                `json:"expires_at"`
}

// home is the account under whose keys a change's commit and idempotency
// records are kept: engine.Change.Home, else its first account.
func home(change engine.Change) string {
	switch {
	case change.Home != "":
		return change.Home
	case len(change.Versions) > 0:
		return slices.Min(slices.Collect(maps.Keys(change.Versions)))
	case len(change.ReadVersions) > 0:
		return slices.Min(slices.Collect(maps.Keys(change.ReadVersions)))
	}
	return engine.DirectoryAccount
}

// applied reports whether the change's ID is recorded, unexpired, under its
// home: the change was committed already.
func applied(tx *bolt.Tx, c engine.Change, now time.Time) bool {
	if c.ID == "" {
		return false
	}
	raw := tx.Bucket(bucketCommits).Get(compoundKey(home(c), c.ID))
	return len(raw) == timeKeyLen && bytes.Compare(raw, timeKey(now)) > 0
}

// checkIdempotency fails with ErrConflict when the change's idempotency
// key already has an unexpired record.
func checkIdempotency(tx *bolt.Tx, c engine.Change, now time.Time) error {
	rec := c.Idempotency
	if rec == nil {
		return nil
	}
	if _, found, err := readIdempotency(tx, home(c), rec.Actor, rec.Key, now); err != nil || found {
		if err == nil {
			err = fmt.Errorf("%w: idempotency key of %q under %q has a record", engine.ErrConflict, rec.Actor, home(c))
		}
		return err
	}
	return nil
}

// readIdempotency returns the unexpired record of actor's key under home.
func readIdempotency(tx *bolt.Tx, home, actor, key string, now time.Time) (engine.IdempotencyRecord, bool, error) {
	var stored storedIdempotency
	found, err := getJSON(tx.Bucket(bucketIdempotency), compoundKey(home, actor, key), &stored)
	if err != nil || !found || !stored.ExpiresAt.After(now) {
		return engine.IdempotencyRecord{}, false, err
	}
	return stored.Record, true, nil
}

// putRecords keeps the change's commit and idempotency records, each
// indexed by its expiry for sweepRecords.
func putRecords(tx *bolt.Tx, c engine.Change, now time.Time) error {
	index := tx.Bucket(bucketRecordExpiry)
	if c.ID != "" {
		key, expires := compoundKey(home(c), c.ID), timeKey(now.Add(engine.CommitRetention))
		if err := tx.Bucket(bucketCommits).Put(key, expires); err != nil {
			return err
		}
		if err := index.Put(join(expires, []byte{tagCommit}, key), nil); err != nil {
			return err
		}
	}
	if rec := c.Idempotency; rec != nil {
		key := compoundKey(home(c), rec.Actor, rec.Key)
		expires := now.Add(max(rec.Retention, time.Millisecond))
		if err := putJSON(tx.Bucket(bucketIdempotency), key, storedIdempotency{Record: *rec, ExpiresAt: expires}); err != nil {
			return err
		}
		if err := index.Put(join(timeKey(expires), []byte{tagIdempotency}, key), nil); err != nil {
			return err
		}
	}
	return nil
}

// sweepRecords deletes up to sweepBatch commit and idempotency records
// whose retention has passed, oldest first.
func sweepRecords(tx *bolt.Tx, now time.Time) error {
	index := tx.Bucket(bucketRecordExpiry)
	c := index.Cursor()
	limit := timeKey(now)
	var done [][]byte
	for k, _ := c.First(); k != nil && len(done) < sweepBatch && bytes.Compare(k[:timeKeyLen], limit) <= 0; k, _ = c.Next() {
		done = append(done, slices.Clone(k))
	}
	for _, k := range done {
		bucket := bucketCommits
		if k[timeKeyLen] == tagIdempotency {
			bucket = bucketIdempotency
		}
		key := k[timeKeyLen+1:]
		// A record written again later has a later expiry: keep it.
		if raw := tx.Bucket(bucket).Get(key); raw != nil && !expiredAt(bucket, raw, k[:timeKeyLen]) {
			if err := index.Delete(k); err != nil {
				return err
			}
			continue
		}
		if err := tx.Bucket(bucket).Delete(key); err != nil {
			return err
		}
		if err := index.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// expiredAt reports whether the stored record raw expires at the instant
// indexed (timeKey bytes) or before.
func expiredAt(bucket, raw, indexed []byte) bool {
	if bytes.Equal(bucket, bucketCommits) {
		return bytes.Compare(raw, indexed) <= 0
	}
	var stored storedIdempotency
	if decode(nil, raw, &stored) != nil {
		return true
	}
	return bytes.Compare(timeKey(stored.ExpiresAt), indexed) <= 0
}

// checkRequesterVersions fails with ErrConflict when a requester's requests
// moved on since the command read them.
func checkRequesterVersions(tx *bolt.Tx, c engine.Change) error {
	refs := slices.SortedFunc(maps.Keys(c.RequesterVersions), func(a, b engine.RequesterRef) int {
		return strings.Compare(a.Account+"\x00"+a.Requester, b.Account+"\x00"+b.Requester)
	})
	for _, ref := range refs {
		read, current := c.RequesterVersions[ref], readUint(tx.Bucket(bucketRequesterVersions), compoundKey(ref.Account, ref.Requester))
		if read != current {
			return fmt.Errorf("%w: the requests of %q on %q are at version %d, the change was decided at %d",
				engine.ErrConflict, ref.Requester, ref.Account, current, read)
		}
	}
	return nil
}

// bumpRequesterVersions increments, once per change, the version of the
// requests of each requester on each account the change writes a request of.
func bumpRequesterVersions(tx *bolt.Tx, c engine.Change) error {
	b := tx.Bucket(bucketRequesterVersions)
	seen := map[engine.RequesterRef]bool{}
	for _, r := range c.Requests {
		ref := engine.RequesterRef{Account: r.Account, Requester: r.Requester}
		if seen[ref] {
			continue
		}
		seen[ref] = true
		key := compoundKey(r.Account, r.Requester)
		if err := b.Put(key, binary.BigEndian.AppendUint64(nil, readUint(b, key)+1)); err != nil {
			return err
		}
	}
	return nil
}

// readRequesterVersions returns the versions of account's requesters.
func readRequesterVersions(tx *bolt.Tx, account string) map[string]uint64 {
	prefix := compoundKey(account)
	out := map[string]uint64{}
	c := tx.Bucket(bucketRequesterVersions).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		rest := k[len(prefix):]
		n, size := binary.Uvarint(rest)
		if size <= 0 || len(v) != 8 || uint64(len(rest)-size) != n {
			continue
		}
		out[string(rest[size:])] = binary.BigEndian.Uint64(v)
	}
	return out
}

// readUint reads a big-endian counter, 0 when missing.
func readUint(b *bolt.Bucket, key []byte) uint64 {
	raw := b.Get(key)
	if len(raw) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(raw)
}

// Idempotency returns the record Commit kept for actor's key under account
// home, or an error wrapping engine.ErrNotFound when there is none or its
// retention has passed.
func (s *Store) Idempotency(ctx context.Context, home, actor, key string) (engine.IdempotencyRecord, error) {
	var (
		rec   engine.IdempotencyRecord
		found bool
	)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		rec, found, err = readIdempotency(tx, home, actor, key, time.Now())
		return err
	})
	if err != nil {
		return engine.IdempotencyRecord{}, err
	}
	if !found {
		return engine.IdempotencyRecord{}, fmt.Errorf("%w: idempotency record of %q under %q", engine.ErrNotFound, actor, home)
	}
	return rec, nil
}
