package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

// Kinds of entries of the expiry index.
const (
	expiryRequest    = "r"
	expiryMembership = "m"
)

// expiryMember names one entry of the expiry index: the JSON array
// [kind, account, request id or user], unambiguous whatever the ids hold.
func expiryMember(kind, account, id string) string {
	b, _ := json.Marshal([3]string{kind, account, id}) // marshalling strings cannot fail
	return string(b)
}

// expiryScore is the sorted-set score of an expiry: microseconds since the
// epoch, exact in a float64 for any date of interest. The exact instant is
// kept beside it in the expiry-at hash.
func expiryScore(at time.Time) string {
	return strconv.FormatInt(at.UnixMicro(), 10)
}

// expiryPage is how many index entries DueExpiries reads per round trip.
const expiryPage = 256

// DueExpiries lists granted requests and memberships whose expiry is at or
// before now, oldest first, at most limit of them (all when limit <= 0).
//
// The sorted set finds candidates by microsecond; the exact instant from
// the expiry-at hash decides, so that an expiry later than now within the
// same microsecond is not reported early.
func (s *Store) DueExpiries(ctx context.Context, now time.Time, limit int) ([]engine.Expiry, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	var due []engine.Expiry
	for offset := int64(0); ; offset += expiryPage {
		members, err := s.client.ZRangeByScore(ctx, s.keys.expiries(), &redis.ZRangeBy{
			Min: "-inf", Max: expiryScore(now), Offset: offset, Count: expiryPage,
		}).Result()
		if err != nil {
			return nil, wrap("due expiries", err)
		}
		if len(members) == 0 {
			break
		}
		ats, err := s.client.HMGet(ctx, s.keys.expiryAt(), members...).Result()
		if err != nil {
			return nil, wrap("due expiries", err)
		}
		for i, member := range members {
			at, ok := ats[i].(string)
			if !ok {
				continue // removed by a commit since the range was read
			}
			e, err := decodeExpiry(member, at)
			if err != nil {
				return nil, err
			}
			if !e.At.After(now) {
				due = append(due, e)
			}
		}
		if len(members) < expiryPage || (limit > 0 && len(due) >= limit) {
			break
		}
	}
	slices.SortStableFunc(due, func(a, b engine.Expiry) int { return a.At.Compare(b.At) })
	if limit > 0 && len(due) > limit {
		due = due[:limit]
	}
	return due, nil
}

func decodeExpiry(member, at string) (engine.Expiry, error) {
	var name [3]string
	if err := json.Unmarshal([]byte(member), &name); err != nil {
		return engine.Expiry{}, fmt.Errorf("redis: decode expiry %q: %w", member, err)
	}
	e := engine.Expiry{Account: name[1]}
	if err := e.At.UnmarshalText([]byte(at)); err != nil {
		return engine.Expiry{}, fmt.Errorf("redis: decode expiry %q: %w", member, err)
	}
	switch name[0] {
	case expiryRequest:
		e.Request = name[2]
	case expiryMembership:
		e.User = name[2]
	default:
		return engine.Expiry{}, errors.New("redis: decode expiry " + strconv.Quote(member) + ": unknown kind")
	}
	return e, nil
}
