// Package benchdata generates, from a seed, the directory and the questions
// of the decision benchmark (make bench-decisions, the engine's Go
// benchmarks and the policy equivalence test): accounts with virtual
// accounts, reseller partners and tenants, users, memberships with roles,
// contacts, privileges and expiries, tenant grants, and decision questions
// that never repeat (Uniform) or that a few subjects mostly ask (Zipf).
//
// The same seed and Size give the same data and questions on every machine
// and Go version (math/rand/v2's PCG is specified). Production code never
// imports this package.
package benchdata

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/gatehouse/gatehouse/engine"
)

// Size says how much to generate.
type Size struct {
	Accounts    int // accounts, resellers included
	Memberships int // memberships in all accounts together
	Users       int // users, members of no account included
}

// Full is the benchmark's size: 10,000 accounts and 100,000 memberships.
var Full = Size{Accounts: 10_000, Memberships: 100_000, Users: 40_000}

// Small is a size for tests that run in seconds.
var Small = Size{Accounts: 300, Memberships: 3_000, Users: 1_200}

// Now is the instant the generated expiries are placed around: expired
// records expired years before it, live ones end decades after, so that a
// decision made at any time this decade gives the same answer.
var Now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// Dataset is a generated directory.
type Dataset struct {
	Users    []engine.User
	Accounts []engine.Account
	Members  []engine.Membership
	Grants   []engine.TenantGrants
	// Exclusive are the tenants some tenant request was granted for (R39).
	Exclusive []string

	byAccount map[string][]int // account -> indexes into Members
	byUser    map[string][]int // user -> indexes into Members
	account   map[string]*engine.Account
	resellers []string
	tenants   []string
}

var (
	expired = Now.AddDate(-4, 0, 0)
	later   = Now.AddDate(70, 0, 0)
	apps    = map[string][]string{
		"purchase": {"none", "downloads", "downloads_support", "full"}, "reporting": {"none", "view"},
		"entitlements": {"none", "view", "update"}, "allocations": {"none", "view", "update"},
		"manage_access": {"none", "view", "update"}, "contact_updates": {"none", "view", "update"},
		"contact_preview": {"view"}, "account_documents": {"none", "view"},
	}
	appNames = sortedKeys(apps)
)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Generate builds a directory of the given size from seed. About 5% of the
// accounts are resellers, 20% are tenants of a reseller (a third of those
// exclusive, with grants), 60% have one to three virtual accounts; a
// membership holds account roles (mostly), virtual-account roles, a
// contact type, privileges; 4% expired, 4% expire later, 10% came from a
// request.
func Generate(seed uint64, size Size) *Dataset {
	r := rand.New(rand.NewPCG(seed, 0x6761746568))
	d := &Dataset{byAccount: map[string][]int{}, byUser: map[string][]int{}, account: map[string]*engine.Account{}}
	for i := range size.Users {
		id := fmt.Sprintf("u%05d", i)
		d.Users = append(d.Users, engine.User{
			ID: id, Email: id + "@example.com", FirstName: "First" + id, LastName: "Last" + id,
		})
	}
	nResellers := max(1, size.Accounts/20)
	for i := range size.Accounts {
		a := engine.Account{Name: fmt.Sprintf("Account %d", i), VirtualAccounts: []string{}}
		switch {
		case i < nResellers:
			a.ID = fmt.Sprintf("rsl%04d", i)
			d.resellers = append(d.resellers, a.ID)
		default:
			a.ID = fmt.Sprintf("acct%05d", i)
			if r.IntN(5) == 0 {
				a.Partner = d.resellers[r.IntN(nResellers)]
				d.tenants = append(d.tenants, a.ID)
			}
			if r.IntN(10) < 6 {
				for v := range 1 + r.IntN(3) {
					a.VirtualAccounts = append(a.VirtualAccounts, fmt.Sprintf("%s-va%d", a.ID, v))
				}
			}
		}
		d.Accounts = append(d.Accounts, a)
	}
	for i := range d.Accounts {
		d.account[d.Accounts[i].ID] = &d.Accounts[i]
	}
	// Memberships: per account, distinct users, a count around the mean.
	mean := size.Memberships / size.Accounts
	for ai := range d.Accounts {
		a := &d.Accounts[ai]
		n := mean
		if ai < len(d.Accounts)-1 {
			n = 1 + r.IntN(2*mean-1)
		} else {
			n = max(1, size.Memberships-len(d.Members))
		}
		seen := map[string]bool{}
		for k := 0; k < n; k++ {
			u := d.Users[r.IntN(len(d.Users))].ID
			if seen[u] {
				continue
			}
			seen[u] = true
			m := d.membership(r, a, u, k)
			d.byAccount[a.ID] = append(d.byAccount[a.ID], len(d.Members))
			d.byUser[u] = append(d.byUser[u], len(d.Members))
			d.Members = append(d.Members, m)
		}
	}
	// Tenant grants: a third of the tenants are exclusive; most name one or
	// two members of their partner, a few grants expired or end later.
	for _, t := range d.tenants {
		if r.IntN(3) != 0 {
			continue
		}
		d.Exclusive = append(d.Exclusive, t)
		partnerMembers := d.byAccount[d.account[t].Partner]
		for g := range 1 + r.IntN(2) {
			if len(partnerMembers) == 0 {
				break
			}
			user := d.Members[partnerMembers[r.IntN(len(partnerMembers))]].User
			grant := engine.Grant{Request: fmt.Sprintf("01J%07d%02d", r.IntN(10_000_000), g), GrantedBy: "owner-of-" + t}
			switch r.IntN(10) {
			case 0:
				grant.ExpiresAt = &expired
			case 1:
				grant.ExpiresAt = &later
			}
			d.Grants = append(d.Grants, engine.TenantGrants{Tenant: t, User: user, Grants: []engine.Grant{grant}})
		}
	}
	return d
}

func (d *Dataset) membership(r *rand.Rand, a *engine.Account, user string, k int) engine.Membership {
	m := engine.Membership{Account: a.ID, User: user, Roles: []string{}, AddedBy: "admin-of-" + a.ID, AddedAt: Now.AddDate(-1, 0, 0)}
	if a.ID[0] == 'r' { // a reseller: partner roles
		m.Roles = append(m.Roles, [...]string{"tm_admin", "impersonator", "account_user", "account_viewer"}[r.IntN(4)])
	} else {
		switch x := r.IntN(100); {
		case x < 30:
			m.Roles = append(m.Roles, "account_viewer")
		case x < 60:
			m.Roles = append(m.Roles, "account_user")
		case x < 70:
			m.Roles = append(m.Roles, "account_admin")
		case x < 76:
			m.Roles = append(m.Roles, "account_approver")
		case x < 80:
			m.Roles = append(m.Roles, "account_viewer", "account_approver")
		}
		if len(a.VirtualAccounts) > 0 && (len(m.Roles) == 0 || r.IntN(5) == 0) {
			m.VARoles = map[string]string{}
			va := a.VirtualAccounts[r.IntN(len(a.VirtualAccounts))]
			m.VARoles[va] = [...]string{"va_viewer", "va_user", "va_admin"}[r.IntN(3)]
		}
	}
	switch {
	case k == 0:
		m.Contact = engine.ContactPrimary
	case r.IntN(8) == 0:
		m.Contact = engine.ContactSecondary
	}
	if r.IntN(10) < 4 {
		m.Privileges = map[string]string{}
		for range 1 + r.IntN(3) {
			app := appNames[r.IntN(len(appNames))]
			m.Privileges[app] = apps[app][r.IntN(len(apps[app]))]
		}
	}
	switch x := r.IntN(100); {
	case x < 4:
		m.ExpiresAt = &expired
	case x < 8:
		m.ExpiresAt = &later
	}
	if r.IntN(10) == 0 {
		m.Request = fmt.Sprintf("01K%09d", r.IntN(1_000_000_000))
	}
	return m
}

// Load writes the dataset into store, in batches of a few hundred accounts
// per commit. The store must not hold these accounts already.
func (d *Dataset) Load(ctx context.Context, store engine.Store) error {
	const batch = 500
	for start := 0; start < len(d.Users); start += batch * 4 {
		c := engine.Change{Users: d.Users[start:min(start+batch*4, len(d.Users))]}
		if err := store.Commit(ctx, c); err != nil {
			return fmt.Errorf("load users: %w", err)
		}
	}
	grants := map[string][]engine.TenantGrants{}
	for _, g := range d.Grants {
		grants[g.Tenant] = append(grants[g.Tenant], g)
	}
	exclusive := map[string]bool{}
	for _, t := range d.Exclusive {
		exclusive[t] = true
	}
	for start := 0; start < len(d.Accounts); start += batch {
		c := engine.Change{Versions: map[string]uint64{}}
		for _, a := range d.Accounts[start:min(start+batch, len(d.Accounts))] {
			c.Versions[a.ID] = 0
			c.Accounts = append(c.Accounts, a)
			for _, i := range d.byAccount[a.ID] {
				c.Members = append(c.Members, d.Members[i])
			}
			c.Grants = append(c.Grants, grants[a.ID]...)
			if exclusive[a.ID] {
				c.ExclusiveTenants = append(c.ExclusiveTenants, a.ID)
			}
		}
		if err := store.Commit(ctx, c); err != nil {
			return fmt.Errorf("load accounts: %w", err)
		}
	}
	return nil
}

var (
	roleActions  = []string{"view", "use", "manage", "approve"}
	imperActions = []string{"impersonate.configure", "impersonate.support"}
)

// question draws one question: mostly a member asking about their account
// (a role action, 20% a privilege action), 8% a partner's user asking to
// impersonate a tenant, and a few unknown subjects, accounts, actions and
// virtual accounts that are not in the account.
func (d *Dataset) question(r *rand.Rand) engine.DecisionRequest {
	var q engine.DecisionRequest
	x := r.IntN(100)
	switch {
	case x < 8 && len(d.tenants) > 0:
		t := d.tenants[r.IntN(len(d.tenants))]
		pm := d.byAccount[d.account[t].Partner]
		q.Resource.Account = t
		q.Action = imperActions[r.IntN(2)]
		if len(pm) > 0 && r.IntN(4) != 0 {
			q.Subject = d.Members[pm[r.IntN(len(pm))]].User
		} else {
			q.Subject = d.Users[r.IntN(len(d.Users))].ID
		}
		return q
	case x < 12: // anyone about any account
		q.Subject = d.Users[r.IntN(len(d.Users))].ID
		q.Resource.Account = d.Accounts[r.IntN(len(d.Accounts))].ID
	default:
		m := d.Members[r.IntN(len(d.Members))]
		q.Subject, q.Resource.Account = m.User, m.Account
	}
	switch y := r.IntN(100); {
	case y < 1:
		q.Subject = fmt.Sprintf("ghost%05d", r.IntN(100_000))
	case y < 2:
		q.Resource.Account = fmt.Sprintf("gone%05d", r.IntN(100_000))
	}
	switch y := r.IntN(100); {
	case y < 2:
		q.Action = fmt.Sprintf("unknown.action%d", r.IntN(50))
	case y < 22:
		app := appNames[r.IntN(len(appNames))]
		levels := apps[app]
		q.Action = app + "." + levels[r.IntN(len(levels))]
		if levels[0] == "none" && q.Action == app+".none" {
			q.Action = app + "." + levels[len(levels)-1]
		}
	default:
		q.Action = roleActions[r.IntN(len(roleActions))]
	}
	if a, ok := d.account[q.Resource.Account]; ok && len(a.VirtualAccounts) > 0 && r.IntN(2) == 0 {
		q.Resource.VirtualAccount = a.VirtualAccounts[r.IntN(len(a.VirtualAccounts))]
		if r.IntN(50) == 0 {
			q.Resource.VirtualAccount = a.ID + "-elsewhere"
		}
	}
	return q
}

func key(q engine.DecisionRequest) string {
	return q.Subject + "\x00" + q.Action + "\x00" + q.Resource.Account + "\x00" + q.Resource.VirtualAccount
}

// Uniform returns n distinct questions drawn from seed: no question
// repeats, so an exact decision cache never hits.
func (d *Dataset) Uniform(seed uint64, n int) []engine.DecisionRequest {
	r := rand.New(rand.NewPCG(seed, 0x756e69))
	seen := map[string]bool{}
	out := make([]engine.DecisionRequest, 0, n)
	for len(out) < n {
		q := d.question(r)
		if k := key(q); !seen[k] {
			seen[k] = true
			out = append(out, q)
		}
	}
	return out
}

// Zipf returns n questions in which a few subjects ask most of them, as
// real traffic does: subjects of the uniform questions are ranked in a
// seeded order and drawn with a Zipf law (s=1.1), then one of that
// subject's questions is drawn uniformly. Questions repeat.
func Zipf(uniform []engine.DecisionRequest, seed uint64, n int) []engine.DecisionRequest {
	r := rand.New(rand.NewPCG(seed, 0x7a697066))
	bySubject := map[string][]int{}
	var subjects []string
	for i, q := range uniform {
		if _, ok := bySubject[q.Subject]; !ok {
			subjects = append(subjects, q.Subject)
		}
		bySubject[q.Subject] = append(bySubject[q.Subject], i)
	}
	r.Shuffle(len(subjects), func(i, j int) { subjects[i], subjects[j] = subjects[j], subjects[i] })
	z := rand.NewZipf(r, 1.1, 1, uint64(len(subjects)-1))
	out := make([]engine.DecisionRequest, n)
	for i := range out {
		qs := bySubject[subjects[z.Uint64()]]
		out[i] = uniform[qs[r.IntN(len(qs))]]
	}
	return out
}
