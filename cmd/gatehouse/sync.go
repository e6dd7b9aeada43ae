package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/engine"
)

// Policy sync between replicas (issue 4): how often a replica asks the store
// for the active revision when notifications are lost, and how long it
// waits for the store at start.
const (
	policyPollInterval = time.Second
	policySyncTimeout  = 5 * time.Second
)

// startPolicySync makes the replica follow the revisions pushed to the
// store, unless it follows --policy-dir: a directory wins, and that replica
// ignores pushes (it still stores and activates the ones sent to it, for
// the others). Before it returns, the revision active in the store, if
// any, is loaded, so that the first decisions use it. The returned
// function stops following and waits until it has stopped; call it before
// the store is closed.
func startPolicySync(ctx context.Context, cfg *Config, eng *engine.Engine, log *slog.Logger) (stop func()) {
	if cfg.PolicyDir != "" {
		log.Info("policy revisions pushed to the store are not followed: this replica follows --policy-dir",
			"policy_dir", cfg.PolicyDir)
		return func() {}
	}
	syncCtx, cancel := context.WithTimeout(ctx, policySyncTimeout)
	if err := eng.SyncPolicy(syncCtx); err != nil {
		log.Warn("could not load the policy revision active in the store; serving the built-in one until the store answers",
			"error", err)
	}
	cancel()

	ctx, cancel = context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := eng.FollowPolicies(ctx, policyPollInterval, log); err != nil {
			log.Error("policy sync stopped", "error", err)
		}
	})
	return func() {
		cancel()
		wg.Wait()
	}
}
