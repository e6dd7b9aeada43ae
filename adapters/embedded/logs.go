package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"

	bolt "go.etcd.io/bbolt"

	"github.com/gatehouse/gatehouse/engine"
)

// ListAudit lists the account's audit records oldest first (newest first
// when order is engine.Descending), starting after the cursor in that order
// ("" is the start of the listing), at most limit when limit is positive.
func (s *Store) ListAudit(ctx context.Context, account, after string, limit int, order engine.Order) ([]engine.AuditRecord, error) {
	var out []engine.AuditRecord
	err := s.listLog(ctx, bucketAudit, compoundKey(account), after, limit, order, func(_ *bolt.Tx, cursor string, k, v []byte) error {
		var rec engine.AuditRecord
		if err := decode(k, v, &rec); err != nil {
			return err
		}
		rec.Cursor = cursor
		out = append(out, rec)
		return nil
	})
	return out, err
}

// ListEvents lists all events oldest first (newest first when order is
// engine.Descending), starting after the cursor in that order ("" is the
// start of the listing), at most limit when limit is positive.
func (s *Store) ListEvents(ctx context.Context, after string, limit int, order engine.Order) ([]engine.Event, error) {
	var out []engine.Event
	err := s.listLog(ctx, bucketEvents, nil, after, limit, order, func(_ *bolt.Tx, cursor string, k, v []byte) error {
		var ev engine.Event
		if err := decode(k, v, &ev); err != nil {
			return err
		}
		ev.Cursor = cursor
		out = append(out, ev)
		return nil
	})
	return out, err
}

// ListEventsFor lists the events addressed to recipient oldest first (newest
// first when order is engine.Descending), starting after the cursor in that
// order ("" is the start of the listing), at most limit when limit is
// positive. It walks the recipient's prefix of events_by_recipient, so its
// cost does not grow with the events addressed to others.
func (s *Store) ListEventsFor(ctx context.Context, recipient, after string, limit int, order engine.Order) ([]engine.Event, error) {
	var out []engine.Event
	prefix := compoundKey(recipient)
	err := s.listLog(ctx, bucketEventsTo, prefix, after, limit, order, func(tx *bolt.Tx, cursor string, k, _ []byte) error {
		key := k[len(prefix):]
		var ev engine.Event
		found, err := getJSON(tx.Bucket(bucketEvents), key, &ev)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("embedded: event %s indexed for %q is missing", cursor, recipient)
		}
		ev.Cursor = cursor
		out = append(out, ev)
		return nil
	})
	return out, err
}

// listLog walks the keys prefix + sequence number of bucket from the one
// after the cursor in the listing's order (ascending sequence numbers, or
// descending for engine.Descending), calling fn with the transaction, each
// record and its cursor. The cursor is exclusive in both directions.
func (s *Store) listLog(ctx context.Context, bucket, prefix []byte, after string, limit int, order engine.Order, fn func(tx *bolt.Tx, cursor string, k, v []byte) error) error {
	seq, err := parseCursor(after)
	if err != nil {
		return err
	}
	desc := order == engine.Descending
	if !desc && seq == math.MaxUint64 || desc && after != "" && seq == 0 {
		return nil // nothing follows the last (or precedes the first) sequence number
	}
	return s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		var k, v []byte
		next := c.Next
		switch {
		case !desc:
			k, v = c.Seek(join(prefix, seqKey(seq+1)))
		case after == "":
			k, v = lastWithPrefix(c, prefix)
			next = c.Prev
		default:
			// The first key before prefix+seq: Seek lands on or past it.
			if k, v = c.Seek(join(prefix, seqKey(seq))); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
			next = c.Prev
		}
		for n := 0; k != nil && bytes.HasPrefix(k, prefix); k, v = next() {
			if limit > 0 && n == limit {
				break
			}
			if err := fn(tx, formatCursor(binary.BigEndian.Uint64(k[len(prefix):])), k, v); err != nil {
				return err
			}
			n++
		}
		return nil
	})
}
