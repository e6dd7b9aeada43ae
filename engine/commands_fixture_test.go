package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/embedded"
	redisstore "github.com/gatehouse/gatehouse/adapters/redis"
	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// testDecisionTimeout is the decision deadline of the engines under test:
// long enough that a cold evaluation under -race on a busy machine is never
// cut short. Tests of the deadline itself set their own.
const testDecisionTimeout = time.Minute

// sysAdmin is the system administrator of every test engine (R32).
const sysAdmin = "ops"

// commandEpoch is when every test clock starts.
var commandEpoch = time.Date(2025, 11, 21, 9, 0, 0, 0, time.UTC)

// fakeClock is an injectable clock: expiry tests move it instead of sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: commandEpoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// commandPolicy compiles the built-in policies once for every test.
var commandPolicy = sync.OnceValues(func() (*engine.Policy, error) {
	files, err := engine.ReadPolicyFiles(policies.FS())
	if err != nil {
		return nil, err
	}
	return engine.CompilePolicy(context.Background(), files, "test")
})

func commandTestPolicy(tb testing.TB) *engine.Policy {
	tb.Helper()
	p, err := commandPolicy()
	require.NoError(tb, err)
	return p
}

// storeKind opens a fresh store of one kind for one test.
type storeKind struct {
	name string
	open func(tb testing.TB) engine.Store
}

var storeKinds = []storeKind{
	{name: "embedded", open: openEmbeddedStore},
	{name: "redis", open: func(tb testing.TB) engine.Store { return openRedisStore(tb, redistest.Start(tb)) }},
	{name: "redis-cached", open: func(tb testing.TB) engine.Store {
		return openRedisStore(tb, redistest.Start(tb), redisstore.WithClientSideCache(8<<20))
	}},
}

func openEmbeddedStore(tb testing.TB) engine.Store {
	tb.Helper()
	s, err := embedded.Open(tb.TempDir())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// openRedisStore opens a store with its own connection to srv.
func openRedisStore(tb testing.TB, srv *redistest.Server, opts ...redisstore.Option) engine.Store {
	tb.Helper()
	opts = append(opts, redisstore.WithReadTimeout(time.Minute), redisstore.WithWriteTimeout(time.Minute))
	s, err := redisstore.Open(srv.URL(), opts...)
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func newCommandEngine(tb testing.TB, store engine.Store, clk *fakeClock) *engine.Engine {
	tb.Helper()
	e, err := engine.New(store, commandTestPolicy(tb), engine.WithClock(clk.Now), engine.WithSystemAdmins(sysAdmin), engine.WithDecisionTimeout(testDecisionTimeout))
	require.NoError(tb, err)
	return e
}

// world is one engine over a fresh store, with its clock.
type world struct {
	t   *testing.T
	ctx context.Context
	e   *engine.Engine
	clk *fakeClock
}

// forEachStore runs test once per store kind, each on a fresh store.
func forEachStore(t *testing.T, test func(t *testing.T, w *world)) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			clk := newFakeClock()
			test(t, &world{t: t, ctx: context.Background(), e: newCommandEngine(t, kind.open(t), clk), clk: clk})
		})
	}
}

// users creates users with no organization.
func (w *world) users(ids ...string) {
	w.t.Helper()
	for _, id := range ids {
		w.employee(id, "")
	}
}

// employee creates a user who works for organization.
func (w *world) employee(id, organization string) {
	w.t.Helper()
	_, created, err := w.e.PutUser(w.ctx, sysAdmin, engine.User{
		ID: id, Email: id + "@example.com", FirstName: id, Organization: organization,
	})
	require.NoError(w.t, err)
	require.True(w.t, created)
}

// account creates an account.
func (w *world) account(a engine.Account) {
	w.t.Helper()
	if a.Name == "" {
		a.Name = a.ID
	}
	_, created, err := w.e.PutAccount(w.ctx, sysAdmin, a)
	require.NoError(w.t, err)
	require.True(w.t, created)
}

// member sets a membership as the system administrator.
func (w *world) member(m engine.Membership) {
	w.t.Helper()
	_, err := w.e.SetMember(w.ctx, sysAdmin, m)
	require.NoError(w.t, err)
}

// acme builds the Passport Advantage site of the tests: alice is its
// account_admin and primary contact, bob a secondary contact who manages
// access, vera a viewer; carol, dan and erin are users without access.
func (w *world) acme(settings map[string]any) {
	w.t.Helper()
	w.users("alice", "bob", "vera", "carol", "dan", "erin")
	w.account(engine.Account{ID: "acme", Name: "Acme", VirtualAccounts: []string{"va1", "va2"}, Settings: settings})
	w.member(engine.Membership{Account: "acme", User: "alice", Roles: []string{"account_admin"}, Contact: engine.ContactPrimary})
	w.member(engine.Membership{
		Account: "acme", User: "bob", Contact: engine.ContactSecondary,
		Privileges: map[string]string{"manage_access": "update"},
	})
	w.member(engine.Membership{Account: "acme", User: "vera", Roles: []string{"account_viewer"}})
}

// audit lists an account's whole audit trail as the system administrator.
func (w *world) audit(account string) []engine.AuditRecord {
	w.t.Helper()
	recs, err := w.e.ListAudit(w.ctx, sysAdmin, account, "", engine.MaxListLimit, engine.Ascending)
	require.NoError(w.t, err)
	return recs
}

// events lists every event as the system administrator.
func (w *world) events() []engine.Event {
	w.t.Helper()
	evs, err := w.e.ListEvents(w.ctx, sysAdmin, "", engine.MaxListLimit, engine.Ascending)
	require.NoError(w.t, err)
	return evs
}

// auditActions lists the actions of audit records, in order.
func auditActions(recs []engine.AuditRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Action
	}
	return out
}

// eventsOf keeps the events of one type.
func eventsOf(evs []engine.Event, typ string) []engine.Event {
	var out []engine.Event
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// violationsOf returns the rule messages of a refused command, failing the
// test when err is not a *ViolationError with that Forbidden flag.
func violationsOf(tb testing.TB, err error, forbidden bool) []string {
	tb.Helper()
	var v *engine.ViolationError
	require.True(tb, errors.As(err, &v), "want a *ViolationError, got %v", err)
	require.Equal(tb, forbidden, v.Forbidden, "violations: %v", v.Violations)
	return v.Violations
}

// contacts counts an account's members of one contact type.
func (w *world) contacts(account, contact string) int {
	w.t.Helper()
	members, err := w.e.ListMembers(w.ctx, sysAdmin, account)
	require.NoError(w.t, err)
	n := 0
	for _, m := range members {
		if m.Contact == contact {
			n++
		}
	}
	return n
}
