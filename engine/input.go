package engine

import (
	"context"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Keys of the decision input (POLICIES.md, "Decisions"). The question keys
// come from the caller; the others gatehouse fills from the store and the
// clock, and a caller never sets them (filledInputKeys).
const (
	inputSubject           = "subject"
	inputAction            = "action"
	inputResource          = "resource"
	inputContext           = "context"
	inputConsistency       = "consistency"
	inputNow               = "now_ns"
	inputUser              = "user"
	inputAccount           = "account"
	inputMembership        = "membership"
	inputPartnerMembership = "partner_membership"
	inputTenant            = "tenant"
	inputCaller            = "caller"

	resourceAccount        = "account"
	resourceVirtualAccount = "virtual_account"
)

// filledInputKeys are the keys of the decision input that gatehouse fills,
// with where their value comes from. decisionInput sets no other key besides
// the question's (a test keeps it so).
var filledInputKeys = map[string]string{
	inputNow:               "the clock",
	inputUser:              "the store",
	inputAccount:           "the store",
	inputMembership:        "the store",
	inputPartnerMembership: "the store",
	inputTenant:            "the store",
	inputCaller:            "the caller's credentials (serve --decision-auth)",
}

// DecisionInput returns the input the policy evaluates for req, as decoded
// JSON (POLICIES.md, "Decisions"): the question, the records read from the
// store now and now_ns from the engine's clock. It is what Decide gives the
// policy, for diagnostics and for comparing gatehouse with `opa run` on the
// same input (make bench-decisions). Errors: a *FieldError for a malformed
// request, or the store's error.
func (e *Engine) DecisionInput(ctx context.Context, req DecisionRequest) (any, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	snap, err := e.store.Snapshot(ctx, req.Subject, req.Resource.Account)
	if err != nil {
		return nil, err
	}
	return ast.JSON(decisionInput(req, snap, e.now()))
}

// decisionInput builds the decision input of POLICIES.md directly as an OPA
// value: no JSON round trip on the hot path.
func decisionInput(req DecisionRequest, s Snapshot, now time.Time) ast.Value {
	resource := ast.NewObject(ast.Item(ast.InternedTerm(resourceAccount), ast.StringTerm(req.Resource.Account)))
	if req.Resource.VirtualAccount != "" {
		resource.Insert(ast.InternedTerm(resourceVirtualAccount), ast.StringTerm(req.Resource.VirtualAccount))
	}
	in := ast.NewObject(
		ast.Item(ast.InternedTerm(inputSubject), ast.StringTerm(req.Subject)),
		ast.Item(ast.InternedTerm(inputAction), ast.StringTerm(req.Action)),
		ast.Item(ast.InternedTerm(inputResource), ast.NewTerm(resource)),
		ast.Item(ast.InternedTerm(inputNow), ast.IntNumberTerm(int(now.UnixNano()))),
		ast.Item(ast.InternedTerm(inputContext), anyTerm(req.Context)),
	)
	if req.Caller != "" {
		in.Insert(ast.InternedTerm(inputCaller), ast.StringTerm(req.Caller))
	}
	if s.User != nil {
		in.Insert(ast.InternedTerm(inputUser), userTerm(*s.User))
	}
	if s.Account != nil {
		in.Insert(ast.InternedTerm(inputAccount), accountTerm(*s.Account))
	}
	if s.Membership != nil {
		in.Insert(ast.InternedTerm(inputMembership), membershipTerm(*s.Membership))
	}
	if s.PartnerMembership != nil {
		in.Insert(ast.InternedTerm(inputPartnerMembership), membershipTerm(*s.PartnerMembership))
	}
	grants := make([]*ast.Term, 0, len(s.TenantGrants))
	for _, g := range s.TenantGrants {
		obj := ast.NewObject(
			ast.Item(ast.InternedTerm("request"), ast.StringTerm(g.Request)),
			ast.Item(ast.InternedTerm("granted_by"), ast.StringTerm(g.GrantedBy)),
		)
		insertTime(obj, "expires_at_ns", g.ExpiresAt)
		grants = append(grants, ast.NewTerm(obj))
	}
	in.Insert(ast.InternedTerm(inputTenant), ast.ObjectTerm(
		ast.Item(ast.InternedTerm("exclusive"), ast.InternedTerm(s.TenantExclusive)),
		ast.Item(ast.InternedTerm("grants"), ast.ArrayTerm(grants...)),
	))
	return in
}

func userTerm(u User) *ast.Term {
	return ast.ObjectTerm(
		ast.Item(ast.InternedTerm("id"), ast.StringTerm(u.ID)),
		ast.Item(ast.InternedTerm("email"), ast.StringTerm(u.Email)),
		ast.Item(ast.InternedTerm("first_name"), ast.StringTerm(u.FirstName)),
		ast.Item(ast.InternedTerm("last_name"), ast.StringTerm(u.LastName)),
		ast.Item(ast.InternedTerm("organization"), ast.StringTerm(u.Organization)),
	)
}

func accountTerm(a Account) *ast.Term {
	return ast.ObjectTerm(
		ast.Item(ast.InternedTerm("id"), ast.StringTerm(a.ID)),
		ast.Item(ast.InternedTerm("name"), ast.StringTerm(a.Name)),
		ast.Item(ast.InternedTerm("virtual_accounts"), stringsTerm(a.VirtualAccounts)),
		ast.Item(ast.InternedTerm("partner"), ast.StringTerm(a.Partner)),
		ast.Item(ast.InternedTerm("settings"), anyTerm(a.Settings)),
	)
}

func membershipTerm(m Membership) *ast.Term {
	obj := ast.NewObject(
		ast.Item(ast.InternedTerm("roles"), stringsTerm(m.Roles)),
		ast.Item(ast.InternedTerm("va_roles"), stringMapTerm(m.VARoles)),
		ast.Item(ast.InternedTerm("contact"), ast.StringTerm(m.Contact)),
		ast.Item(ast.InternedTerm("privileges"), stringMapTerm(m.Privileges)),
		ast.Item(ast.InternedTerm("added_by"), ast.StringTerm(m.AddedBy)),
	)
	if m.Request != "" {
		obj.Insert(ast.InternedTerm("request"), ast.StringTerm(m.Request))
	}
	insertTime(obj, "expires_at_ns", m.ExpiresAt)
	return ast.NewTerm(obj)
}

func insertTime(obj ast.Object, key string, t *time.Time) {
	if t != nil {
		obj.Insert(ast.InternedTerm(key), ast.IntNumberTerm(int(t.UnixNano())))
	}
}

func stringsTerm(ss []string) *ast.Term {
	terms := make([]*ast.Term, len(ss))
	for i, s := range ss {
		terms[i] = ast.StringTerm(s)
	}
	return ast.ArrayTerm(terms...)
}

func stringMapTerm(m map[string]string) *ast.Term {
	obj := ast.NewObjectWithCapacity(len(m))
	for k, v := range m {
		obj.Insert(ast.StringTerm(k), ast.StringTerm(v))
	}
	return ast.NewTerm(obj)
}

// anyTerm converts decoded JSON (maps, slices, strings, numbers, booleans)
// to an OPA term; nil is an empty object. A json.Number (JSON decoded with
// UseNumber, as the HTTP API and the decision log reader do) becomes the
// OPA number of exactly its digits, so an integer above 2^53 reaches the
// policy unchanged; a float64 is already rounded.
func anyTerm(v map[string]any) *ast.Term {
	if v == nil {
		return ast.ObjectTerm()
	}
	val, err := ast.InterfaceToValue(v)
	if err != nil {
		return ast.ObjectTerm()
	}
	return ast.NewTerm(val)
}
