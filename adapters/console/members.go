package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/client"
	"github.com/gatehouse/gatehouse/engine"
)

// membersPage is an account's members and the form that adds or changes one.
type membersPage struct {
	Account      client.Account
	Members      []client.Member
	AccountRoles []string
	VARoles      []string
	Privileges   []privilege
	// Edit is the member whose access the form shows, if one was chosen.
	Edit *client.Member
}

func (c *Console) membersPage(v *visit) { c.showMembers(v, http.StatusOK, view{}) }

// showMembers renders the members of the account in the path, as the API
// lets the visitor see them (R43).
func (c *Console) showMembers(v *visit, status int, vw view) {
	id := v.r.PathValue("account")
	acc, err := v.api().GetAccount(v.ctx, id)
	if err != nil {
		v.apiFailure(err)
		return
	}
	members, err := v.api().ListMembers(v.ctx, id)
	if err != nil {
		v.apiFailure(err)
		return
	}
	page := membersPage{Account: acc, Members: members, AccountRoles: accountRoles, VARoles: vaRoles, Privileges: privileges}
	if edit := v.r.URL.Query().Get("edit"); edit != "" {
		for i := range members {
			if members[i].User == edit {
				page.Edit = &members[i]
			}
		}
	}
	vw.Title = "Members of " + acc.Name
	vw.Nav = "accounts"
	vw.Page = page
	v.show(status, "members", vw)
}

// setMember adds an existing user directly (R26, R31) or replaces a
// member's access whole (PUT): roles, virtual-account roles, contact
// type, privileges, justification and optional expiry.
func (c *Console) setMember(v *visit) {
	f := v.r.PostForm
	account := v.r.PathValue("account")
	user := strings.TrimSpace(f.Get("user"))
	in := client.MemberInput{
		Roles: f["roles"], Contact: f.Get("contact"), Justification: strings.TrimSpace(f.Get("justification")),
	}
	for _, va := range f["va"] {
		if role := f.Get("va_role." + va); role != "" {
			if in.VARoles == nil {
				in.VARoles = map[string]string{}
			}
			in.VARoles[va] = role
		}
	}
	for _, p := range privileges {
		if level := f.Get("privilege." + p.App); level != "" {
			if in.Privileges == nil {
				in.Privileges = map[string]string{}
			}
			in.Privileges[p.App] = level
		}
	}
	var err error
	if in.ExpiresAt, err = parseExpiry(f.Get("expires_at")); err != nil {
		err = localError(err.Error())
	} else if user == "" {
		err = localError("user is required: the id of an existing user")
	} else if !engine.ValidID(user) {
		err = localError(fmt.Sprintf("user must be a user id: 1-%d letters, digits, '.', '_', '-' or '@'", engine.MaxIDLength))
	} else {
		_, err = v.api().SetMember(v.ctx, account, user, in)
	}
	if err != nil {
		c.memberRefused(v, err, "member", "user", "role", "virtual_accounts", "contact", "privileges", "justification", "expires_at")
		return
	}
	v.redirect(Prefix+"accounts/"+pathEscape(account)+"/members", "member")
}

// removeMember removes a member; R12 refusals are shown on the page.
func (c *Console) removeMember(v *visit) {
	account := v.r.PathValue("account")
	if err := v.api().RemoveMember(v.ctx, account, v.r.PathValue("user")); err != nil {
		c.memberRefused(v, err, "remove")
		return
	}
	v.redirect(Prefix+"accounts/"+pathEscape(account)+"/members", "removed")
}

// memberRefused shows the members page again with err beside its fields,
// or plainly above the list (R10, R12, R30 refusals).
func (c *Console) memberRefused(v *visit, err error, open string, fields ...string) {
	fe, ok := placeErrors(err, fields...)
	if !ok {
		v.apiFailure(err)
		return
	}
	c.showMembers(v, statusOf(err), view{Errors: fe, Form: v.r.PostForm, Open: open})
}

// statusOf is the HTTP status of an API error, 422 for a refusal found
// before calling it.
func statusOf(err error) int {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return http.StatusUnprocessableEntity
}
