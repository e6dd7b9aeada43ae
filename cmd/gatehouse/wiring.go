package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// openStore opens the store the configuration names.
func openStore(cfg *Config) (engine.Store, error) {
	switch cfg.Store {
	case "embedded":
		return embedded.Open(cfg.DataDir)
	case "redis":
		return redisstore.Open(cfg.RedisURL,
			redisstore.WithReadTimeout(cfg.StoreReadTimeout), redisstore.WithWriteTimeout(cfg.StoreWriteTimeout))
	default:
		return nil, fmt.Errorf("--store must be embedded or redis, not %q", cfg.Store)
	}
}

// storeTimeouts are the engine options of --store-write-timeout and
// --store-read-timeout: the budget of one command and of /ready (R45).
func storeTimeouts(cfg *Config) []engine.Option {
	return []engine.Option{
		engine.WithCommandTimeout(cfg.StoreWriteTimeout),
		engine.WithReadyTimeout(cfg.StoreReadTimeout),
	}
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

// openEngine opens the store and the policy and returns an engine over them;
// close the store when done.
func openEngine(ctx context.Context, cfg *Config, opts ...engine.Option) (*engine.Engine, engine.Store, error) {
	p, err := loadPolicy(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	store, err := openStore(cfg)
	if err != nil {
		return nil, nil, err
	}
	opts = append(append([]engine.Option{engine.WithLogger(slog.Default())}, storeTimeouts(cfg)...), opts...)
	eng, err := engine.New(store, p, opts...)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return eng, store, nil
}
