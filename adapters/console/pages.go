package console

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/engine"
)

// statuses are the request statuses a list may be filtered by.
var statuses = []string{"pending", "granted", "denied", "expired", "revoked"}

// minePage is the visitor's own requests (R39a) and the form to ask
// access to an account (R20).
type minePage struct {
	Requests []client.AccessRequest
	Status   string
	Statuses []string
}

func (c *Console) minePage(v *visit) { c.showMine(v, http.StatusOK, view{}) }

func (c *Console) showMine(v *visit, status int, vw view) {
	filter := v.r.URL.Query().Get("status")
	reqs, err := v.api().ListMyRequests(v.ctx, client.RequestFilter{Status: filter, Limit: 1000})
	if err != nil {
		v.apiFailure(err)
		return
	}
	vw.Title = "My requests"
	vw.Nav = "mine"
	vw.Page = minePage{Requests: reqs, Status: filter, Statuses: statuses}
	v.show(status, "mine", vw)
}

// requestAccess asks access to an account (R20).
func (c *Console) requestAccess(v *visit) {
	f := v.r.PostForm
	account := strings.TrimSpace(f.Get("account"))
	var err error
	if account == "" {
		err = localError("account is required: the id of the account to ask access to")
	} else if !engine.ValidID(account) {
		err = localError(badAccountID)
	} else {
		_, err = v.api().RequestAccess(v.ctx, account, strings.TrimSpace(f.Get("justification")))
	}
	if err != nil {
		fe, ok := placeErrors(err, "account", "justification")
		if !ok {
			v.apiFailure(err)
			return
		}
		c.showMine(v, statusOf(err), view{Errors: fe, Form: f, Open: "access"})
		return
	}
	v.redirect(Prefix+"mine", "requested")
}

// badAccountID refuses an account id typed in a form that is not one
// (the API would name its path parameter, "id", not the field).
var badAccountID = fmt.Sprintf("account must be an account id: 1-%d letters, digits, '.', '_', '-' or '@'", engine.MaxIDLength)

// accountPage is one account: what it is, its requests when the visitor
// may list them, and links to its members and audit trail.
type accountPage struct {
	Account  client.Account
	Requests []client.AccessRequest
	// MayList is false when the policy does not let the visitor list its
	// requests (R43).
	MayList bool
}

// accountsPage lists the accounts the visitor may see (R43), among those
// the console knows of them (knownAccounts).
type accountsPage struct {
	Accounts []client.Account
}

// accounts lists the visitor's accounts, or sends the "open an account"
// form to the page of the account it names.
func (c *Console) accounts(v *visit) {
	if id := strings.TrimSpace(v.r.URL.Query().Get("account")); id != "" {
		if !engine.ValidID(id) {
			v.show(http.StatusBadRequest, "error", view{Title: "Bad Request", Nav: "accounts", Problem: badAccountID})
			return
		}
		http.Redirect(v.w, v.r, Prefix+"accounts/"+pathEscape(id), http.StatusSeeOther)
		return
	}
	ids, err := v.knownAccounts()
	if err != nil {
		v.apiFailure(err)
		return
	}
	page := accountsPage{}
	for _, id := range ids {
		acc, err := v.api().GetAccount(v.ctx, id)
		if refused(err) {
			continue
		}
		if err != nil {
			v.apiFailure(err)
			return
		}
		page.Accounts = append(page.Accounts, acc)
	}
	v.show(http.StatusOK, "accounts", view{Title: "Accounts", Nav: "accounts", Page: page})
}

func (c *Console) accountPage(v *visit) {
	acc, err := v.api().GetAccount(v.ctx, v.r.PathValue("account"))
	if err != nil {
		v.apiFailure(err)
		return
	}
	page := accountPage{Account: acc}
	reqs, err := v.api().ListRequests(v.ctx, acc.ID, client.RequestFilter{Limit: 1000})
	switch {
	case err == nil:
		page.Requests, page.MayList = reqs, true
	case !refused(err):
		v.apiFailure(err)
		return
	}
	v.show(http.StatusOK, "account", view{Title: acc.Name, Nav: "accounts", Page: page})
}

// auditPage is one page of an account's audit trail, newest first (R41).
type auditPage struct {
	Account string
	Items   []client.AuditRecord
	Next    string
}

func (c *Console) auditPage(v *visit) {
	account := v.r.PathValue("account")
	page, err := v.api().ListAudit(v.ctx, account, client.Page{Limit: 100, After: v.r.URL.Query().Get("after"), Order: client.Descending})
	if err != nil {
		v.apiFailure(err)
		return
	}
	v.show(http.StatusOK, "audit", view{Title: "Audit trail of " + account, Nav: "accounts",
		Page: auditPage{Account: account, Items: page.Items, Next: page.Next}})
}

// statusPage is the policy status for the security team: the active
// revision, where it came from, the last reload error, and the stored
// revisions.
type statusPage struct {
	Status    client.Status
	Revisions []client.PolicyRevision
}

func (c *Console) statusPage(v *visit) {
	st, err := v.api().Status(v.ctx)
	if err != nil {
		v.apiFailure(err)
		return
	}
	revs, err := v.api().ListPolicies(v.ctx, 20)
	if err != nil && !refused(err) {
		v.apiFailure(err)
		return
	}
	v.show(http.StatusOK, "status", view{Title: "Policy status", Nav: "status", Page: statusPage{Status: st, Revisions: revs}})
}
