package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Issue 12: sign in with the development sign-in; the session cookie is
// out of the page's reach (HttpOnly), and an unknown-to-the-API user sees
// nothing they may not.
func TestDevSignIn(t *testing.T) {
	d := startDemo(t)
	b := newBrowser(t, 1280, 900)
	// Not signed in: every page sends the browser to the sign-in page.
	b.open(d.url + "/console/requests")
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Equal(t, d.url+"/console/login", loc)
	b.screenshot("login")

	b.signIn(d, "alice")
	assert.Equal(t, "", eval[string](b, "document.cookie"), "the session cookie must be HttpOnly")
	assert.Contains(t, b.bodyText(), "No request awaits your decision")

	// Signing out ends the session.
	b.submit(chromedp.Click(chromedp.CSS(".signout button")))
	b.open(d.url + "/console/requests")
	loc, err = chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Equal(t, d.url+"/console/login", loc)
}

// R22: alice approves carol's request with the scope "selected virtual
// accounts": the list appears once the scope and a role are chosen, and
// the decision flips for acme-emea only.
func TestApproveWithVirtualAccountScope(t *testing.T) {
	d := startDemo(t)
	req := d.requestAccess(t, "carol", "acme", "EMEA renewals")
	require.False(t, d.allowed(t, "carol", "use", "acme", "acme-emea"), "before the approval")

	b := newBrowser(t, 1280, 900)
	b.signIn(d, "alice")
	assert.Contains(t, b.text("#pending"), "carol")
	assert.Contains(t, b.text("#pending"), "EMEA renewals")
	b.screenshot("pending")

	require.EqualValues(t, http.StatusOK, b.submit(chromedp.Click(chromedp.CSS(`#pending a[href="/console/requests/`+req.ID+`"]`))))
	// The virtual-account list is hidden until the scope and a role are chosen.
	assert.True(t, eval[bool](b, `document.querySelector("#va-list").hidden`))
	b.do(chromedp.Click(chromedp.CSS("#scope-va")))
	assert.True(t, eval[bool](b, `document.querySelector("#va-list").hidden`), "no role chosen yet")
	b.choose("#role", "va_user")
	assert.False(t, eval[bool](b, `document.querySelector("#va-list").hidden`), "the list appears once a role is chosen")
	b.do(chromedp.Click(chromedp.CSS("#va-acme-emea")))
	b.screenshot("approve")

	require.EqualValues(t, http.StatusOK, b.submit(chromedp.Click(chromedp.CSS("#approve-submit"))))
	assert.Equal(t, "granted", b.text("#request-status"))
	assert.Contains(t, b.bodyText(), "The request was approved.")

	assert.True(t, d.allowed(t, "carol", "use", "acme", "acme-emea"), "after the approval")
	assert.False(t, d.allowed(t, "carol", "use", "acme", "acme-us"), "acme-us was not chosen")
	assert.Equal(t, "granted", d.getRequest(t, "carol", req.ID).Status)
}

// R24: nina denies bob's request to northwind with a reason code and a
// message; northwind requires a reason, and the 422 is shown beside the
// reason field.
func TestDenyWithReasonCode(t *testing.T) {
	d := startDemo(t)
	req := d.requestAccess(t, "bob", "northwind", "renewals")
	b := newBrowser(t, 1280, 900)
	b.signIn(d, "nina")
	b.open(d.url + "/console/requests/" + req.ID)

	// No reason: northwind's settings require one (R24), 422 beside the field.
	require.EqualValues(t, http.StatusUnprocessableEntity, b.submit(
		chromedp.SendKeys(chromedp.CSS("#deny-message"), "not a northwind employee"),
		chromedp.Click(chromedp.CSS("#deny-submit"))))
	assert.Contains(t, b.text("#reason_code-errors"), "requires a reason_code")
	assert.Equal(t, "not a northwind employee", eval[string](b, `document.querySelector("#deny-message").value`), "what was typed is kept")
	b.screenshot("deny-422")
	assert.Equal(t, "pending", d.getRequest(t, "bob", req.ID).Status, "a refusal changes nothing")

	b.choose("#reason_code", "no_business_relationship")
	require.EqualValues(t, http.StatusOK, b.submit(chromedp.Click(chromedp.CSS("#deny-submit"))))
	assert.Equal(t, "denied", b.text("#request-status"))
	assert.Equal(t, "no_business_relationship", b.text("#request-reason"))

	got := d.getRequest(t, "bob", req.ID)
	assert.Equal(t, "denied", got.Status)
	assert.Equal(t, "no_business_relationship", got.ReasonCode)
	assert.Equal(t, "not a northwind employee", got.Message)

	// bob sees the decision on his own page (R39a).
	bb := newBrowser(t, 1280, 900)
	bb.signIn(d, "bob")
	bb.open(d.url + "/console/mine")
	assert.Contains(t, bb.text("#mine"), "denied")
	assert.Contains(t, bb.text("#mine"), "not a northwind employee")
	require.EqualValues(t, http.StatusOK, bb.submit(chromedp.Click(chromedp.CSS(`#mine a[href="/console/requests/`+req.ID+`"]`))))
	assert.Equal(t, "denied", bb.text("#request-status"))

	// His next request is his own: no decision form is offered (R21).
	next := d.requestAccess(t, "bob", "northwind", "again")
	bb.open(d.url + "/console/requests/" + next.ID)
	assert.Contains(t, bb.text("#own-request"), "another decider of northwind decides it")
	assert.Equal(t, 0, eval[int](bb, `document.querySelectorAll("#approve-form, #deny-form").length`))
}

// R35-R38: elizabeth submits a tenant request from the console; tom, the
// tenant's admin, sees it without its name or users, grants it with an
// expiry, and caroline may then impersonate tom-sawyer.
func TestTenantAdminCannotSeeNameOrUsers(t *testing.T) {
	d := startDemo(t)
	eb := newBrowser(t, 1280, 900)
	eb.signIn(d, "elizabeth")
	eb.open(d.url + "/console/tenants")
	eb.do(chromedp.Click(chromedp.CSS("#tenant-request summary")))
	require.EqualValues(t, http.StatusOK, eb.submit(
		chromedp.SendKeys(chromedp.CSS("#tenant-name"), "SupportAccess"),
		chromedp.SendKeys(chromedp.CSS("#tenant-message"), "Classics account managers"),
		chromedp.SendKeys(chromedp.CSS("#assoc-users-0"), "caroline, charlotte"),
		chromedp.SendKeys(chromedp.CSS("#assoc-tenants-0"), "tom-sawyer"),
		chromedp.Click(chromedp.CSS("#tenant-form button[type=submit]"))))
	out := eb.text("#outgoing")
	assert.Contains(t, out, "SupportAccess")
	assert.Contains(t, out, "caroline, charlotte")
	assert.Contains(t, out, "pending")
	eb.screenshot("tenants-reseller")

	tb := newBrowser(t, 1280, 900)
	tb.signIn(d, "tom")
	tb.open(d.url + "/console/accounts")
	assert.Contains(t, tb.text("#accounts"), "Tom Sawyer Fence Painting Co.")
	assert.NotContains(t, tb.text("#accounts"), "Classics, Inc.", "tom is no member of the reseller (R43)")
	tb.open(d.url + "/console/tenants")
	in := tb.text("#incoming")
	assert.Contains(t, in, "classics")
	assert.Contains(t, in, "Classics account managers")
	body := tb.bodyText()
	assert.NotContains(t, body, "SupportAccess", "R37: the tenant never sees the request's name")
	assert.NotContains(t, body, "caroline", "R37: nor its users")
	assert.NotContains(t, body, "charlotte")
	tb.screenshot("tenants-tenant")

	require.EqualValues(t, http.StatusOK, tb.submit(chromedp.Click(chromedp.CSS("#incoming a"))))
	body = tb.bodyText()
	assert.NotContains(t, body, "SupportAccess")
	assert.NotContains(t, body, "caroline")
	assert.False(t, d.allowed(t, "caroline", "impersonate.support", "tom-sawyer", ""), "before the grant")
	b := tb
	b.do(chromedp.SendKeys(chromedp.CSS("#approve-expiry"), "12312099"), chromedp.SendKeys(chromedp.CSS("#approve-expiry"), "\t1700"))
	require.EqualValues(t, http.StatusOK, b.submit(chromedp.Click(chromedp.CSS("#approve-submit"))))
	assert.Equal(t, "granted", b.text("#request-status"))
	assert.Contains(t, b.text("#request-expiry"), "2099")
	assert.True(t, d.allowed(t, "caroline", "impersonate.support", "tom-sawyer", ""), "after the grant")
	assert.False(t, d.allowed(t, "jane", "impersonate.support", "tom-sawyer", ""), "R39: jane was not named")

	// Change the expiry, then revoke (R38).
	b.do(chromedp.Clear(chromedp.CSS("#expiry")))
	require.EqualValues(t, http.StatusOK, b.submit(chromedp.Click(chromedp.CSS("#expiry-form button[type=submit]"))))
	assert.Contains(t, b.bodyText(), "The expiry was changed.")
	require.EqualValues(t, http.StatusOK, b.submit(chromedp.Click(chromedp.CSS("#revoke-form button[type=submit]"))))
	assert.Equal(t, "revoked", b.text("#request-status"))
	assert.False(t, d.allowed(t, "caroline", "impersonate.support", "tom-sawyer", ""), "after the revocation")
}

// A form posted from another site, or without the session's CSRF token,
// is refused (403) and changes nothing.
func TestForgedCrossSitePostRefused(t *testing.T) {
	d := startDemo(t)
	req := d.requestAccess(t, "carol", "acme", "please")
	b := newBrowser(t, 1280, 900)
	b.signIn(d, "alice")

	// An attacker's page on another origin submits an approval form.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/console/requests/%s/approve">
<input name="scope" value="account"><input name="role" value="account_admin"><input name="csrf" value="guessed">
</form><script>document.getElementById("f").submit()</script>`, d.url, req.ID)
	}))
	defer evil.Close()
	status, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(evil.URL))
	require.NoError(t, err)
	// RunResponse returns the first document: the attacker's page; wait
	// for the console's answer to the forged POST.
	require.EqualValues(t, http.StatusOK, status.Status)
	b.do(chromedp.WaitVisible(chromedp.CSS("#problem")))
	assert.Contains(t, b.text("#problem"), "did not come from this console")
	assert.Equal(t, "pending", d.getRequest(t, "carol", req.ID).Status, "the forged approval changed nothing")

	// The same form on the console's own page, with its token removed.
	b.open(d.url + "/console/requests/" + req.ID)
	b.do(chromedp.SetAttributeValue(chromedp.CSS(`#approve-form input[name=csrf]`), "value", "wrong"))
	assert.EqualValues(t, http.StatusForbidden, b.submit(chromedp.Click(chromedp.CSS("#approve-submit"))))
	assert.Equal(t, "pending", d.getRequest(t, "carol", req.ID).Status)
	assert.False(t, d.allowed(t, "carol", "manage", "acme", ""))
}

// A justification with markup is shown as text: no element is made of
// it, no script runs.
func TestMarkupRenderedAsText(t *testing.T) {
	d := startDemo(t)
	evil := `<script>alert("xss")</script><img src=x onerror=alert("img")><b>bold</b>`
	req := d.requestAccess(t, "carol", "acme", evil)
	b := newBrowser(t, 1280, 900)
	b.signIn(d, "alice")
	assert.Contains(t, b.text("#pending"), evil)
	b.open(d.url + "/console/requests/" + req.ID)
	assert.Equal(t, evil, b.text("#request-justification"))
	assert.Equal(t, 0, eval[int](b, `document.querySelectorAll("#request-justification *").length`), "no element was made of the markup")
	assert.Equal(t, 0, eval[int](b, `document.querySelectorAll("img").length`))
	b.mu.Lock()
	defer b.mu.Unlock()
	assert.Empty(t, b.dialogs, "no script of the justification ran")
}

// R26, R12: alice adds carol directly, and removing alice, acme's only
// primary contact and last admin, is refused with the policy's words.
func TestMembers(t *testing.T) {
	d := startDemo(t)
	b := newBrowser(t, 1280, 900)
	b.signIn(d, "alice")
	b.open(d.url + "/console/accounts/acme/members")
	// A direct add without a justification: 422 beside the field (R26).
	require.EqualValues(t, http.StatusUnprocessableEntity, b.submit(
		chromedp.SendKeys(chromedp.CSS("#member-user"), "carol"),
		chromedp.Click(chromedp.CSS("#member-role-account_viewer")),
		chromedp.Click(chromedp.CSS("#member-form button[type=submit]"))))
	assert.Contains(t, b.bodyText(), "a justification is required")
	b.do(chromedp.SendKeys(chromedp.CSS("#member-justification"), "auditor"))
	require.EqualValues(t, http.StatusOK, b.submit(chromedp.Click(chromedp.CSS("#member-form button[type=submit]"))))
	assert.Contains(t, b.text("#members"), "carol")
	assert.True(t, d.allowed(t, "carol", "view", "acme", ""))
	b.screenshot("members")

	// Change carol's access from the "Change" link: the form is filled
	// with her access, and saving replaces it whole.
	require.EqualValues(t, http.StatusOK, b.submit(chromedp.Click(chromedp.CSS(`a[href="/console/accounts/acme/members?edit=carol#member-form"]`))))
	assert.Equal(t, "carol", eval[string](b, `document.querySelector("#member-user").value`))
	assert.True(t, eval[bool](b, `document.querySelector("#member-role-account_viewer").checked`))
	b.do(chromedp.Click(chromedp.CSS("#member-role-account_viewer")), chromedp.Click(chromedp.CSS("#member-role-account_user")))
	require.EqualValues(t, http.StatusOK, b.submit(chromedp.Click(chromedp.CSS("#member-form button[type=submit]"))))
	assert.True(t, d.allowed(t, "carol", "use", "acme", "acme-us"), "account_user holds va_user on every virtual account (R3)")

	// R10: at most 4 secondary contacts; the fifth is refused in the
	// policy's words.
	for _, u := range []string{"bob", "nina", "omar", "tom"} {
		status := d.call(t, "alice", http.MethodPatch, "/v1/accounts/acme/members/"+u,
			map[string]any{"contact": "secondary", "justification": "contact"}, nil)
		require.Contains(t, []int{http.StatusOK, http.StatusCreated}, status, u)
	}
	b.open(d.url + "/console/accounts/acme/members")
	b.do(chromedp.SendKeys(chromedp.CSS("#member-user"), "pooh"), chromedp.SendKeys(chromedp.CSS("#member-justification"), "contact"))
	b.choose("#member-contact", "secondary")
	require.EqualValues(t, http.StatusUnprocessableEntity, b.submit(chromedp.Click(chromedp.CSS("#member-form button[type=submit]"))))
	assert.Contains(t, b.bodyText(), "an account can have at most 4 secondary contacts (it has 4)")
	assert.False(t, d.allowed(t, "pooh", "view", "acme", ""), "the refusal changed nothing")

	// R12: alice is the last admin and primary contact.
	require.EqualValues(t, http.StatusUnprocessableEntity, b.submit(
		chromedp.Click(chromedp.CSS(`form[action="/console/accounts/acme/members/alice/remove"] button`))))
	assert.Contains(t, b.text("#remove-errors"), "R12")
	assert.True(t, d.allowed(t, "alice", "manage", "acme", ""), "the refusal changed nothing")
}

// The pages at 360 pixels wide: nothing is wider than the screen but the
// tables, which scroll in their own box.
func TestNarrowScreen(t *testing.T) {
	d := startDemo(t)
	d.requestAccess(t, "carol", "acme", "a justification long enough to wrap on a narrow phone screen")
	b := newBrowser(t, 360, 740)
	b.signIn(d, "alice")
	req := d.requestAccess(t, "bob", "acme", "narrow")
	for _, page := range []string{"/console/requests", "/console/requests/" + req.ID, "/console/mine", "/console/tenants",
		"/console/accounts/acme", "/console/accounts/acme/members", "/console/accounts/acme/audit"} {
		b.open(d.url + page)
		assert.LessOrEqual(t, eval[int](b, "document.documentElement.scrollWidth"), 360, "%s is wider than the screen", page)
	}
	b.open(d.url + "/console/requests")
	b.screenshot("pending-360")
}

// R41, R43: the audit trail of acme shows the approval to alice; carol,
// who may not decide acme's requests, is refused plainly.
func TestAuditTrail(t *testing.T) {
	d := startDemo(t)
	req := d.requestAccess(t, "carol", "acme", "audit me")
	require.Equal(t, http.StatusOK, d.call(t, "alice", http.MethodPost, "/v1/access-requests/"+req.ID+"/approve",
		map[string]any{"scope": "account", "role": "account_viewer", "message": "welcome"}, nil))
	b := newBrowser(t, 1280, 900)
	b.signIn(d, "alice")
	require.EqualValues(t, http.StatusOK, b.open(d.url+"/console/accounts/acme/audit"))
	audit := b.text("#audit")
	assert.Contains(t, audit, "request.granted")
	assert.Contains(t, audit, "alice")
	b.screenshot("audit")

	cb := newBrowser(t, 1280, 900)
	cb.signIn(d, "carol")
	assert.EqualValues(t, http.StatusForbidden, cb.open(d.url+"/console/accounts/acme/audit"))
	assert.Contains(t, cb.text("#problem"), "may not read the audit trail of acme")
}

// The security team's page: the active revision and the last reload
// error, for ops (a system administrator); refused to an account admin.
func TestPolicyStatus(t *testing.T) {
	d := startDemo(t)
	var st struct {
		Policy struct {
			Revision string `json:"revision"`
		} `json:"policy"`
	}
	require.Equal(t, http.StatusOK, d.call(t, "ops", http.MethodGet, "/v1/status", nil, &st))
	b := newBrowser(t, 1280, 900)
	b.signIn(d, "ops")
	require.EqualValues(t, http.StatusOK, b.open(d.url+"/console/status"))
	assert.Equal(t, st.Policy.Revision, b.text("#active-revision"))
	assert.Equal(t, "none", b.text("#last-error"))
	b.screenshot("status")

	ab := newBrowser(t, 1280, 900)
	ab.signIn(d, "alice")
	assert.EqualValues(t, http.StatusForbidden, ab.open(d.url+"/console/status"))
	assert.Contains(t, ab.text("#problem"), "may not read the policy status")
}

// Keyboard only: from the top of a request's page, Tab reaches the skip
// link first, then every control in order, each with a visible focus
// ring; the denial is chosen, typed and sent with keys alone.
func TestKeyboardOnly(t *testing.T) {
	d := startDemo(t)
	req := d.requestAccess(t, "carol", "acme", "keyboard")
	b := newBrowser(t, 1280, 900)
	b.signIn(d, "alice")
	b.open(d.url + "/console/requests/" + req.ID)

	focused := func() string {
		return eval[string](b, `(document.activeElement.id || document.activeElement.className || document.activeElement.tagName)`)
	}
	b.do(chromedp.KeyEvent(kb.Tab))
	assert.Equal(t, "skip", focused(), "the first Tab reaches the skip link")
	assert.NotEqual(t, "none", eval[string](b, `getComputedStyle(document.activeElement).outlineStyle`), "focus is visible")

	var order []string
	for i := 0; i < 80 && focused() != "reason_code"; i++ {
		b.do(chromedp.KeyEvent(kb.Tab))
		order = append(order, focused())
	}
	require.Equal(t, "reason_code", focused(), "Tab order: %v", order)
	for _, id := range []string{"scope-account", "role", "contact", "approve-expiry", "approve-message", "approve-submit"} {
		assert.Contains(t, order, id, "reachable with Tab")
	}
	b.do(chromedp.KeyEvent("o")) // type-ahead: "other"
	assert.Equal(t, "other", eval[string](b, `document.querySelector("#reason_code").value`))
	b.do(chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("we do not know you"), chromedp.KeyEvent(kb.Tab))
	assert.Equal(t, "deny-submit", focused())
	require.EqualValues(t, http.StatusOK, b.submit(chromedp.KeyEvent(kb.Enter)))
	assert.Equal(t, "denied", b.text("#request-status"))
	got := d.getRequest(t, "carol", req.ID)
	assert.Equal(t, "other", got.ReasonCode)
	assert.Equal(t, "we do not know you", got.Message)
}

// Every field of every page has a label, and the pages' load times on
// the demo data are measured (logged as figures, never asserted).
func TestLabelsAndLoadTimes(t *testing.T) {
	d := startDemo(t)
	req := d.requestAccess(t, "carol", "acme", "labels")
	b := newBrowser(t, 1280, 900)
	b.signIn(d, "alice")
	for _, page := range []string{"/console/requests", "/console/requests/" + req.ID, "/console/accounts", "/console/accounts/acme",
		"/console/accounts/acme/members", "/console/accounts/acme/audit", "/console/tenants", "/console/mine"} {
		b.open(d.url + page)
		unlabelled := eval[[]string](b, `Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea"))
			.filter(e => e.labels.length === 0).map(e => e.name || e.id)`)
		assert.Empty(t, unlabelled, "%s: fields without a label", page)
		// Navigation Timing of the page, navigated to again (its script and
		// style come from the cache, as when a user goes from page to page).
		var total, server []float64
		for range 5 {
			b.do(chromedp.Navigate(d.url + page))
			timing := eval[map[string]float64](b, `(() => { const n = performance.getEntriesByType("navigation")[0];
				return {server: n.responseStart - n.requestStart, total: n.loadEventEnd - n.startTime}; })()`)
			server, total = append(server, timing["server"]), append(total, timing["total"])
		}
		slices.Sort(server)
		slices.Sort(total)
		t.Logf("figure: %s: median of 5 loads: server %.1f ms, whole page %.1f ms", page, server[2], total[2])
	}
}
