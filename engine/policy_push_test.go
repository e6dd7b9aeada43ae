package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// Issue 4 (one policy for every replica): a revision pushed to one engine
// is stored and activated for every engine sharing the store.

// followWait is how long a test waits for a following replica to activate
// a revision. It is generous on purpose: on a busy machine under -race a
// poll can take far longer than in production. The measured latency is
// logged as a figure, never asserted.
const followWait = 30 * time.Second

// sharedStore opens two handles on one fresh store: one per replica.
type sharedStore struct {
	name string
	open func(tb testing.TB) (engine.Store, engine.Store)
}

var sharedStores = []sharedStore{
	{name: "embedded", open: func(tb testing.TB) (engine.Store, engine.Store) {
		s := openEmbeddedStore(tb)
		return s, s
	}},
	{name: "redis", open: func(tb testing.TB) (engine.Store, engine.Store) {
		srv := redistest.Start(tb)
		return openRedisStore(tb, srv), openRedisStore(tb, srv)
	}},
}

// builtinFiles returns a fresh copy of the built-in policy files.
func builtinFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := engine.ReadPolicyFiles(policies.FS())
	require.NoError(tb, err)
	return files
}

// impersonatorsView is the built-in policy changed as a security team
// would: impersonators (a reseller's support engineers) may now view the
// reseller's account, and the test saying the role is flat is updated.
func impersonatorsView(tb testing.TB) map[string][]byte {
	tb.Helper()
	files := builtinFiles(tb)
	var data map[string]any
	require.NoError(tb, json.Unmarshal(files["data.json"], &data))
	config := data["gatehouse"].(map[string]any)["config"].(map[string]any)
	config["account_roles"].(map[string]any)["impersonator"] = []string{"account_viewer"}
	raw, err := json.Marshal(data)
	require.NoError(tb, err)
	files["data.json"] = raw
	files["roles_test.rego"] = []byte(replaceOnce(tb, string(files["roles_test.rego"]),
		`not allowed("view", "", member(["impersonator", "tm_admin"]))`,
		`allowed("view", "", member(["impersonator", "tm_admin"]))`))
	return files
}

// replaceOnce replaces old, which must occur exactly once in s.
func replaceOnce(tb testing.TB, s, old, new string) string {
	tb.Helper()
	require.Equal(tb, 1, strings.Count(s, old), "%q must occur once", old)
	return strings.Replace(s, old, new, 1)
}

// replica is one engine over a shared store.
type replica struct {
	e   *engine.Engine
	ctx context.Context
}

// newReplica starts an engine on the built-in policy; with follow, it
// follows the store (FollowPolicies, polling every poll) until the test ends.
func newReplica(t *testing.T, store engine.Store, follow bool) *replica {
	t.Helper()
	e, err := engine.New(store, commandTestPolicy(t), engine.WithSystemAdmins(sysAdmin), engine.WithLogger(pushTestLog()), engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(t, err)
	r := &replica{e: e, ctx: context.Background()}
	if follow {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- e.FollowPolicies(ctx, 50*time.Millisecond, pushTestLog()) }()
		t.Cleanup(func() {
			cancel()
			require.NoError(t, <-done)
		})
		require.Eventually(t, func() bool {
			s, err := e.Status(r.ctx, sysAdmin)
			return err == nil && s.FollowsStore
		}, followWait, time.Millisecond, "FollowPolicies did not start")
	}
	return r
}

// seedPolicyAdmins creates the policy admin account "gatehouse" where pam
// holds policy_admin and vic account_admin, and jane, an impersonator at the
// reseller classics.
func seedPolicyAdmins(t *testing.T, e *engine.Engine) {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), e: e}
	w.users("pam", "vic")
	w.account(engine.Account{ID: "gatehouse"})
	w.account(engine.Account{ID: "classics"})
	w.employee("jane", "classics")
	w.member(engine.Membership{Account: "gatehouse", User: "pam", Roles: []string{"policy_admin"}})
	w.member(engine.Membership{Account: "gatehouse", User: "vic", Roles: []string{"account_admin"}})
	w.member(engine.Membership{Account: "classics", User: "jane", Roles: []string{"impersonator"}})
}

// janeViews asks whether jane may view classics, and which revision said so.
func (r *replica) janeViews() engine.Decision {
	return r.e.Decide(r.ctx, engine.DecisionRequest{Subject: "jane", Action: "view", Resource: engine.Resource{Account: "classics"}})
}

func (r *replica) revision() string { return r.e.Policy().Revision }

func TestPushPolicyActivatesOnEveryReplica(t *testing.T) {
	for _, kind := range sharedStores {
		t.Run(kind.name, func(t *testing.T) {
			storeA, storeB := kind.open(t)
			a, b := newReplica(t, storeA, true), newReplica(t, storeB, true)
			seedPolicyAdmins(t, a.e)
			builtin := a.revision()
			before := b.janeViews()
			require.False(t, before.Allow, "R1: impersonator is flat in the built-in policy")
			assert.Equal(t, builtin, before.PolicyRevision, "R7")

			changed := impersonatorsView(t)
			pushed, err := a.e.PushPolicy(a.ctx, "pam", changed)
			require.NoError(t, err)
			assert.Equal(t, engine.Revision(changed), pushed.Revision)
			assert.Equal(t, "pam", pushed.Author)
			assert.Equal(t, engine.PolicySourcePush, pushed.Source)
			assert.True(t, pushed.Active)
			assert.Nil(t, pushed.Files)
			assert.Equal(t, pushed.Revision, a.revision(), "the pushing replica serves the revision when the push returns")
			assert.Equal(t, "store revision "+pushed.Revision+" by pam", a.e.Policy().Source)

			start := time.Now()
			require.Eventually(t, func() bool { return b.revision() == pushed.Revision }, followWait, time.Millisecond,
				"the other replica did not activate the pushed revision within a second")
			t.Logf("%s: replica B activated the pushed revision after %s", kind.name, time.Since(start))
			after := b.janeViews()
			assert.True(t, after.Allow, "the changed policy lets impersonators view: %v", after.Reasons)
			assert.Equal(t, pushed.Revision, after.PolicyRevision, "R7: the decision names the revision that made it")

			list, err := b.e.ListPolicies(b.ctx, "pam", 0)
			require.NoError(t, err)
			require.Len(t, list, 2, "the pushed revision and the baseline served before it")
			assert.Equal(t, pushed.Revision, list[0].Revision)
			assert.True(t, list[0].Active)
			assert.Equal(t, builtin, list[1].Revision)
			assert.False(t, list[1].Active)
			assert.Equal(t, "baseline: test", list[1].Source)
			assert.Nil(t, list[0].Files)

			back, err := b.e.RollbackPolicy(b.ctx, "ops", builtin)
			require.NoError(t, err)
			assert.Equal(t, builtin, back.Revision)
			assert.True(t, back.Active)
			assert.Equal(t, builtin, b.revision())
			require.Eventually(t, func() bool { return a.revision() == builtin }, followWait, time.Millisecond)
			assert.False(t, a.janeViews().Allow)
			assert.Equal(t, "store revision "+builtin+" by ops", a.e.PolicyStatus().Source)

			list, err = a.e.ListPolicies(a.ctx, "ops", 1)
			require.NoError(t, err)
			require.Len(t, list, 1, "the limit holds")
			assert.False(t, list[0].Active, "the pushed revision is no longer active")
		})
	}
}

// Issue 4: only system administrators and policy_admin members of the
// configured account may run policy commands (R43); a refusal stores
// nothing.
func TestPolicyCommandsAuthorization(t *testing.T) {
	for _, kind := range sharedStores {
		t.Run(kind.name, func(t *testing.T) {
			store, _ := kind.open(t)
			r := newReplica(t, store, false)
			seedPolicyAdmins(t, r.e)
			builtin := r.revision()
			changed := impersonatorsView(t)

			tests := []struct {
				name string
				run  func(actor string) error
			}{
				{"push", func(actor string) error { _, err := r.e.PushPolicy(r.ctx, actor, changed); return err }},
				{"list", func(actor string) error { _, err := r.e.ListPolicies(r.ctx, actor, 10); return err }},
				{"rollback", func(actor string) error { _, err := r.e.RollbackPolicy(r.ctx, actor, builtin); return err }},
				{"status", func(actor string) error { _, err := r.e.Status(r.ctx, actor); return err }},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					for _, actor := range []string{"vic", "jane", "stranger"} {
						err := tt.run(actor)
						require.ErrorIs(t, err, engine.ErrForbidden, actor)
						violations := violationsOf(t, err, true)
						require.Len(t, violations, 1)
						assert.Contains(t, violations[0], actor+" may not ")
						assert.Contains(t, violations[0], "policy_admin role in account gatehouse")
					}
					require.ErrorIs(t, tt.run(""), engine.ErrForbidden, "an unidentified caller")
				})
			}
			revs, err := store.ListPolicies(r.ctx, 0)
			require.NoError(t, err)
			assert.Empty(t, revs, "a refused push stores nothing")
			_, err = store.ActivePolicy(r.ctx)
			require.ErrorIs(t, err, engine.ErrNotFound)

			// A replica that does not follow the store (it follows --policy-dir)
			// stores and activates a push for the others, but keeps serving its own.
			pushed, err := r.e.PushPolicy(r.ctx, "ops", changed)
			require.NoError(t, err)
			assert.Equal(t, "ops", pushed.Author)
			active, err := store.ActivePolicy(r.ctx)
			require.NoError(t, err)
			assert.Equal(t, pushed.Revision, active.Revision)
			assert.Equal(t, "ops", active.ActivatedBy)
			assert.Equal(t, builtin, r.revision())

			_, err = r.e.RollbackPolicy(r.ctx, "pam", builtin)
			require.NoError(t, err, "the policy_admin of gatehouse may roll back")
			status, err := r.e.Status(r.ctx, "pam")
			require.NoError(t, err)
			assert.Equal(t, builtin, status.Policy.Revision)
			assert.False(t, status.FollowsStore)
			assert.Empty(t, status.StoreError)
		})
	}
}

// Issue 4 (validated as in hot reload): a policy that does not compile,
// whose tests fail, that has no tests, or that would lock everyone out is
// refused with its errors (422), and nothing is stored or activated.
func TestPushPolicyRefusesBrokenPolicies(t *testing.T) {
	without := func(files map[string][]byte, names ...string) map[string][]byte {
		for _, n := range names {
			require.Contains(t, files, n)
			delete(files, n)
		}
		return files
	}
	withExtra := func(name, content string) map[string][]byte {
		files := builtinFiles(t)
		files[name] = []byte(content)
		return files
	}
	noTests := builtinFiles(t)
	for name := range noTests {
		if engine.IsTestFile(name) {
			delete(noTests, name)
		}
	}
	failing := impersonatorsView(t)
	failing["roles_test.rego"] = builtinFiles(t)["roles_test.rego"]

	tests := []struct {
		name  string
		files map[string][]byte
		want  []string // substrings of the violations
	}{
		{
			name:  "a syntax error names its file and line",
			files: withExtra("broken.rego", "package gatehouse.broken\n\nimport rego.v1\n\nallow if input.x == == 1\n"),
			want:  []string{"broken.rego:5"},
		},
		{
			name:  "a strict-mode error names its file and line",
			files: withExtra("unused.rego", "package gatehouse.unused\n\nimport rego.v1\n\np if {\n\tx := 1\n\ttrue\n}\n"),
			want:  []string{"unused.rego:6"},
		},
		{
			name:  "a failing Rego test names the test, its file and line",
			files: failing,
			want:  []string{"test_deny_flat_roles_view (roles_test.rego:", "fail"},
		},
		{
			name:  "a policy without tests",
			files: noTests,
			want:  []string{"no Rego tests"},
		},
		{
			name:  "a policy no one could replace",
			files: without(builtinFiles(t), "admission_policies.rego", "admission_policies_test.rego"),
			want:  []string{"not even a system administrator may push_policy"},
		},
	}
	for _, kind := range sharedStores {
		t.Run(kind.name, func(t *testing.T) {
			store, _ := kind.open(t)
			r := newReplica(t, store, true)
			builtin := r.revision()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					_, err := r.e.PushPolicy(r.ctx, sysAdmin, tt.files)
					require.Error(t, err)
					violations := strings.Join(violationsOf(t, err, false), "\n")
					for _, want := range tt.want {
						assert.Contains(t, violations, want)
					}
					assert.Equal(t, builtin, r.revision(), "the active revision stays")
				})
			}
			revs, err := store.ListPolicies(r.ctx, 0)
			require.NoError(t, err)
			assert.Empty(t, revs, "a refused push stores nothing")
			_, err = store.ActivePolicy(r.ctx)
			require.ErrorIs(t, err, engine.ErrNotFound, "and activates nothing")
		})
	}
}

// R44: pushed files are named by clean relative paths of policy files;
// a rollback names a stored revision.
func TestPushPolicyRefusesBadInput(t *testing.T) {
	r := newReplica(t, openEmbeddedStore(t), false)
	tests := []struct {
		name  string
		files map[string][]byte
	}{
		{"no files", map[string][]byte{}},
		{"an absolute path", map[string][]byte{"/etc/x.rego": []byte("package x")}},
		{"a path leaving the set", map[string][]byte{"../x.rego": []byte("package x")}},
		{"not a policy file", map[string][]byte{"notes.txt": []byte("hi")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.e.PushPolicy(r.ctx, sysAdmin, tt.files)
			var fe *engine.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "files", fe.Field)
		})
	}
	_, err := r.e.RollbackPolicy(r.ctx, sysAdmin, "0123456789abcdef")
	require.ErrorIs(t, err, engine.ErrNotFound)
	_, err = r.e.RollbackPolicy(r.ctx, sysAdmin, "no such/revision")
	var fe *engine.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "revision", fe.Field)
}

// countingStore counts the reads a follower makes and can refuse to watch,
// so that only polling is left.
type countingStore struct {
	engine.Store
	noWatch bool
	gets    atomic.Int64
	actives atomic.Int64
}

func (s *countingStore) GetPolicy(ctx context.Context, revision string) (engine.PolicyRevision, error) {
	s.gets.Add(1)
	return s.Store.GetPolicy(ctx, revision)
}

func (s *countingStore) ActivePolicy(ctx context.Context) (engine.PolicyActivation, error) {
	s.actives.Add(1)
	return s.Store.ActivePolicy(ctx)
}

func (s *countingStore) WatchPolicy(ctx context.Context) (<-chan engine.PolicyActivation, error) {
	if s.noWatch {
		return nil, errors.New("notifications are down")
	}
	return s.Store.WatchPolicy(ctx)
}

// Issue 4: with notifications lost, polling still activates a revision;
// polling fetches no files while nothing changes; a stored revision that
// does not compile is reported once and not fetched again on every poll.
func TestFollowPoliciesPollsAsFallback(t *testing.T) {
	shared := openEmbeddedStore(t)
	store := &countingStore{Store: shared, noWatch: true}
	r := newReplica(t, store, true)
	builtin := r.revision()

	polls := store.actives.Load()
	require.Eventually(t, func() bool { return store.actives.Load() >= polls+3 }, followWait, time.Millisecond)
	assert.Zero(t, store.gets.Load(), "nothing changed: no files fetched")

	changed := impersonatorsView(t)
	rev := engine.PolicyRevision{Revision: engine.Revision(changed), Files: changed, Author: "pam", CreatedAt: time.Now()}
	require.NoError(t, shared.SavePolicy(r.ctx, rev))
	require.NoError(t, shared.ActivatePolicy(r.ctx, engine.PolicyActivation{Revision: rev.Revision, ActivatedBy: "pam", ActivatedAt: time.Now()}))
	require.Eventually(t, func() bool { return r.revision() == rev.Revision }, followWait, time.Millisecond)
	assert.Equal(t, int64(1), store.gets.Load(), "fetched once")

	broken := map[string][]byte{"decision.rego": []byte("package gatehouse.decision\n\nresult := := 1\n")}
	bad := engine.PolicyRevision{Revision: engine.Revision(broken), Files: broken, Author: "mallory", CreatedAt: time.Now()}
	require.NoError(t, shared.SavePolicy(r.ctx, bad))
	require.NoError(t, shared.ActivatePolicy(r.ctx, engine.PolicyActivation{Revision: bad.Revision, ActivatedBy: "mallory", ActivatedAt: time.Now()}))
	require.Eventually(t, func() bool { return r.e.PolicyStatus().LastError != "" }, followWait, time.Millisecond)
	status := r.e.PolicyStatus()
	assert.Contains(t, status.LastError, "decision.rego:3")
	assert.Equal(t, "store revision "+bad.Revision+" by mallory", status.LastErrorSource)
	assert.Equal(t, rev.Revision, r.revision(), "the previous revision keeps serving")

	gets, polls := store.gets.Load(), store.actives.Load()
	require.Eventually(t, func() bool { return store.actives.Load() >= polls+3 }, followWait, time.Millisecond)
	assert.Equal(t, gets, store.gets.Load(), "a refused revision is not fetched again on every poll")
	assert.NotEqual(t, builtin, r.revision())
}

// Issue 4: a replica starting on a store with an active revision serves it
// before it serves anything (SyncPolicy); a store never pushed to is fine.
func TestSyncPolicyLoadsTheActiveRevision(t *testing.T) {
	store := openEmbeddedStore(t)
	r := newReplica(t, store, false)
	require.NoError(t, r.e.SyncPolicy(r.ctx), "no revision was ever activated")
	builtin := r.revision()

	changed := impersonatorsView(t)
	rev := engine.PolicyRevision{Revision: engine.Revision(changed), Files: changed, Author: "pam", CreatedAt: time.Now()}
	require.NoError(t, store.SavePolicy(r.ctx, rev))
	require.NoError(t, store.ActivatePolicy(r.ctx, engine.PolicyActivation{Revision: rev.Revision, ActivatedBy: "pam", ActivatedAt: time.Now()}))

	require.Equal(t, builtin, r.revision())
	require.NoError(t, r.e.SyncPolicy(r.ctx))
	assert.Equal(t, rev.Revision, r.revision())
	assert.Equal(t, "store revision "+rev.Revision+" by pam", r.e.Policy().Source)
	assert.Equal(t, uint64(1), r.e.PolicyStatus().Reloads)
}

func TestFollowPoliciesRefusesBadInterval(t *testing.T) {
	r := newReplica(t, openEmbeddedStore(t), false)
	require.Error(t, r.e.FollowPolicies(r.ctx, 0, nil))
}

// pushTestLog discards what followers log.
func pushTestLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
