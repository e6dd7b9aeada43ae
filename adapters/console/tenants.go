package console

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/client"
)

// associationRows is how many association rows the tenant request form
// offers; rows left empty are not sent.
const associationRows = 3

// tenantsPage is the reseller's outgoing tenant requests and the form to
// submit one (R35, R36), and the incoming requests of the tenants the
// visitor administers, without name or users (R37).
type tenantsPage struct {
	Outgoing []client.AccessRequest
	Incoming []client.AccessRequest
	Rows     []int
}

func (c *Console) tenantsPage(v *visit) { c.showTenants(v, http.StatusOK, view{}) }

func (c *Console) showTenants(v *visit, status int, vw view) {
	mine, err := v.api().ListMyRequests(v.ctx, client.RequestFilter{Limit: 1000})
	if err != nil {
		v.apiFailure(err)
		return
	}
	page := tenantsPage{}
	for i := range associationRows {
		page.Rows = append(page.Rows, i)
	}
	for _, r := range mine {
		if r.Kind == "tenant" {
			page.Outgoing = append(page.Outgoing, r)
		}
	}
	accounts, err := v.knownAccounts()
	if err != nil {
		v.apiFailure(err)
		return
	}
	for _, a := range accounts {
		reqs, err := v.api().ListRequests(v.ctx, a, client.RequestFilter{Limit: 1000})
		if refused(err) {
			continue
		}
		if err != nil {
			v.apiFailure(err)
			return
		}
		for _, r := range reqs {
			if r.Kind == "tenant" {
				page.Incoming = append(page.Incoming, r)
			}
		}
	}
	vw.Title = "Tenant access"
	vw.Nav = "tenants"
	vw.Page = page
	v.show(status, "tenants", vw)
}

// splitIDs reads a list of ids separated by commas or spaces.
func splitIDs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
}

// submitTenantRequest sends a tenant access request (R35, R36).
func (c *Console) submitTenantRequest(v *visit) {
	f := v.r.PostForm
	req := client.TenantRequest{Name: strings.TrimSpace(f.Get("name")), Message: strings.TrimSpace(f.Get("message"))}
	for i := range associationRows {
		users, tenants := splitIDs(f.Get(fieldN("users", i))), splitIDs(f.Get(fieldN("tenants", i)))
		if len(users) == 0 && len(tenants) == 0 {
			continue
		}
		req.Associations = append(req.Associations, client.Association{Users: users, Tenants: tenants})
	}
	if req.Associations == nil {
		req.Associations = []client.Association{}
	}
	if _, err := v.api().RequestTenantAccess(v.ctx, req); err != nil {
		fe, ok := placeErrors(err, "name", "message", "associations")
		if !ok {
			v.apiFailure(err)
			return
		}
		c.showTenants(v, statusOf(err), view{Errors: fe, Form: f, Open: "tenant"})
		return
	}
	v.redirect(Prefix+"tenants", "submitted")
}

// fieldN names the field of association row i.
func fieldN(name string, i int) string { return name + "." + string(rune('0'+i)) }
