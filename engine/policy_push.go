package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The policy commands, as the admission policy sees them in
// input.command.type (POLICIES.md, "Pushing a change").
const (
	CommandPushPolicy     = "push_policy"
	CommandListPolicies   = "list_policies"
	CommandRollbackPolicy = "rollback_policy"
	CommandPolicyStatus   = "policy_status"
)

// PolicySourcePush is the Source of a revision stored by PushPolicy.
const PolicySourcePush = "push"

// policyAdminAccountRef is where the policy names the account whose
// policy_admin members may push, list and roll back revisions.
var policyAdminAccountRef = ast.MustParseRef("data.gatehouse.config.policy_admin_account")

// StoredPolicy is a revision kept in the store, as listings show it.
type StoredPolicy struct {
	PolicyRevision
	// Active is true for the revision the store says every replica serves.
	Active bool `json:"active"`
}

// Status is the state of this replica that GET /v1/status reports.
type Status struct {
	Policy PolicyStatus
	// FollowsStore is true while this replica activates the revisions
	// activated in the store (FollowPolicies runs), false when it follows
	// a policy directory.
	FollowsStore bool
	// StoreError is why the store does not answer, empty when it does.
	StoreError string
}

// PushPolicy validates files as a hot reload does (strict compile, every
// Rego test passes) and, if the active policy entitles actor to push, stores
// them as a revision with actor as its author and activates it for every
// replica sharing the store. A replica that follows the store
// (FollowPolicies) serves it before PushPolicy returns; the others activate
// it on their own. A refused policy is a *ViolationError listing the compile
// errors and failing tests with file and line, and nothing is stored.
// Should two pushes race, the store's order wins: a follower that served
// the older one corrects itself at its next poll.
//
// The first push to a store also stores the revision this replica served
// until then (Source "baseline: ..."), so that a rollback can return to it.
func (e *Engine) PushPolicy(ctx context.Context, actor string, files map[string][]byte) (StoredPolicy, error) {
	if err := checkActor(actor); err != nil {
		return StoredPolicy{}, err
	}
	if err := checkPolicyFiles(files); err != nil {
		return StoredPolicy{}, err
	}
	revision := Revision(files)
	active := e.policy.Load()
	command := doc{"type": CommandPushPolicy, "revision": revision, "files": fileNames(files)}
	if err := e.authorizePolicy(ctx, active, actor, command); err != nil {
		return StoredPolicy{}, err
	}
	p, err := e.validatePolicy(ctx, files, storeSource(revision, actor))
	if err != nil {
		return StoredPolicy{}, err
	}
	if err := e.saveBaseline(ctx, active, actor, revision); err != nil {
		return StoredPolicy{}, err
	}
	now := e.now().UTC()
	rev := PolicyRevision{Revision: revision, Files: files, Author: actor, CreatedAt: now, Source: PolicySourcePush}
	if err := e.store.SavePolicy(ctx, rev); err != nil {
		return StoredPolicy{}, err
	}
	if err := e.store.ActivatePolicy(ctx, PolicyActivation{Revision: revision, ActivatedBy: actor, ActivatedAt: now}); err != nil {
		return StoredPolicy{}, err
	}
	if e.following.Load() {
		e.install(p)
	}
	// Saving is idempotent: files pushed before keep their first author.
	stored, err := e.store.GetPolicy(ctx, revision)
	if err != nil {
		return StoredPolicy{}, err
	}
	stored.Files = nil
	return StoredPolicy{PolicyRevision: stored, Active: true}, nil
}

// ListPolicies lists the stored revisions, newest first, at most limit of
// them (DefaultListLimit when limit <= 0), marking the active one, to
// those the active policy entitles (policy_admin, system administrators).
func (e *Engine) ListPolicies(ctx context.Context, actor string, limit int) ([]StoredPolicy, error) {
	if err := checkActor(actor); err != nil {
		return nil, err
	}
	if err := e.authorizePolicy(ctx, e.policy.Load(), actor, doc{"type": CommandListPolicies}); err != nil {
		return nil, err
	}
	revs, err := e.store.ListPolicies(ctx, listLimit(limit))
	if err != nil {
		return nil, err
	}
	active, err := e.store.ActivePolicy(ctx)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	out := make([]StoredPolicy, len(revs))
	for i, r := range revs {
		r.Files = nil
		out[i] = StoredPolicy{PolicyRevision: r, Active: r.Revision == active.Revision}
	}
	return out, nil
}

// RollbackPolicy makes a revision stored earlier the active one again, for
// every replica sharing the store, after checking it as PushPolicy does
// (the binary may have changed since it was pushed). ErrNotFound when the
// revision was never stored.
func (e *Engine) RollbackPolicy(ctx context.Context, actor, revision string) (StoredPolicy, error) {
	if err := checkActor(actor); err != nil {
		return StoredPolicy{}, err
	}
	if err := checkID("revision", revision); err != nil {
		return StoredPolicy{}, err
	}
	command := doc{"type": CommandRollbackPolicy, "revision": revision}
	if err := e.authorizePolicy(ctx, e.policy.Load(), actor, command); err != nil {
		return StoredPolicy{}, err
	}
	rev, err := e.store.GetPolicy(ctx, revision)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return StoredPolicy{}, notFound(err, "policy revision %s not found: gatehouse policy list shows the revisions pushed", revision)
		}
		return StoredPolicy{}, err
	}
	p, err := e.validatePolicy(ctx, rev.Files, storeSource(revision, actor))
	if err != nil {
		return StoredPolicy{}, err
	}
	if p.Revision != revision {
		return StoredPolicy{}, fmt.Errorf("policy revision %q: the stored files are revision %s", revision, p.Revision)
	}
	a := PolicyActivation{Revision: revision, ActivatedBy: actor, ActivatedAt: e.now().UTC()}
	if err := e.store.ActivatePolicy(ctx, a); err != nil {
		return StoredPolicy{}, err
	}
	if e.following.Load() {
		e.install(p)
	}
	rev.Files = nil
	return StoredPolicy{PolicyRevision: rev, Active: true}, nil
}

// Status reports this replica's policy revision, how reloads went and
// whether the store answers, to those the active policy entitles. While the
// store is unavailable, the actor is judged without their directory record
// (system administrators only, in the built-in policy), so that an outage
// can still be looked at.
func (e *Engine) Status(ctx context.Context, actor string) (Status, error) {
	if err := checkActor(actor); err != nil {
		return Status{}, err
	}
	p := e.policy.Load()
	command := doc{"type": CommandPolicyStatus}
	err := e.authorizePolicy(ctx, p, actor, command)
	if errors.Is(err, ErrUnavailable) {
		in := commandInput(e.now(), doc{"id": actor, "system_admin": e.IsSystemAdmin(actor)}, command)
		_, err = e.decide(ctx, p, in)
	}
	if err != nil {
		return Status{}, err
	}
	s := Status{Policy: e.PolicyStatus(), FollowsStore: e.following.Load()}
	if err := e.store.Ping(ctx); err != nil {
		s.StoreError = err.Error()
	}
	return s, nil
}

// authorizePolicy asks policy p whether actor may run a policy command.
// The actor's membership in the policy's policy_admin_account, when it
// names one, is in the input as for account commands.
func (e *Engine) authorizePolicy(ctx context.Context, p *Policy, actor string, command doc) error {
	var in doc
	if account := policyAdminAccount(ctx, p); account != "" {
		command["account"] = account
		var err error
		if in, err = e.readInput(ctx, actor, account, command); err != nil {
			return err
		}
	} else {
		actorDoc, err := e.actorDoc(ctx, actor, nil)
		if err != nil {
			return err
		}
		in = commandInput(e.now(), actorDoc, command)
	}
	_, err := e.decide(ctx, p, in)
	return err
}

// policyAdminAccount returns data.gatehouse.config.policy_admin_account of
// p, "" when it is not a valid id (only system administrators then).
func policyAdminAccount(ctx context.Context, p *Policy) string {
	pq, err := p.dataQuery(ctx, policyAdminAccountRef)
	if err != nil {
		return ""
	}
	rs, err := pq.Eval(ctx)
	if err != nil || len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return ""
	}
	account, _ := rs[0].Expressions[0].Value.(string)
	if !ValidID(account) {
		return ""
	}
	return account
}

// validatePolicy compiles files strictly and runs their Rego tests, as a
// hot reload does, and checks that the policy would let a system
// administrator push and roll back again, so that no push locks everyone
// out. Refusals are a *ViolationError (422) naming files and lines.
func (e *Engine) validatePolicy(ctx context.Context, files map[string][]byte, source string) (*Policy, error) {
	p, err := CompilePolicy(ctx, files, source)
	if err != nil {
		return nil, refusedPolicy(ctx, err)
	}
	report, err := RunPolicyTests(ctx, files)
	if err != nil {
		return nil, refusedPolicy(ctx, err)
	}
	if len(report.Results) == 0 {
		return nil, &ViolationError{Violations: []string{
			"the policy set has no Rego tests (rules named test_* in *_test.rego files): untested policies are not activated",
		}}
	}
	if failures := report.Failures(); len(failures) > 0 {
		v := make([]string, len(failures))
		for i, f := range failures {
			v[i] = f.String()
		}
		return nil, &ViolationError{Violations: v}
	}
	for _, typ := range []string{CommandPushPolicy, CommandRollbackPolicy} {
		admin := doc{"id": "system-administrator", "system_admin": true}
		verdict, err := e.ask(ctx, p, commandInput(e.now(), admin, doc{"type": typ}))
		if err == nil && verdict.Entitled {
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &ViolationError{Violations: []string{fmt.Sprintf(
			"under this policy not even a system administrator may %s (data.gatehouse.admission.result must entitle them): "+
				"activating it would leave no way to ship the next change", typ)}}
	}
	return p, nil
}

// refusedPolicy turns a compile or test-run error into the violations of a
// 422, one per error with its file and line; a cancelled context stays
// what it is.
func refusedPolicy(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var errs ast.Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		return &ViolationError{Violations: []string{err.Error()}}
	}
	v := make([]string, len(errs))
	for i, e := range errs {
		v[i] = e.Error()
	}
	return &ViolationError{Violations: v}
}

// saveBaseline stores the revision this replica serves when the store has
// no active revision yet, so that the first push can be rolled back.
func (e *Engine) saveBaseline(ctx context.Context, active *Policy, actor, pushed string) error {
	_, err := e.store.ActivePolicy(ctx)
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	if active == nil || len(active.Files) == 0 || active.Revision == pushed {
		return nil
	}
	created := active.LoadedAt.UTC()
	if now := e.now().UTC(); !created.Before(now) {
		created = now.Add(-time.Second) // listed before the push it precedes
	}
	return e.store.SavePolicy(ctx, PolicyRevision{
		Revision:  active.Revision,
		Files:     active.Files,
		Author:    actor,
		CreatedAt: created,
		Source:    "baseline: " + active.Source,
	})
}

// install makes p, already checked, the active revision of this replica.
func (e *Engine) install(p *Policy) {
	e.reload.running.Lock()
	defer e.reload.running.Unlock()
	if active := e.policy.Load(); active != nil && active.Revision == p.Revision {
		return
	}
	e.policy.Store(p)
	e.recordReload(ReloadSuccess, p.Source, nil)
}

// storeSource is the Source of a revision activated from the store.
func storeSource(revision, by string) string {
	return fmt.Sprintf("store revision %s by %s", revision, by)
}

// checkPolicyFiles checks the shape of pushed files (R44): at least one,
// each named by a clean relative path ending in .rego or .json.
func checkPolicyFiles(files map[string][]byte) error {
	if len(files) == 0 {
		return Invalid("files", "is required: the .rego and .json files of the policy, by path")
	}
	for _, name := range fileNames(files) {
		if !fs.ValidPath(name) || name == "." || !IsPolicyFile(name) {
			return Invalid("files", "%q must be a relative slash-separated path ending in .rego or .json", name)
		}
	}
	return nil
}

// fileNames returns the names of files, sorted.
func fileNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
