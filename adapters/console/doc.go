// Package console serves gatehouse's admin console at /console/: the pages
// an account admin uses to approve, deny and manage access in a browser
// (issue 12), as Cisco's "Requests" tab, Passport Advantage's "Manage
// access" and CXone's tenant management would be on gatehouse.
//
// There is no second path that could decide differently from the API:
// every page reads and writes through the same HTTP API as the CLI, with
// the client package and the signed-in user's bearer token, over an
// in-process http.RoundTripper that serves the call with the API handler
// cmd passes in (Options.API). What a user sees and does is what the
// admission policy lets them do through the API (R37, R43); a refusal is
// shown in the policy's words, a 422 beside the form field it names.
//
// Pages (server-rendered html/template, assets embedded, no build step):
//
//	/console/requests              pending requests of the accounts the user decides for
//	/console/requests/{id}         one request: approve (scope, role, virtual accounts,
//	                               contact, privileges, expiry), deny (reason code,
//	                               message), change the expiry of or revoke a tenant grant
//	/console/accounts              the user's accounts; open another by id
//	/console/accounts/{id}         an account and its requests
//	/console/accounts/{id}/members members: add an existing user (R26), change, remove (R12)
//	/console/accounts/{id}/audit   the account's audit trail (R41)
//	/console/tenants               tenant requests: incoming (R37) and outgoing, submit (R35)
//	/console/mine                  the user's own requests (R39a), ask access (R20)
//	/console/status                the policy status, for the security team
//
// The API lists no user's accounts, so the console offers those the API
// addressed the user's events about (a member is told when added, a
// decider when a request is made, R42) and those they asked access to;
// the pending page keeps the accounts whose requests the API lets them
// list. Any other account opens by id.
//
// Sign-in: an identity provider's LoginFlow (Options.OIDC), or on
// development servers a sign-in as any user (Options.DevSignIn). The
// session is sealed (AES-256-GCM) in an HttpOnly, SameSite=Lax cookie,
// Secure and __Host- prefixed under TLS (where a cookie of the plain name
// is ignored); its token is never rendered nor logged. Signing out, or
// signing in again, ends the session: the process remembers its id until
// it would have expired and refuses a replayed copy of its cookie. Each
// process remembers the sign-outs it served, until it stops: with a
// session key shared by replicas or kept across restarts
// (Options.SessionKey), a copy replayed to another replica or after a
// restart lasts until the session's expiry (at most its token's, and 8
// hours).
//
// Every POST must carry the session's CSRF token in its form (never the
// query), and a same-origin Origin (or Referer, when the browser sends
// no Origin), else 403; a form over 64 KiB, with a single-valued field
// sent twice, or with a name or value that is not UTF-8 text is refused
// with 400 naming the field, before the API is called, as is an id in a
// path that is not one (which would turn the call into another
// endpoint's path). Every answer under /console, redirects and errors
// included, carries a Content-Security-Policy allowing only the
// console's own script and style, forbids framing and sniffing, sends
// no Referer elsewhere, and is not stored (assets excepted).
package console
