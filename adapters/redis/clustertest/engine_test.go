package clustertest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gatehouse/gatehouse/adapters/redis/redistest"
	"github.com/gatehouse/gatehouse/engine"
	"github.com/gatehouse/gatehouse/policies"
)

// sysAdmin is the system administrator of every engine here (R32).
const sysAdmin = "ops"

// racers is how many goroutines race in each concurrency proof.
const racers = 60

// prefixes numbers the deployments sharing one cluster.
var prefixes atomic.Int64

// deployment is two gatehouse replicas (engines, each on its own Store and
// connections) of one deployment on the cluster.
type deployment struct {
	t       *testing.T
	ctx     context.Context
	e       [2]*engine.Engine
	cluster *redistest.Cluster
}

var builtinPolicy = sync.OnceValues(func() (*engine.Policy, error) {
	files, err := engine.ReadPolicyFiles(policies.FS())
	if err != nil {
		return nil, err
	}
	return engine.CompilePolicy(context.Background(), files, "test")
})

// deploy starts two engines on c under a fresh prefix.
func deploy(t *testing.T, c *redistest.Cluster) *deployment {
	t.Helper()
	p, err := builtinPolicy()
	require.NoError(t, err)
	prefix := fmt.Sprintf("e%d", prefixes.Add(1))
	d := &deployment{t: t, ctx: context.Background(), cluster: c}
	for i := range d.e {
		d.e[i], err = engine.New(openStore(t, c, prefix), p, engine.WithSystemAdmins(sysAdmin),
			engine.WithDecisionTimeout(time.Minute), engine.WithCommandTimeout(time.Minute))
		require.NoError(t, err)
	}
	return d
}

func (d *deployment) user(id, organization string) {
	d.t.Helper()
	_, _, err := d.e[0].PutUser(d.ctx, sysAdmin, engine.User{ID: id, Email: id + "@example.com", Organization: organization})
	require.NoError(d.t, err)
}

func (d *deployment) account(a engine.Account) {
	d.t.Helper()
	_, _, err := d.e[0].PutAccount(d.ctx, sysAdmin, a)
	require.NoError(d.t, err)
}

func (d *deployment) member(m engine.Membership) {
	d.t.Helper()
	_, err := d.e[0].SetMember(d.ctx, sysAdmin, m)
	require.NoError(d.t, err)
}

// acme: alice is account_admin and primary contact, bob a secondary
// contact (one of the 4 seats of R10).
func (d *deployment) acme() {
	d.t.Helper()
	d.user("alice", "")
	d.user("bob", "")
	d.account(engine.Account{ID: "acme", Name: "Acme"})
	d.member(engine.Membership{Account: "acme", User: "alice", Roles: []string{"account_admin"}, Contact: engine.ContactPrimary})
	d.member(engine.Membership{Account: "acme", User: "bob", Contact: engine.ContactSecondary,
		Privileges: map[string]string{"manage_access": "update"}})
}

// classics: the reseller of SPEC section 8 with tm_admin elizabeth,
// employees caroline and charlotte, and n tenants t00.. each with its
// account_admin admin-t00...
func (d *deployment) classics(n int) []string {
	d.t.Helper()
	d.account(engine.Account{ID: "classics", Name: "Classics"})
	for _, id := range []string{"elizabeth", "caroline", "charlotte"} {
		d.user(id, "classics")
	}
	d.member(engine.Membership{Account: "classics", User: "elizabeth", Roles: []string{"tm_admin"}})
	tenants := make([]string, n)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("t%02d", i)
		d.user("admin-"+tenants[i], "")
		d.account(engine.Account{ID: tenants[i], Name: tenants[i], Partner: "classics"})
		d.member(engine.Membership{Account: tenants[i], User: "admin-" + tenants[i], Roles: []string{"account_admin"}})
	}
	return tenants
}

func (d *deployment) events() []engine.Event {
	d.t.Helper()
	evs, err := d.e[1].ListEvents(d.ctx, sysAdmin, "", engine.MaxListLimit, engine.Ascending)
	require.NoError(d.t, err)
	return evs
}

func (d *deployment) audit(account string) []engine.AuditRecord {
	d.t.Helper()
	recs, err := d.e[1].ListAudit(d.ctx, sysAdmin, account, "", engine.MaxListLimit, engine.Ascending)
	require.NoError(d.t, err)
	return recs
}

func count[T any](items []T, keep func(T) bool) int {
	n := 0
	for _, it := range items {
		if keep(it) {
			n++
		}
	}
	return n
}

// race runs fn(i) on n goroutines released at once and returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// The engine on a 3-master cluster: the stories that race through two
// replicas, and tenant submissions, whose requests land on several slots.
func TestEngineOnCluster(t *testing.T) {
	c := startCluster(t)

	// R10, R11, R40: racing approvals never leave more secondary contacts
	// than the limit, and audit and events agree.
	t.Run("racing approvals keep the seat limit", func(t *testing.T) {
		d := deploy(t, c)
		d.acme()
		reqs := make([]engine.AccessRequest, racers)
		for i := range reqs {
			user := fmt.Sprintf("user%02d", i)
			d.user(user, "")
			r, err := d.e[i%2].RequestAccess(d.ctx, user, "acme", "")
			require.NoError(t, err)
			reqs[i] = r
		}
		auditBefore, eventsBefore := len(d.audit("acme")), len(d.events())
		errs := race(racers, func(i int) error {
			_, err := d.e[i%2].Approve(d.ctx, "alice", reqs[i].ID, engine.Approval{Contact: engine.ContactSecondary})
			return err
		})
		granted := 0
		for i, err := range errs {
			var v *engine.ViolationError
			switch {
			case err == nil:
				granted++
			case errors.As(err, &v):
				assert.False(t, v.Forbidden, "racer %d: %v", i, err)
			default:
				require.ErrorIs(t, err, engine.ErrConflict, "racer %d", i)
			}
		}
		assert.Equal(t, 3, granted)
		members, err := d.e[0].ListMembers(d.ctx, sysAdmin, "acme")
		require.NoError(t, err)
		assert.Equal(t, 4, count(members, func(m engine.Membership) bool { return m.Contact == engine.ContactSecondary }))
		audit := d.audit("acme")[auditBefore:]
		assert.Equal(t, granted, count(audit, func(r engine.AuditRecord) bool { return r.Action == engine.ActionRequestGranted }))
		events := d.events()[eventsBefore:]
		assert.Equal(t, granted, count(events, func(e engine.Event) bool { return e.Type == engine.EventRequestGranted }))
	})

	// R25, R40: deciders racing on one request: exactly one wins.
	t.Run("one request is decided once", func(t *testing.T) {
		d := deploy(t, c)
		d.acme()
		d.user("carol", "")
		r, err := d.e[0].RequestAccess(d.ctx, "carol", "acme", "")
		require.NoError(t, err)
		errs := race(racers, func(i int) error {
			if i%2 == 0 {
				_, err := d.e[i%2].Approve(d.ctx, "alice", r.ID, engine.Approval{Scope: "account", Role: "account_user"})
				return err
			}
			_, err := d.e[i%2].Deny(d.ctx, "bob", r.ID, engine.Denial{ReasonCode: "other"})
			return err
		})
		won := 0
		for i, err := range errs {
			if err == nil {
				won++
				continue
			}
			require.ErrorIs(t, err, engine.ErrConflict, "racer %d", i)
		}
		assert.Equal(t, 1, won)
		decided := count(d.audit("acme"), func(r engine.AuditRecord) bool {
			return r.Action == engine.ActionRequestGranted || r.Action == engine.ActionRequestDenied
		})
		assert.Equal(t, 1, decided)
	})

	// R20, R40: requests by different users on one account conflict with
	// nothing the others decided on: all of them land, through two
	// replicas, each audited and announced once.
	t.Run("concurrent requesters all succeed", func(t *testing.T) {
		d := deploy(t, c)
		d.acme()
		users := make([]string, racers)
		for i := range users {
			users[i] = fmt.Sprintf("requester%02d", i)
			d.user(users[i], "")
		}
		auditBefore, eventsBefore := len(d.audit("acme")), len(d.events())
		errs := race(racers, func(i int) error {
			_, err := d.e[i%2].RequestAccess(d.ctx, users[i], "acme", "I need it")
			return err
		})
		for i, err := range errs {
			require.NoError(t, err, "requester %d", i)
		}
		pending, err := d.e[0].ListRequests(d.ctx, sysAdmin, engine.RequestFilter{Account: "acme", Status: engine.StatusPending, Limit: engine.MaxListLimit})
		require.NoError(t, err)
		assert.Len(t, pending, racers)
		assert.Equal(t, racers, count(d.audit("acme")[auditBefore:], func(r engine.AuditRecord) bool { return r.Action == engine.ActionRequestCreated }))
		assert.Equal(t, racers, count(d.events()[eventsBefore:], func(e engine.Event) bool { return e.Type == engine.EventRequestCreated }))
	})

	// R20, R40: one user requesting one account many times at once gets
	// one pending request.
	t.Run("one requester racing gets one pending request", func(t *testing.T) {
		d := deploy(t, c)
		d.acme()
		d.user("carol", "")
		errs := race(racers, func(i int) error {
			_, err := d.e[i%2].RequestAccess(d.ctx, "carol", "acme", "")
			return err
		})
		created := 0
		for i, err := range errs {
			var v *engine.ViolationError
			switch {
			case err == nil:
				created++
			case !errors.As(err, &v):
				require.ErrorIs(t, err, engine.ErrConflict, "racer %d", i)
			}
		}
		assert.Equal(t, 1, created)
		mine, err := d.e[1].ListRequests(d.ctx, "carol", engine.RequestFilter{Requester: "carol"})
		require.NoError(t, err)
		assert.Len(t, mine, 1, "the requester's index holds one request")
	})

	// R35, R36, R40, R42: tenant submissions through two replicas, racing,
	// each create one request per tenant on the tenant's slot, every one
	// indexed, audited and announced once, whatever slot holds it.
	t.Run("racing tenant submissions land whole", func(t *testing.T) {
		d := deploy(t, c)
		tenants := d.classics(6)
		// Each submission moves the versions of the reseller and every
		// tenant, so racers conflict with each other: one wins each round,
		// and the engine tries a command MaxCommandAttempts times.
		const submissions = engine.MaxCommandAttempts - 2
		errs := race(submissions, func(i int) error {
			_, err := d.e[i%2].RequestTenantAccess(d.ctx, "elizabeth", engine.TenantRequest{
				Name: fmt.Sprintf("Support%02d", i), Message: "support",
				Associations: []engine.Association{
					{Users: []string{"caroline"}, Tenants: tenants[:3]},
					{Users: []string{"charlotte"}, Tenants: tenants[2:]},
				},
			})
			return err
		})
		for i, err := range errs {
			require.NoError(t, err, "submission %d", i)
		}
		mine, err := d.e[1].ListRequests(d.ctx, "elizabeth", engine.RequestFilter{Requester: "elizabeth", Limit: engine.MaxListLimit})
		require.NoError(t, err)
		assert.Len(t, mine, submissions*len(tenants), "the requester's index holds every request")
		created := count(d.events(), func(e engine.Event) bool { return e.Type == engine.EventRequestCreated })
		assert.Equal(t, submissions*len(tenants), created)
		for _, tenant := range tenants {
			queue, err := d.e[0].ListRequests(d.ctx, "admin-"+tenant, engine.RequestFilter{Account: tenant, Limit: engine.MaxListLimit})
			require.NoError(t, err)
			assert.Len(t, queue, submissions, tenant)
			for _, r := range queue {
				got, err := d.e[1].GetRequest(d.ctx, "admin-"+tenant, r.ID)
				require.NoError(t, err, "the global index names %s", r.ID)
				assert.Equal(t, tenant, got.Account)
			}
			assert.Equal(t, submissions, count(d.audit(tenant), func(r engine.AuditRecord) bool { return r.Action == engine.ActionRequestCreated }))
			evs, err := d.e[0].ListEvents(d.ctx, "admin-"+tenant, "", engine.MaxListLimit, engine.Ascending)
			require.NoError(t, err)
			assert.Equal(t, submissions, count(evs, func(e engine.Event) bool { return e.Type == engine.EventRequestCreated }),
				"admin-%s's events", tenant)
		}

		// R38, R39: a tenant's admin grants one of them, on the tenant's slot.
		queue, err := d.e[0].ListRequests(d.ctx, "admin-t03", engine.RequestFilter{Account: "t03", Limit: 1})
		require.NoError(t, err)
		granted, err := d.e[1].Approve(d.ctx, "admin-t03", queue[0].ID, engine.Approval{Message: "ok"})
		require.NoError(t, err)
		assert.Equal(t, engine.StatusGranted, granted.Status)
	})
}
