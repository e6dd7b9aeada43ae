package redis

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

// GetUser returns the user id, or an error wrapping engine.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (engine.User, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	return required[engine.User](fmt.Sprintf("user %q", id), s.client.Get(ctx, s.keys.user(id)))
}

// GetAccount returns the account id, or an error wrapping engine.ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, id string) (engine.Account, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	return required[engine.Account](fmt.Sprintf("account %q", id), s.client.Get(ctx, s.keys.account(id)))
}

// GetMember returns user's membership in account, or an error wrapping
// engine.ErrNotFound.
func (s *Store) GetMember(ctx context.Context, account, user string) (engine.Membership, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	return required[engine.Membership](fmt.Sprintf("member %q of %q", user, account),
		s.client.HGet(ctx, s.keys.members(account), user))
}

// ListMembers returns the members of account ordered by user; an unknown
// account has none.
func (s *Store) ListMembers(ctx context.Context, account string) ([]engine.Membership, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	values, err := s.client.HVals(ctx, s.keys.members(account)).Result()
	if err != nil {
		return nil, wrap("list members", err)
	}
	members, err := decodeAll[engine.Membership]("membership", values)
	if err != nil {
		return nil, err
	}
	sortMembers(members)
	return members, nil
}

// GetRequest returns the request id, or an error wrapping engine.ErrNotFound.
// It takes two round trips: the global index names the request's account,
// whose hash holds the request.
func (s *Store) GetRequest(ctx context.Context, id string) (engine.AccessRequest, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	op := fmt.Sprintf("request %q", id)
	account, err := s.client.HGet(ctx, s.keys.requestIndex(), id).Result()
	if err != nil {
		return engine.AccessRequest{}, wrap(op, err)
	}
	return required[engine.AccessRequest](op, s.client.HGet(ctx, s.keys.requests(account), id))
}

// ListRequests lists the requests of filter.Account or of filter.Requester,
// newest first. Setting both or neither is an error wrapping
// engine.ErrInvalid; a Limit of 0 or less means no limit.
func (s *Store) ListRequests(ctx context.Context, filter engine.RequestFilter) ([]engine.AccessRequest, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	var requests []engine.AccessRequest
	var err error
	switch {
	case (filter.Account == "") == (filter.Requester == ""):
		return nil, engine.Invalid("filter", "set exactly one of account and requester")
	case filter.Account != "":
		requests, err = s.accountRequests(ctx, filter.Account)
	default:
		requests, err = s.requesterRequests(ctx, filter.Requester)
	}
	if err != nil {
		return nil, err
	}
	requests = newestFirst(withStatus(requests, filter.Status))
	if filter.Limit > 0 && len(requests) > filter.Limit {
		requests = requests[:filter.Limit]
	}
	return requests, nil
}

func (s *Store) accountRequests(ctx context.Context, account string) ([]engine.AccessRequest, error) {
	values, err := s.client.HVals(ctx, s.keys.requests(account)).Result()
	if err != nil {
		return nil, wrap("list requests", err)
	}
	return decodeAll[engine.AccessRequest]("request", values)
}

// requesterRequests reads the requester's index (request id -> account),
// then every request it names in one pipeline.
func (s *Store) requesterRequests(ctx context.Context, requester string) ([]engine.AccessRequest, error) {
	index, err := s.client.HGetAll(ctx, s.keys.userRequests(requester)).Result()
	if err != nil {
		return nil, wrap("list requests", err)
	}
	if len(index) == 0 {
		return nil, nil
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.StringCmd, 0, len(index))
	for id, account := range index {
		cmds = append(cmds, pipe.HGet(ctx, s.keys.requests(account), id))
	}
	if err := execPipe("list requests", pipeExec(ctx, pipe)); err != nil {
		return nil, err
	}
	requests := make([]engine.AccessRequest, 0, len(cmds))
	for _, cmd := range cmds {
		r, err := optional[engine.AccessRequest]("request", cmd)
		if err != nil {
			return nil, err
		}
		if r != nil {
			requests = append(requests, *r)
		}
	}
	return requests, nil
}

// withStatus keeps the requests whose status is one of statuses; no status,
// or only empty ones, keeps them all.
func withStatus(requests []engine.AccessRequest, statuses ...string) []engine.AccessRequest {
	statuses = slices.DeleteFunc(slices.Clone(statuses), func(s string) bool { return s == "" })
	if len(statuses) == 0 {
		return requests
	}
	return slices.DeleteFunc(requests, func(r engine.AccessRequest) bool {
		return !slices.Contains(statuses, r.Status)
	})
}

// newestFirst orders requests by creation time, newest first, then by id
// descending so that equal times keep a stable order.
func newestFirst(requests []engine.AccessRequest) []engine.AccessRequest {
	slices.SortFunc(requests, func(a, b engine.AccessRequest) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return requests
}

func sortMembers(members []engine.Membership) {
	slices.SortFunc(members, func(a, b engine.Membership) int { return strings.Compare(a.User, b.User) })
}
