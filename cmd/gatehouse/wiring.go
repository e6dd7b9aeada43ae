package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/storemetrics"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// openStore opens the store the configuration names, creating the embedded
// one when --data-dir holds none: for the commands meant to create a store
// (serve, seed). created reports that it did. extra are options of a Redis
// store (serve's client-side cache).
func openStore(cfg *Config, extra ...redisstore.Option) (store engine.Store, created bool, err error) {
	switch cfg.Store {
	case "embedded":
		_, statErr := os.Stat(filepath.Join(cfg.DataDir, embedded.FileName))
		s, err := embedded.Open(cfg.DataDir)
		if err != nil {
			return nil, false, err
		}
		return s, errors.Is(statErr, fs.ErrNotExist), nil
	case "redis":
		// go-redis prints its pool's dial failures to stderr on its own;
		// gatehouse reports the store's state itself (in its words, R45).
		goredis.SetLogger(debugLogger{slog.Default()})
		opts := append([]redisstore.Option{
			redisstore.WithReadTimeout(cfg.StoreReadTimeout), redisstore.WithWriteTimeout(cfg.StoreWriteTimeout),
			redisstore.WithMinReplicasAck(cfg.RedisMinReplicasAck, cfg.RedisMinReplicasAckTimeout),
		}, extra...)
		s, err := redisstore.Open(cfg.RedisURL, opts...)
		return s, false, err
	default:
		return nil, false, fmt.Errorf("--store must be embedded or redis, not %q", cfg.Store)
	}
}

// warnMissingReplicas logs a warning when --redis-min-replicas-ack asks
// for more replicas than the Redis primary has (on a Cluster, its master
// with the fewest): every write would then answer 503 outcome_unknown
// until enough connect (R40, R45). A Redis out of reach is left to /ready.
func warnMissingReplicas(ctx context.Context, store engine.Store, cfg *Config, log *slog.Logger) {
	rs, ok := store.(*redisstore.Store)
	if !ok || cfg.RedisMinReplicasAck == 0 {
		return
	}
	n, err := rs.ConnectedReplicas(ctx)
	if err != nil || n >= cfg.RedisMinReplicasAck {
		return
	}
	log.Warn(fmt.Sprintf("--redis-min-replicas-ack %d, but a Redis primary gatehouse writes to has %d connected replicas: "+
		"every write will answer 503 outcome_unknown until enough replicas connect; attach replicas, or lower the flag",
		cfg.RedisMinReplicasAck, n), "min_replicas_ack", cfg.RedisMinReplicasAck, "connected_replicas", n)
}

// relayInterval is how often one replica of a Redis deployment relays the
// outboxes that commits left unfinished (their replica died or lost Redis
// between a commit's script and the end of its outbox).
const relayInterval = time.Second

// startRelay runs the Redis store's outbox relay until ctx ends, one
// replica at a time (a lease); other stores have none.
func startRelay(ctx context.Context, store engine.Store, log *slog.Logger) {
	if s, ok := store.(*redisstore.Store); ok {
		go s.RunRelay(ctx, rand.Text(), relayInterval, func(err error) {
			log.Warn("redis outbox relay failed", "error", err)
		})
	}
}

// timeouts are the engine options of --decision-timeout,
// --store-write-timeout and --store-read-timeout: the budget of one
// decision, of one command and of /ready (R45); and of --evaluator, how a
// decision evaluates the policy.
func timeouts(cfg *Config) []engine.Option {
	return []engine.Option{
		engine.WithEvaluator(cfg.Evaluator),
		engine.WithDecisionTimeout(cfg.DecisionTimeout),
		engine.WithCommandTimeout(cfg.StoreWriteTimeout),
		engine.WithReadyTimeout(cfg.StoreReadTimeout),
	}
}

// debugLogger passes go-redis's own log lines to slog at debug level.
type debugLogger struct{ log *slog.Logger }

func (l debugLogger) Printf(ctx context.Context, format string, args ...any) {
	l.log.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, args...))
}

// openExistingStore opens the store the configuration names for a command
// that only reads it (decide, policy replay): an embedded store that does
// not exist is an error naming --data-dir, never created empty, since an
// empty store would answer every question wrongly ("unknown subject").
// elsewhere says what to do instead, e.g. "ask a running gatehouse with
// --remote --server URL".
func openExistingStore(cfg *Config, elsewhere string) (engine.Store, error) {
	if cfg.Store == "embedded" {
		path := filepath.Join(cfg.DataDir, embedded.FileName)
		switch _, err := os.Stat(path); {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("--data-dir %s (or GATEHOUSE_DATA_DIR) holds no gatehouse store (%s does not exist): "+
				"give the directory that gatehouse serve or seed uses, or %s", cfg.DataDir, path, elsewhere)
		case err != nil:
			return nil, fmt.Errorf("--data-dir %s: %w", cfg.DataDir, err)
		}
		s, err := embedded.Open(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("--data-dir %s: %w: %s", cfg.DataDir, err, elsewhere)
		}
		return s, nil
	}
	s, _, err := openStore(cfg)
	return s, err
}

// policyFiles reads the policy files: --policy-dir when given, else the
// built-in policies.
func policyFiles(cfg *Config) (map[string][]byte, string, error) {
	if cfg.PolicyDir == "" {
		files, err := engine.ReadPolicyFiles(policies.FS())
		return files, "built-in", err
	}
	files, err := engine.ReadPolicyFiles(os.DirFS(cfg.PolicyDir))
	return files, cfg.PolicyDir, err
}

// loadPolicy compiles the configured policy.
func loadPolicy(ctx context.Context, cfg *Config) (*engine.Policy, error) {
	files, source, err := policyFiles(cfg)
	if err != nil {
		return nil, err
	}
	return engine.CompilePolicy(ctx, files, source)
}

// openEngine opens the store, creating it when needed, and the policy and
// returns an engine over them; close the store when done. created reports
// that the store was created.
func openEngine(ctx context.Context, cfg *Config, opts ...engine.Option) (*engine.Engine, engine.Store, bool, error) {
	p, err := loadPolicy(ctx, cfg)
	if err != nil {
		return nil, nil, false, err
	}
	store, created, err := openStore(cfg)
	if err != nil {
		return nil, nil, false, err
	}
	opts = append(append([]engine.Option{engine.WithLogger(slog.Default())}, timeouts(cfg)...), opts...)
	eng, err := engine.New(store, p, opts...)
	if err != nil {
		store.Close()
		return nil, nil, false, err
	}
	return eng, store, created, nil
}

// openReadingEngine opens an existing store (openExistingStore) and returns
// an engine over it that decides as the store's replicas do: with
// --policy-dir when given, else with the policy revision active in the
// store, else (no revision was ever pushed) the built-in policies. Close
// the store when done; eng.Policy() says which revision it is.
func openReadingEngine(ctx context.Context, cfg *Config, elsewhere string, opts ...engine.Option) (*engine.Engine, engine.Store, error) {
	p, err := loadPolicy(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	store, err := openExistingStore(cfg, elsewhere)
	if err != nil {
		return nil, nil, err
	}
	opts = append(append([]engine.Option{engine.WithLogger(slog.Default())}, timeouts(cfg)...), opts...)
	eng, err := engine.New(store, p, opts...)
	if err == nil && cfg.PolicyDir == "" {
		if err = eng.SyncPolicy(ctx); err != nil {
			err = fmt.Errorf("load the policy revision active in the store (give --policy-dir to decide with a directory instead): %w", err)
		}
	}
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return eng, store, nil
}

// exportCache exports the Redis store's client-side cache in /metrics
// (storemetrics.RegisterCache), or says why a Redis store has none.
func exportCache(store engine.Store, cfg *Config, reg prometheus.Registerer, log *slog.Logger) {
	rs, ok := store.(*redisstore.Store)
	if !ok {
		return
	}
	if _, cached := rs.CacheStats(); !cached {
		if cfg.CacheMaxBytes > 0 {
			log.Info("no client-side cache: go-redis caches for a standalone Redis of database 0 and for Redis Cluster, not behind Sentinel; every decision reads Redis")
		}
		return
	}
	storemetrics.RegisterCache(reg, func() storemetrics.CacheStats {
		s, _ := rs.CacheStats()
		return storemetrics.CacheStats{
			Hits: s.Hits, Misses: s.Misses, Invalidations: s.Invalidations, Drops: s.Drops, ReadsAround: s.ReadsAround,
			Entries: s.Entries, Bytes: s.Bytes, MaxBytes: s.MaxBytes,
		}
	})
}
