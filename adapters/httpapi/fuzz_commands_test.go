package httpapi_test

import (
	"net/http"
	"testing"
)

// commandStatuses are the answers a command may give to any body (R44):
// never a 500.
var commandStatuses = []int{
	http.StatusOK, http.StatusCreated, http.StatusNoContent, http.StatusBadRequest, http.StatusForbidden,
	http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity,
}

func FuzzApproveBody(f *testing.F) {
	for _, seed := range []string{
		`{"scope":"account","role":"account_viewer"}`,
		`{"scope":"virtual_accounts","role":"va_user","virtual_accounts":["va1"],"message":"ok"}`,
		`{"scope":"account","role":"account_user","contact":"secondary","privileges":{"entitlements":"view","contact_updates":"update"},"justification":"j"}`,
		`{"scope":"account","role":"account_admin","expires_at":"2030-01-02T03:04:05Z"}`,
		`{"expires_at":"2001-01-01T00:00:00+02:00"}`, `{"privileges":{"x":1}}`, `{"virtual_accounts":[null]}`,
		`{}`, ``, `null`, `{"scope":{}}`, `{"rol":"x"}`,
	} {
		f.Add(seed)
	}
	h := newEmbeddedHarness(f)
	acmeReq, _ := twoAccounts(h)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzBody(t, h, http.MethodPost, "/v1/access-requests/"+acmeReq+"/approve", "alice", body, commandStatuses...)
	})
}

func FuzzDenyBody(f *testing.F) {
	for _, seed := range []string{
		`{"reason_code":"other","message":"no"}`, `{"reason_code":"because"}`, `{"message":"\u0000"}`, `{}`, ``, `[]`,
	} {
		f.Add(seed)
	}
	h := newEmbeddedHarness(f)
	acmeReq, _ := twoAccounts(h)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzBody(t, h, http.MethodPost, "/v1/access-requests/"+acmeReq+"/deny", "alice", body, commandStatuses...)
	})
}

func FuzzMemberBody(f *testing.F) {
	for _, seed := range []string{
		`{"roles":["account_user"],"justification":"j"}`,
		`{"roles":["account_admin"],"contact":"primary","justification":"j"}`,
		`{"roles":[],"va_roles":{"va1":"va_viewer"},"contact":"secondary","privileges":{"contact_updates":"update"},"justification":"j"}`,
		`{"roles":["account_user"],"justification":"j","expires_at":"2030-01-01T00:00:00Z"}`,
		`{"roles":["root"]}`, `{"va_roles":{"":"x"}}`, `{"roles":null}`, `{}`, ``, `{"expires_at":null}`,
	} {
		f.Add(seed)
	}
	h := newEmbeddedHarness(f)
	twoAccounts(h)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzBody(t, h, http.MethodPut, "/v1/accounts/acme/members/carl", "alice", body, commandStatuses...)
	})
}

func FuzzTenantRequestBody(f *testing.F) {
	for _, seed := range []string{
		`{"name":"SupportAccess","associations":[{"users":["caroline"],"tenants":["tom-sawyer"]}]}`,
		`{"name":"Support Access","message":"m","associations":[{"users":["caroline","charlotte"],"tenants":["tom-sawyer","hundred-acre"]}]}`,
		`{"name":"","associations":[]}`, `{"name":"x","associations":[{}]}`, `{"associations":[{"users":[1]}]}`, `{}`, ``,
	} {
		f.Add(seed)
	}
	h := newEmbeddedHarness(f)
	classics(h)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzBody(t, h, http.MethodPost, "/v1/tenant-access-requests", "elizabeth", body, commandStatuses...)
	})
}

func FuzzExpiryBody(f *testing.F) {
	for _, seed := range []string{
		`{"expires_at":"2030-01-02T03:04:05Z"}`, `{"expires_at":null}`, `{"expires_at":"2000-01-01T00:00:00Z"}`,
		`{"expires_at":""}`, `{"expires_at":1}`, `{"expires_at":{}}`, `{}`, ``,
	} {
		f.Add(seed)
	}
	h := newEmbeddedHarness(f)
	reqs := classics(h)
	h.mustWrite(http.MethodPost, "/v1/access-requests/"+reqs["tom-sawyer"]+"/approve", "tom", `{}`)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzBody(t, h, http.MethodPatch, "/v1/access-requests/"+reqs["tom-sawyer"], "tom", body, commandStatuses...)
	})
}

func FuzzUserBody(f *testing.F) {
	for _, seed := range []string{
		`{"email":"a@example.com","first_name":"A","last_name":"B","organization":"classics"}`,
		`{"email":"a@b@c"}`, `{"email":""}`, `{"organization":"a b"}`, `{"email":["x"]}`, `{}`, ``,
	} {
		f.Add(seed)
	}
	h := newEmbeddedHarness(f)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzBody(t, h, http.MethodPut, "/v1/users/fuzzed", systemAdmin, body, commandStatuses...)
	})
}
