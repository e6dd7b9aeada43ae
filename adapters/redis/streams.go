package redis

import (
	"context"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

// ListAudit lists account's audit records oldest first, after the record
// whose Cursor is after (from the start when after is empty), at most limit
// of them (all when limit <= 0). A malformed cursor is an error wrapping
// engine.ErrInvalid.
func (s *Store) ListAudit(ctx context.Context, account, after string, limit int) ([]engine.AuditRecord, error) {
	entries, err := s.readStream(ctx, s.keys.audit(account), after, limit)
	if err != nil {
		return nil, err
	}
	return decodeEntries[engine.AuditRecord](entries, auditField, func(r *engine.AuditRecord, c string) { r.Cursor = c })
}

// ListEvents lists events oldest first, after the event whose Cursor is
// after, at most limit of them (all when limit <= 0).
func (s *Store) ListEvents(ctx context.Context, after string, limit int) ([]engine.Event, error) {
	entries, err := s.readStream(ctx, s.keys.events(), after, limit)
	if err != nil {
		return nil, err
	}
	return decodeEntries[engine.Event](entries, eventField, func(e *engine.Event, c string) { e.Cursor = c })
}

// ListEventsFor lists the events addressed to recipient oldest first, after
// the event whose Cursor is after, at most limit of them (all when limit <=
// 0). It reads the recipient's own stream, whose entries carry their ids in
// the global one, so its cost does not grow with the events of others.
func (s *Store) ListEventsFor(ctx context.Context, recipient, after string, limit int) ([]engine.Event, error) {
	entries, err := s.readStream(ctx, s.keys.userEvents(recipient), after, limit)
	if err != nil {
		return nil, err
	}
	return decodeEntries[engine.Event](entries, eventField, func(e *engine.Event, c string) { e.Cursor = c })
}

func (s *Store) readStream(ctx context.Context, key, after string, limit int) ([]redis.XMessage, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	start := "-"
	if after != "" {
		if !isStreamID(after) {
			return nil, engine.Invalid("after", "%q is not a cursor this store returned", after)
		}
		start = "(" + after
	}
	var cmd *redis.XMessageSliceCmd
	if limit > 0 {
		cmd = s.client.XRangeN(ctx, key, start, "+", int64(limit))
	} else {
		cmd = s.client.XRange(ctx, key, start, "+")
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

// isStreamID reports whether cursor is a stream entry id, <ms>-<seq>, the
// only cursor this store hands out.
func isStreamID(cursor string) bool {
	ms, seq, ok := strings.Cut(cursor, "-")
	if !ok {
		return false
	}
	_, errMS := strconv.ParseUint(ms, 10, 64)
	_, errSeq := strconv.ParseUint(seq, 10, 64)
	return errMS == nil && errSeq == nil
}
