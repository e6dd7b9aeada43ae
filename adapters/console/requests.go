package console

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/client"
)

// knownAccounts are the accounts the console offers the visitor: those
// the API addressed events to them about (R42: a member is told when they
// are added, a decider when a request is made), those they asked access
// to, and extra. The API has no listing of a user's accounts; which of
// these they may see is still the policy's answer on each page (R43).
func (v *visit) knownAccounts(extra ...string) ([]string, error) {
	seen := map[string]bool{}
	for _, a := range extra {
		if a != "" {
			seen[a] = true
		}
	}
	events, err := v.api().ListEvents(v.ctx, client.Page{Limit: 1000, Order: client.Descending})
	if err != nil {
		return nil, err
	}
	for _, e := range events.Items {
		if e.Account != "" && !strings.HasPrefix(e.Account, "_") {
			seen[e.Account] = true
		}
	}
	mine, err := v.api().ListMyRequests(v.ctx, client.RequestFilter{Limit: 1000})
	if err != nil {
		return nil, err
	}
	for _, r := range mine {
		seen[r.Account] = true
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	slices.Sort(out)
	return out, nil
}

// refused reports whether err is the policy's refusal to show something
// (403, or 404: one the caller may not see, R43).
func refused(err error) bool { return client.IsForbidden(err) || client.IsNotFound(err) }

// pendingRow is one request awaiting the visitor's decision.
type pendingRow struct {
	client.AccessRequest
	Age string
}

type pendingPage struct {
	Rows     []pendingRow
	Accounts []string
}

// pendingPage lists the pending requests of the accounts the visitor
// decides for: those whose requests the API lets them list (R21, R37).
func (c *Console) pendingPage(v *visit) {
	start := time.Now()
	accounts, err := v.knownAccounts()
	if err != nil {
		v.apiFailure(err)
		return
	}
	page := pendingPage{}
	for _, a := range accounts {
		reqs, err := v.api().ListRequests(v.ctx, a, client.RequestFilter{Status: "pending"})
		if refused(err) {
			continue
		}
		if err != nil {
			v.apiFailure(err)
			return
		}
		page.Accounts = append(page.Accounts, a)
		for _, r := range reqs {
			page.Rows = append(page.Rows, pendingRow{AccessRequest: r, Age: age(c.now(), r.CreatedAt)})
		}
	}
	slices.SortFunc(page.Rows, func(a, b pendingRow) int { return a.CreatedAt.Compare(b.CreatedAt) })
	c.log.Debug("console pending requests", "accounts", len(accounts), "rows", len(page.Rows), "took", time.Since(start))
	v.show(http.StatusOK, "pending", view{Title: "Pending requests", Nav: "requests", Page: page})
}

// requestPage is one request with the forms that decide or change it.
type requestPage struct {
	Request client.AccessRequest
	Age     string
	// Account is nil when the visitor may not read it.
	Account      *client.Account
	AccountRoles []string
	VARoles      []string
	Contacts     []string
	Privileges   []privilege
	ReasonCodes  []string
	// Own is set when the visitor made the request: nobody decides their
	// own (R21), so the decision forms are not offered (the API would
	// refuse them).
	Own bool
}

// privilege is an application and its levels (R5), for the forms.
type privilege struct {
	App    string
	Levels []string
}

// The choices the forms offer (R1, R2, R5, R23, R24); the policy decides
// which of them a request may take, and says why when it refuses.
var (
	accountRoles = []string{"account_admin", "account_user", "account_viewer", "account_approver", "tm_admin", "impersonator"}
	vaRoles      = []string{"va_admin", "va_user", "va_viewer"}
	privileges   = []privilege{
		{"purchase", []string{"none", "downloads", "downloads_support", "full"}},
		{"reporting", []string{"none", "view"}},
		{"entitlements", []string{"none", "view", "update"}},
		{"allocations", []string{"none", "view", "update"}},
		{"manage_access", []string{"none", "view", "update"}},
		{"contact_updates", []string{"none", "view", "update"}},
		{"contact_preview", []string{"view"}},
		{"account_documents", []string{"none", "view"}},
	}
	reasonCodes = []string{"unknown_requester", "access_not_needed", "no_business_relationship", "other"}
)

func (c *Console) requestPage(v *visit) { c.showRequest(v, http.StatusOK, view{}, "") }

// showRequest renders request id's page, with the refusal of form open.
func (c *Console) showRequest(v *visit, status int, vw view, open string) {
	req, err := v.api().GetRequest(v.ctx, v.r.PathValue("id"))
	if err != nil {
		v.apiFailure(err)
		return
	}
	page := requestPage{
		Request: req, Age: age(c.now(), req.CreatedAt), AccountRoles: accountRoles, VARoles: vaRoles,
		Contacts: []string{"secondary"}, Privileges: privileges, ReasonCodes: reasonCodes,
		Own: req.Requester == v.sess.Subject,
	}
	vw.Open = open
	if acc, err := v.api().GetAccount(v.ctx, req.Account); err == nil {
		page.Account = &acc
	} else if !refused(err) {
		v.apiFailure(err)
		return
	}
	vw.Title = "Request " + req.ID
	vw.Nav = "requests"
	vw.Page = page
	v.show(status, "request", vw)
}

// formRefused shows request id's page again with err beside its fields,
// or the page's error when err is not about the form.
func (c *Console) formRefused(v *visit, err error, open string, fields ...string) {
	fe, ok := placeErrors(err, fields...)
	if !ok {
		v.apiFailure(err)
		return
	}
	status := statusOf(err)
	if status != http.StatusBadRequest && status != http.StatusUnprocessableEntity {
		// A refusal of the whole action (403), or a request no longer in
		// the state the form was for (409): said above the page, whose
		// forms may be gone.
		open = ""
	}
	c.showRequest(v, status, view{Errors: fe, Form: v.r.PostForm}, open)
}

// parseExpiry reads an optional datetime-local field, in UTC.
func parseExpiry(s string) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return &t, nil
		}
	}
	return nil, errors.New("expires_at must be a date and time such as 2027-01-31T17:00 (UTC)")
}

// localError is a refusal the console finds before calling the API,
// worded as the API words its own (it names the field).
func localError(msg string) error {
	return &client.Error{Status: http.StatusUnprocessableEntity, Code: client.CodeValidationFailed, Message: msg, Violations: []string{msg}}
}

// approve grants a request: for an account request with a scope, role,
// contact type, privileges and optional expiry (R22, R23); for a tenant
// request with an optional expiry (R38).
func (c *Console) approve(v *visit) {
	f := v.r.PostForm
	expiry, err := parseExpiry(f.Get("expires_at"))
	if err != nil {
		c.formRefused(v, localError(err.Error()), "approve", "expires_at")
		return
	}
	a := client.Approval{
		Scope: f.Get("scope"), Role: f.Get("role"), VirtualAccounts: f["virtual_accounts"],
		Contact: f.Get("contact"), Justification: strings.TrimSpace(f.Get("justification")),
		Message: strings.TrimSpace(f.Get("message")), ExpiresAt: expiry,
	}
	if a.Scope == "account" {
		a.VirtualAccounts = nil
	}
	for _, p := range privileges {
		if level := f.Get("privilege." + p.App); level != "" {
			if a.Privileges == nil {
				a.Privileges = map[string]string{}
			}
			a.Privileges[p.App] = level
		}
	}
	if _, err := v.api().Approve(v.ctx, v.r.PathValue("id"), a); err != nil {
		c.formRefused(v, err, "approve", "scope", "role", "virtual_accounts", "contact", "privileges", "expires_at", "justification", "message")
		return
	}
	v.redirect(Prefix+"requests/"+pathEscape(v.r.PathValue("id")), "approved")
}

// deny denies a request with a reason code and a message (R24).
func (c *Console) deny(v *visit) {
	f := v.r.PostForm
	d := client.Denial{ReasonCode: f.Get("reason_code"), Message: strings.TrimSpace(f.Get("message"))}
	if _, err := v.api().Deny(v.ctx, v.r.PathValue("id"), d); err != nil {
		c.formRefused(v, err, "deny", "reason_code", "message")
		return
	}
	v.redirect(Prefix+"requests/"+pathEscape(v.r.PathValue("id")), "denied")
}

// changeExpiry sets, changes or (empty) removes the expiry of a granted
// tenant request (R38).
func (c *Console) changeExpiry(v *visit) {
	expiry, err := parseExpiry(v.r.PostForm.Get("expires_at"))
	if err == nil {
		_, err = v.api().SetExpiry(v.ctx, v.r.PathValue("id"), expiry)
	} else {
		err = localError(err.Error())
	}
	if err != nil {
		c.formRefused(v, err, "expiry", "expires_at")
		return
	}
	v.redirect(Prefix+"requests/"+pathEscape(v.r.PathValue("id")), "expiry")
}

// revoke ends a granted tenant request (R38).
func (c *Console) revoke(v *visit) {
	if _, err := v.api().Revoke(v.ctx, v.r.PathValue("id"), strings.TrimSpace(v.r.PostForm.Get("message"))); err != nil {
		c.formRefused(v, err, "revoke", "message")
		return
	}
	v.redirect(Prefix+"requests/"+pathEscape(v.r.PathValue("id")), "revoked")
}
