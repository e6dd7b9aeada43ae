package gatehouse.impersonation_test

import rego.v1

import data.gatehouse.impersonation

now := 1763700000000000000

hour := 3600000000000

# question asks whether jane may impersonate tenant tom-sawyer, whose partner
# reseller is classics, given her membership at classics and the tenant's
# grants state.
question(action, partner_membership, tenant) := object.union(
	{
		"subject": "jane",
		"action": action,
		"resource": {"account": "tom-sawyer"},
		"now_ns": now,
		"user": {"id": "jane", "organization": "classics"},
		"account": {"id": "tom-sawyer", "virtual_accounts": [], "partner": "classics"},
		"tenant": tenant,
	},
	{"partner_membership": m | m := partner_membership; m != null},
)

partner_role(role) := {"roles": [role], "added_by": "elizabeth"}

not_exclusive := {"exclusive": false, "grants": []}

grant(request, expires_at_ns) := {"request": request, "granted_by": "tom", "expires_at_ns": expires_at_ns}

allowed(action, partner_membership, tenant) if {
	impersonation.allow with input as question(action, partner_membership, tenant)
}

# R39: both impersonation actions are decided here, nothing else.
test_outcome_impersonation_actions if {
	impersonation.requested with input as {"action": "impersonate.configure"}
	impersonation.requested with input as {"action": "impersonate.support"}
	not impersonation.requested with input as {"action": "impersonate.everything"}
	not impersonation.requested with input as {"action": "view"}
}

# R39: legacy method: tm_admin or impersonator at the partner, before any grant.
test_allow_legacy_partner_roles if {
	allowed("impersonate.support", partner_role("impersonator"), not_exclusive)
	allowed("impersonate.configure", partner_role("tm_admin"), not_exclusive)
	allowed("impersonate.support", partner_role("tm_admin"), {})
}

# R39: legacy method: another role at the partner is not enough.
test_deny_legacy_other_partner_role if {
	not allowed("impersonate.support", partner_role("account_admin"), not_exclusive)
}

# R39: legacy method: no membership at the partner.
test_deny_legacy_not_partner_member if {
	not allowed("impersonate.support", null, not_exclusive)
}

# R7, R39: legacy method: an expired membership at the partner counts as absent.
test_deny_legacy_expired_partner_membership if {
	not allowed("impersonate.support", object.union(partner_role("impersonator"), {"expires_at_ns": now}), not_exclusive)
}

# R39: legacy method: a tenant without a partner reseller.
test_deny_legacy_without_partner if {
	q := question("impersonate.support", partner_role("impersonator"), not_exclusive)
	not impersonation.allow with input as json.patch(q, [{"op": "remove", "path": "/account/partner"}])
}

# R39: a granted, unexpired tenant request naming the subject.
test_allow_granted_request if {
	allowed("impersonate.support", null, {"exclusive": true, "grants": [grant("01JA", now + hour)]})
	allowed("impersonate.configure", null, {"exclusive": true, "grants": [{"request": "01JA", "granted_by": "tom"}]})
}

# R39: exclusive: the legacy method no longer works once a request was granted.
test_deny_exclusive_legacy_role if {
	not allowed("impersonate.support", partner_role("impersonator"), {"exclusive": true, "grants": []})
	not allowed("impersonate.configure", partner_role("tm_admin"), {"exclusive": true, "grants": []})
}

# R7, R38, R39: an expired grant ends access, and the tenant stays exclusive.
test_deny_expired_grant_stays_exclusive if {
	not allowed("impersonate.support", partner_role("impersonator"), {"exclusive": true, "grants": [grant("01JA", now)]})
}

# R39: a grant naming the subject makes the tenant exclusive, whatever the flag.
test_deny_expired_grant_without_flag if {
	not allowed("impersonate.support", partner_role("impersonator"), {"grants": [grant("01JA", now - 1)]})
}

# R38, R39: one live grant among expired ones is enough.
test_allow_live_grant_among_expired if {
	allowed("impersonate.support", null, {"exclusive": true, "grants": [grant("01JA", now), grant("01JB", now + hour)]})
}

# R7: the answer names the oldest live grant.
test_allow_grant_names_oldest_live_request if {
	impersonation.grant == {"kind": "tenant_grant", "account": "tom-sawyer", "request": "01JB", "approved_by": "tom"} with input as question(
		"impersonate.support", null,
		{"exclusive": true, "grants": [grant("01JC", now + hour), grant("01JA", now), grant("01JB", now + hour)]},
	)
}

# R7: the answer names the partner role of the legacy method.
test_allow_grant_names_partner_role if {
	impersonation.grant == {"kind": "partner_role", "account": "classics", "role": "impersonator", "approved_by": "elizabeth"} with input as question("impersonate.support", {"roles": ["tm_admin", "impersonator"], "added_by": "elizabeth"}, not_exclusive)
	impersonation.grant == {"kind": "partner_role", "account": "classics", "role": "tm_admin"} with input as question("impersonate.support", {"roles": ["tm_admin"]}, not_exclusive)
	not impersonation.grant with input as question("impersonate.support", null, not_exclusive)
}

# R7: the reasons name the grant or the legacy role that allowed.
test_allow_reasons if {
	impersonation.allow_reasons == {"jane is named in tenant request 01JA for tom-sawyer, granted by tom until 2025-11-21T05:40:00Z"} with input as question("impersonate.support", null, {"exclusive": true, "grants": [grant("01JA", now + hour)]})
	impersonation.allow_reasons == {"jane is named in tenant request 01JA for tom-sawyer, granted by tom"} with input as question("impersonate.support", null, {"exclusive": true, "grants": [{"request": "01JA", "granted_by": "tom"}]})
	impersonation.allow_reasons == {"jane holds impersonator at classics, the partner reseller of tom-sawyer, and no tenant request for tom-sawyer was ever granted (legacy method)"} with input as question("impersonate.support", partner_role("impersonator"), not_exclusive)
}

# R39: the reasons explain exclusivity and expired grants.
test_deny_reasons_exclusive if {
	impersonation.deny_reasons == {
		"tom-sawyer is exclusive since a tenant request for it was granted: only users named in a granted, unexpired request may impersonate it, and jane is named in none",
		"jane's grant from tenant request 01JA expired at 2025-11-21T04:40:00Z",
	} with input as question("impersonate.support", partner_role("impersonator"), {"exclusive": true, "grants": [grant("01JA", now)]})
}

# R39: the reasons explain why the legacy method does not apply.
test_deny_reasons_legacy if {
	impersonation.deny_reasons == {"the legacy method on tom-sawyer needs tm_admin or impersonator at classics; jane holds account_user there"} with input as question("impersonate.support", partner_role("account_user"), not_exclusive)
	impersonation.deny_reasons == {"jane is not a member of classics, the partner reseller of tom-sawyer"} with input as question("impersonate.support", null, not_exclusive)
	impersonation.deny_reasons == {"jane's membership in classics, the partner reseller of tom-sawyer, expired at 2025-11-21T04:40:00Z"} with input as question("impersonate.support", object.union(partner_role("tm_admin"), {"expires_at_ns": now}), not_exclusive)
}

# R39: the reasons name a tenant without a partner.
test_deny_reasons_without_partner if {
	q := question("impersonate.support", null, not_exclusive)
	impersonation.deny_reasons == {"tom-sawyer has no partner reseller, and no tenant request for it was granted"} with input as json.patch(q, [{"op": "remove", "path": "/account/partner"}])
}

# R7: the answer carries the reasons and the grant, or the reasons of the deny.
test_outcome_answer if {
	impersonation.answer == {
		"allow": true,
		"reasons": ["jane is named in tenant request 01JA for tom-sawyer, granted by tom"],
		"grant": {"kind": "tenant_grant", "account": "tom-sawyer", "request": "01JA", "approved_by": "tom"},
	} with input as question("impersonate.support", null, {"exclusive": true, "grants": [{"request": "01JA", "granted_by": "tom"}]})
	impersonation.answer == {
		"allow": false,
		"reasons": ["jane is not a member of classics, the partner reseller of tom-sawyer"],
	} with input as question("impersonate.support", null, not_exclusive)
}
