package redis

import (
	"context"
	"math"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

// ListAudit lists account's audit records oldest first (newest first when
// order is engine.Descending: XREVRANGE), after the record whose Cursor is
// after in that order (from the start of the listing when after is empty),
// at most limit of them (all when limit <= 0). A malformed cursor is an
// error wrapping engine.ErrInvalid.
func (s *Store) ListAudit(ctx context.Context, account, after string, limit int, order engine.Order) ([]engine.AuditRecord, error) {
	entries, err := s.readStream(ctx, s.keys.audit(account), after, limit, order)
	if err != nil {
		return nil, err
	}
	return decodeEntries[engine.AuditRecord](entries, auditField, func(r *engine.AuditRecord, c string) { r.Cursor = c })
}

// ListEvents lists events oldest first (newest first when order is
// engine.Descending), after the event whose Cursor is after in that order,
// at most limit of them (all when limit <= 0).
func (s *Store) ListEvents(ctx context.Context, after string, limit int, order engine.Order) ([]engine.Event, error) {
	entries, err := s.readStream(ctx, s.keys.events(), after, limit, order)
	if err != nil {
		return nil, err
	}
	return decodeEntries[engine.Event](entries, eventField, func(e *engine.Event, c string) { e.Cursor = c })
}

// ListEventsFor lists the events addressed to recipient oldest first (newest
// first when order is engine.Descending), after the event whose Cursor is
// after in that order, at most limit of them (all when limit <= 0). It reads the recipient's own stream, whose entries carry their ids in
// the global one, so its cost does not grow with the events of others.
func (s *Store) ListEventsFor(ctx context.Context, recipient, after string, limit int, order engine.Order) ([]engine.Event, error) {
	entries, err := s.readStream(ctx, s.keys.userEvents(recipient), after, limit, order)
	if err != nil {
		return nil, err
	}
	return decodeEntries[engine.Event](entries, eventField, func(e *engine.Event, c string) { e.Cursor = c })
}

// readStream reads a stream from the entry after the cursor in the
// listing's order: XRANGE (after, +] oldest first, or XREVRANGE [-, after)
// newest first for engine.Descending. The cursor is exclusive both ways.
func (s *Store) readStream(ctx context.Context, key, after string, limit int, order engine.Order) ([]redis.XMessage, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	desc := order == engine.Descending
	from := "-"
	if desc {
		from = "+"
	}
	if after != "" {
		ms, seq, ok := parseStreamID(after)
		if !ok {
			return nil, engine.Invalid("after", "%q is not a cursor this API returned", after)
		}
		// Redis refuses an exclusive bound past the ends of the id space;
		// nothing lies beyond them.
		if !desc && ms == math.MaxUint64 && seq == math.MaxUint64 || desc && ms == 0 && seq == 0 {
			return nil, nil
		}
		from = "(" + after
	}
	var cmd *redis.XMessageSliceCmd
	switch {
	case desc && limit > 0:
		cmd = s.client.XRevRangeN(ctx, key, from, "-", int64(limit))
	case desc:
		cmd = s.client.XRevRange(ctx, key, from, "-")
	case limit > 0:
		cmd = s.client.XRangeN(ctx, key, from, "+", int64(limit))
	default:
		cmd = s.client.XRange(ctx, key, from, "+")
	}
	entries, err := cmd.Result()
	if err != nil {
		return nil, wrap("read stream", err)
	}
	return entries, nil
}

// decodeEntries decodes the JSON in field of every entry and sets its cursor.
func decodeEntries[T any](entries []redis.XMessage, field string, setCursor func(*T, string)) ([]T, error) {
	out := make([]T, 0, len(entries))
	for _, entry := range entries {
		data, _ := entry.Values[field].(string) // a missing field fails to decode below
		v, err := decode[T](field, data)
		if err != nil {
			return nil, err
		}
		setCursor(&v, entry.ID)
		out = append(out, v)
	}
	return out, nil
}

// parseStreamID reads a stream entry id, <ms>-<seq>, the only cursor this
// store hands out.
func parseStreamID(cursor string) (ms, seq uint64, ok bool) {
	msPart, seqPart, found := strings.Cut(cursor, "-")
	if !found {
		return 0, 0, false
	}
	ms, errMS := strconv.ParseUint(msPart, 10, 64)
	seq, errSeq := strconv.ParseUint(seqPart, 10, 64)
	return ms, seq, errMS == nil && errSeq == nil
}
