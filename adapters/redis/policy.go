package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/engine"
)

// Fields of a revision's hash.
const (
	policyMetaField  = "meta"
	policyFilesField = "files"
)

// activateScript sets the active policy and publishes the activation, in
// one step, when the revision exists. KEYS: revision hash, active key.
// ARGV: activation JSON, channel. Returns 1, or 0 for an unknown revision.
var activateScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1
`)

// SavePolicy stores a revision in one MULTI/EXEC: its metadata and files
// with HSETNX and its place in the revision index with ZADD NX, so saving a
// revision that exists already changes nothing and succeeds.
func (s *Store) SavePolicy(ctx context.Context, rev engine.PolicyRevision) error {
	if rev.Revision == "" {
		return engine.Invalid("revision", "is empty")
	}
	files, err := json.Marshal(rev.Files)
	if err != nil {
		return fmt.Errorf("redis: encode policy files: %w", err)
	}
	listed := rev
	listed.Files = nil
	meta, err := json.Marshal(listed)
	if err != nil {
		return fmt.Errorf("redis: encode policy revision: %w", err)
	}
	key := s.keys.policyRevision(rev.Revision)
	ctx, cancel := s.writing(ctx)
	defer cancel()
	cmds, err := s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSetNX(ctx, key, policyMetaField, meta)
		p.HSetNX(ctx, key, policyFilesField, files)
		p.ZAddNX(ctx, s.keys.policyRevisions(), redis.Z{Score: float64(rev.CreatedAt.UnixMicro()), Member: rev.Revision})
		return nil
	})
	if redis.IsExecAbortError(err) {
		// Refused whole before it ran (LOADING, say): nothing was written.
		return wrapTx("save policy", cmds, err)
	}
	return wrapSent("save policy", err)
}

// GetPolicy returns a revision with its files.
func (s *Store) GetPolicy(ctx context.Context, revision string) (engine.PolicyRevision, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	values, err := s.client.HMGet(ctx, s.keys.policyRevision(revision), policyMetaField, policyFilesField).Result()
	if err != nil {
		return engine.PolicyRevision{}, wrap("get policy", err)
	}
	meta, okMeta := values[0].(string)
	files, okFiles := values[1].(string)
	if !okMeta || !okFiles {
		return engine.PolicyRevision{}, fmt.Errorf("redis: policy revision %q: %w", revision, engine.ErrNotFound)
	}
	rev, err := decode[engine.PolicyRevision]("policy revision", meta)
	if err != nil {
		return engine.PolicyRevision{}, err
	}
	if rev.Files, err = decode[map[string][]byte]("policy files", files); err != nil {
		return engine.PolicyRevision{}, err
	}
	return rev, nil
}

// ListPolicies lists revisions newest first, without files: one ZREVRANGE
// of the index, then one pipeline reading each revision's metadata.
func (s *Store) ListPolicies(ctx context.Context, limit int) ([]engine.PolicyRevision, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	stop := int64(-1)
	if limit > 0 {
		stop = int64(limit) - 1
	}
	ids, err := s.client.ZRevRange(ctx, s.keys.policyRevisions(), 0, stop).Result()
	if err != nil {
		return nil, wrap("list policies", err)
	}
	cmds := make([]*redis.StringCmd, len(ids))
	if len(ids) > 0 {
		_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range ids {
				cmds[i] = p.HGet(ctx, s.keys.policyRevision(id), policyMetaField)
			}
			return nil
		})
		if err := execPipe("list policies", err); err != nil {
			return nil, err
		}
	}
	out := make([]engine.PolicyRevision, 0, len(ids))
	for _, cmd := range cmds {
		rev, err := required[engine.PolicyRevision]("list policies", cmd)
		if err != nil {
			return nil, err
		}
		out = append(out, rev)
	}
	return out, nil
}

// ActivatePolicy sets the active policy and publishes the activation to
// every replica's WatchPolicy, in one script.
func (s *Store) ActivatePolicy(ctx context.Context, a engine.PolicyActivation) error {
	if a.Revision == "" {
		return engine.Invalid("revision", "is empty")
	}
	payload, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("redis: encode policy activation: %w", err)
	}
	keys := []string{s.keys.policyRevision(a.Revision), s.keys.policyActive()}
	ctx, cancel := s.writing(ctx)
	defer cancel()
	done, err := activateScript.Run(ctx, s.client, keys, payload, s.keys.policyChannel()).Int()
	if err != nil {
		return wrapSent("activate policy", err)
	}
	if done == 0 {
		return fmt.Errorf("redis: policy revision %q: %w", a.Revision, engine.ErrNotFound)
	}
	return s.confirm(ctx, "activate policy", s.keys.policyActive())
}

// ActivePolicy returns the latest activation.
func (s *Store) ActivePolicy(ctx context.Context) (engine.PolicyActivation, error) {
	ctx, cancel := s.reading(ctx)
	defer cancel()
	a, err := required[engine.PolicyActivation]("active policy", s.client.Get(ctx, s.keys.policyActive()))
	if errors.Is(err, engine.ErrNotFound) {
		return a, fmt.Errorf("redis: no policy was ever activated: %w", engine.ErrNotFound)
	}
	return a, err
}
