package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

// readSnapshot reads what one decision needs from Redis itself, around any
// client-side cache, in one round trip: a pipeline of
// the subject's user, the account, the subject's membership and tenant
// grants, and the tenant's exclusivity flag, all but the user in the
// account's hash slot. Only when the account has a partner does a second
// round trip read the subject's membership in the partner. The caller
// bounds ctx (Store.reading).
func (s *Store) readSnapshot(ctx context.Context, subject, account string) (engine.Snapshot, error) {
	pipe := s.client.Pipeline()
	userCmd := pipe.Get(ctx, s.keys.user(subject))
	accountCmd := pipe.Get(ctx, s.keys.account(account))
	memberCmd := pipe.HGet(ctx, s.keys.members(account), subject)
	grantsCmd := pipe.HGet(ctx, s.keys.grants(account), subject)
	exclusiveCmd := pipe.Exists(ctx, s.keys.exclusive(account))
	if err := execPipe("snapshot", pipeExec(ctx, pipe)); err != nil {
		return engine.Snapshot{}, err
	}

	var snap engine.Snapshot
	var err error
	if snap.User, err = optional[engine.User]("user", userCmd); err != nil {
		return engine.Snapshot{}, err
	}
	if snap.Account, err = optional[engine.Account]("account", accountCmd); err != nil {
		return engine.Snapshot{}, err
	}
	if snap.Membership, err = optional[engine.Membership]("membership", memberCmd); err != nil {
		return engine.Snapshot{}, err
	}
	grants, err := optional[[]engine.Grant]("grants", grantsCmd)
	if err != nil {
		return engine.Snapshot{}, err
	}
	if grants != nil {
		snap.TenantGrants = *grants
	}
	exclusive, err := exclusiveCmd.Result()
	if err != nil {
		return engine.Snapshot{}, wrap("snapshot exclusive", err)
	}
	snap.TenantExclusive = exclusive > 0

	if snap.Account != nil && snap.Account.Partner != "" {
		partnerCmd := s.client.HGet(ctx, s.keys.members(snap.Account.Partner), subject)
		if snap.PartnerMembership, err = optional[engine.Membership]("partner membership", partnerCmd); err != nil {
			return engine.Snapshot{}, err
		}
	}
	return snap, nil
}

// AccountState reads the account, its members, its requests, its version and
// its requesters' versions in one MULTI/EXEC transaction, so all five are of
// one instant. Members are
// ordered by user, requests newest first.
func (s *Store) AccountState(ctx context.Context, account string, statuses ...string) (engine.AccountState, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	pipe := s.client.TxPipeline()
	accountCmd := pipe.Get(ctx, s.keys.account(account))
	membersCmd := pipe.HVals(ctx, s.keys.members(account))
	requestsCmd := pipe.HVals(ctx, s.keys.requests(account))
	versionCmd := pipe.Get(ctx, s.keys.version(account))
	requesterCmd := pipe.HGetAll(ctx, s.keys.requesterVersions(account))
	cmds, err := pipe.Exec(ctx)
	if err := wrapTx("account state", cmds, err); err != nil {
		return engine.AccountState{}, err
	}

	acct, err := required[engine.Account](fmt.Sprintf("account %q", account), accountCmd)
	if err != nil {
		return engine.AccountState{}, err
	}
	members, err := decodeAll[engine.Membership]("membership", membersCmd.Val())
	if err != nil {
		return engine.AccountState{}, err
	}
	requests, err := decodeAll[engine.AccessRequest]("request", requestsCmd.Val())
	if err != nil {
		return engine.AccountState{}, err
	}
	version, err := optionalUint(versionCmd)
	if err != nil {
		return engine.AccountState{}, wrap("account version", err)
	}
	requesters := make(map[string]uint64, len(requesterCmd.Val()))
	for user, raw := range requesterCmd.Val() {
		if requesters[user], err = strconv.ParseUint(raw, 10, 64); err != nil {
			return engine.AccountState{}, fmt.Errorf("redis: version of %s's requests on %s: %w", user, account, err)
		}
	}
	sortMembers(members)
	return engine.AccountState{
		Account:           acct,
		Members:           members,
		Requests:          newestFirst(withStatus(requests, statuses...)),
		Version:           version,
		RequesterVersions: requesters,
	}, nil
}

// pipeExec runs pipe and returns its first error.
func pipeExec(ctx context.Context, pipe redis.Pipeliner) error {
	_, err := pipe.Exec(ctx)
	return err
}

// optionalUint reads an integer counter, 0 when the key is missing.
func optionalUint(cmd *redis.StringCmd) (uint64, error) {
	v, err := cmd.Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}
