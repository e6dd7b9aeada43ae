package gatehouse.admission_test

import rego.v1

import data.gatehouse.admission

# carol's pending request for access to acme.
carol_request := {
	"id": "r1", "kind": "account", "account": "acme", "requester": "carol", "status": "pending",
	"justification": "", "created_at_ns": now - hour,
}

# tenant_request is a pending request of the reseller classics for acme.
tenant_request := {
	"id": "t1", "kind": "tenant", "account": "acme", "requester": "elizabeth", "status": "pending",
	"name": "SupportAccess", "partner": "classics", "users": ["caroline", "charlotte"], "created_at_ns": now - hour,
}

# on_request is who running command on request r; an approval of an
# account request also says what membership it would leave carol with.
on_request(who, r, command) := object.union(
	on_acme(who, object.union(command, {"request": r.id})),
	{"request": r},
)

approve(who, r, approval) := object.union(
	on_request(who, r, object.union({"type": "approve"}, approval)),
	{"target": {
		"id": r.requester, "user": {"id": r.requester},
		"proposed": object.union({"account": "acme", "user": r.requester}, proposed_from(approval)),
	}},
)

# proposed_from is the membership an approval gives carol, as the engine
# computes it (R22, R23).
proposed_from(a) := object.union(
	{"roles": [a.role | a.scope == "account"], "contact": object.get(a, "contact", ""), "privileges": object.get(a, "privileges", {})},
	{"va_roles": {va: a.role | a.scope == "virtual_accounts"; some va in a.virtual_accounts}},
)

account_scope := {"scope": "account", "role": "account_user", "virtual_accounts": []}

request_access(who, open) := object.union(
	on_acme(who, {"type": "request_access", "account": "acme", "justification": "I run the lab"}),
	{"open_requests": open},
)

# R20: any existing user may request access, and tells the deciders.
test_allow_request_access if {
	r := result(request_access(actor("carol"), []))
	r.entitled == true
	r.violations == []
	r.deciders == {"acme": ["alice", "apo", "bob"]}
}

test_deny_request_access_unknown_user if {
	r := result(request_access({"id": "ghost", "system_admin": false}, []))
	r.entitled == false
	r.denials == ["ghost is not a known user: an operator must create the user before they can request access (R20)"]
}

test_violation_second_pending_request if {
	r := result(request_access(actor("carol"), [carol_request]))
	r.violations == ["carol already has a pending request for acme (r1): wait for its decision (R20)"]
}

test_missing_request_access_account if {
	r := result({"now_ns": now, "actor": actor("carol"), "command": {"type": "request_access", "account": "nowhere"}, "members": {}, "open_requests": []})
	r.entitled == true
	r.missing == ["account nowhere does not exist"]
}

# R21 (and R1 for account_approver): who decides an account request.
test_allow_approve_by_deciders if {
	every who in ["alice", "bob", "apo"] {
		r := result(approve(actor(who), carol_request, account_scope))
		r.entitled == true
		r.violations == []
		r.conflicts == []
	}
	result(approve(ops, carol_request, account_scope)).entitled == true
}

test_deny_approve_by_non_deciders if {
	every who in ["sam", "vera", "old", "mallory"] {
		r := result(approve(actor(who), carol_request, account_scope))
		r.entitled == false
		r.denials == [sprintf("%s may not decide requests for acme: that takes account_admin, account_approver, the primary contact, or a secondary contact with manage_access at update (R21)", [who])]
	}
}

# R21: nobody decides their own request.
test_deny_decide_own_request if {
	own := object.union(carol_request, {"requester": "bob"})
	r := result(approve(actor("bob"), own, account_scope))
	r.entitled == false
	r.denials == ["bob may not decide their own request"]
	result(on_request(actor("bob"), own, {"type": "deny"})).entitled == false
}

# R25: only a pending request is decided.
test_conflict_decide_twice if {
	granted := object.union(carol_request, {"status": "granted"})
	r := result(approve(actor("alice"), granted, account_scope))
	r.conflicts == ["request r1 is granted: only a pending request can be decided (R25)"]
	result(on_request(actor("alice"), object.union(carol_request, {"status": "denied"}), {"type": "deny"})).conflicts == ["request r1 is denied: only a pending request can be decided (R25)"]
}

# R38: an expired request is final.
test_conflict_grant_expired if {
	r := result(approve(actor("alice"), object.union(tenant_request, {"status": "expired"}), {}))
	r.conflicts == ["request t1 expired: access ended and a new request is needed (R38)"]
}

# R22: scope account takes one account role; scope virtual_accounts one
# virtual-account role on virtual accounts of the account.
test_allow_approve_virtual_accounts if {
	r := result(approve(actor("alice"), carol_request, {"scope": "virtual_accounts", "role": "va_user", "virtual_accounts": ["va1", "va2"]}))
	r.violations == []
}

test_violation_approve_scope_mismatch if {
	cases := [
		[{"virtual_accounts": []}, "choose a scope (account or virtual_accounts), a contact type or privileges to approve the request (R22, R23)"],
		[{"role": "account_user", "virtual_accounts": []}, "role account_user needs a scope: account or virtual_accounts (R22)"],
		[{"scope": "galaxy", "role": "account_user", "virtual_accounts": []}, "scope must be account or virtual_accounts (it is galaxy) (R22)"],
		[{"scope": "account", "role": "", "virtual_accounts": []}, "scope account needs one role (R22)"],
		[{"scope": "account", "role": "account_user", "virtual_accounts": ["va1"]}, "scope account takes an account role and no virtual accounts: to grant virtual accounts, use scope virtual_accounts (R22)"],
		[{"scope": "virtual_accounts", "role": "va_user", "virtual_accounts": []}, "scope virtual_accounts needs at least one virtual account of acme (R22)"],
		[{"scope": "virtual_accounts", "role": "va_user", "virtual_accounts": ["va1", "va9"]}, "virtual_accounts[1] must be a virtual account of acme: va1 or va2 (it is va9) (R22)"],
		[{"scope": "virtual_accounts", "role": "account_user", "virtual_accounts": ["va1"]}, "role must be va_admin, va_user or va_viewer (it is account_user): scope virtual_accounts takes a virtual-account role (R2, R22)"],
		[{"scope": "account", "role": "va_user", "virtual_accounts": []}, "role must be account_admin, account_approver, account_user, account_viewer, impersonator, policy_admin or tm_admin (it is va_user): scope account takes an account role (R22)"],
		[{"scope": "", "privileges": {"teleport": "view"}, "virtual_accounts": []}, "privileges must name applications: account_documents, allocations, contact_preview, contact_updates, entitlements, manage_access, purchase or reporting (it names teleport) (R5)"],
		[{"scope": "", "privileges": {"entitlements": "full"}, "virtual_accounts": []}, "privileges.entitlements must be none, view or update (it is full) (R5)"],
	]
	every case in cases {
		q := object.union(on_request(actor("alice"), carol_request, object.union({"type": "approve"}, case[0])), {"target": {
			"id": "carol", "user": {"id": "carol"},
			"proposed": {"roles": [], "va_roles": {va: "account_user" | some va in object.get(case[0], "virtual_accounts", []); case[0].scope == "virtual_accounts"}},
		}})
		case[1] in result(q).violations
	}
}

# R23: an approval may name secondary or no contact, and privileges.
test_allow_approve_secondary_contact if {
	r := result(approve(actor("alice"), carol_request, {"scope": "", "contact": "secondary", "privileges": {"manage_access": "view"}, "virtual_accounts": []}))
	r.violations == []
}

test_violation_approve_primary_contact if {
	r := result(approve(actor("alice"), carol_request, {"scope": "", "contact": "primary", "virtual_accounts": []}))
	"contact must be secondary, or none (it is primary) (R23)" in r.violations
}

# R23, API.md: "none" names no contact type in an approval too.
test_allow_approve_contact_none if {
	r := result(approve(actor("alice"), carol_request, object.union(account_scope, {"contact": "none"})))
	r.violations == []
}

# Every value the policy's data names is accepted in an approval: each
# account role with scope account, each virtual-account role with scope
# virtual_accounts, each application level.
test_allow_approve_every_enumerated_value if {
	every role in admission.account_roles {
		result(approve(actor("alice"), carol_request, {"scope": "account", "role": role, "virtual_accounts": []})).violations == []
	}
	every role in admission.va_roles {
		result(approve(actor("alice"), carol_request, {"scope": "virtual_accounts", "role": role, "virtual_accounts": ["va1"]})).violations == []
	}
	every app, levels in data.gatehouse.config.privileges {
		every level in levels {
			result(approve(actor("alice"), carol_request, {"scope": "", "contact": "secondary", "privileges": {app: level}, "virtual_accounts": []})).violations == []
		}
	}
	every code in data.gatehouse.config.deny_reason_codes {
		result(on_request(actor("alice"), carol_request, {"type": "deny", "reason_code": code})).violations == []
	}
}

# R10 applies to approvals too.
test_violation_approve_beyond_secondary_limit if {
	q := with_settings(approve(actor("alice"), carol_request, {"scope": "", "contact": "secondary", "virtual_accounts": []}), {"max_secondary_contacts": 2})
	result(q).violations == ["an account can have at most 2 secondary contacts (it has 2)"]
}

# R23: the approver adds a justification only when the request had none.
test_violation_second_justification if {
	justified := object.union(carol_request, {"justification": "lab work"})
	r := result(approve(actor("alice"), justified, object.union(account_scope, {"justification": "trust me"})))
	r.violations == ["the request already has a justification: the approver may add one only when it had none (R23)"]
	result(approve(actor("alice"), carol_request, object.union(account_scope, {"justification": "trust me"}))).violations == []
}

# R30 applies to approvals: a secondary contact does not approve an admin.
test_deny_approve_admin_by_secondary if {
	r := result(approve(actor("bob"), carol_request, {"scope": "account", "role": "account_admin", "virtual_accounts": []}))
	r.denials == ["only an account_admin of acme may make carol an account_admin (R30)"]
}

# R38: a tenant's account_admin grants its requests, as they were asked,
# with an optional message and expiry in the future.
test_allow_grant_tenant_request if {
	r := result(on_request(actor("alice"), tenant_request, {"type": "approve", "message": "welcome", "expires_at_ns": now + hour}))
	r.entitled == true
	r.violations == []
}

test_deny_grant_tenant_request_by_non_admin if {
	r := result(on_request(actor("bob"), tenant_request, {"type": "approve"}))
	r.denials == ["bob may not decide requests for acme: that takes account_admin of the tenant (R38)"]
}

test_violation_grant_tenant_request_with_scope if {
	r := result(on_request(actor("alice"), tenant_request, {"type": "approve", "scope": "account", "virtual_accounts": ["va1"], "expires_at_ns": now}))
	r.violations == [
		"a tenant request is granted as it was asked: scope must not be given (R38)",
		"a tenant request is granted as it was asked: virtual_accounts must not be given (R38)",
		"the expiry must be in the future (it is 2025-11-21T04:40:00Z) (R38)",
	]
}

# R24: reason codes, and accounts that require one.
test_allow_deny_without_reason if {
	r := result(on_request(actor("alice"), carol_request, {"type": "deny", "message": "no"}))
	r.entitled == true
	r.violations == []
}

test_violation_unknown_reason_code if {
	r := result(on_request(actor("alice"), carol_request, {"type": "deny", "reason_code": "grumpy"}))
	r.violations == ["reason_code must be unknown_requester, access_not_needed, no_business_relationship or other (it is grumpy) (R24)"]
}

test_violation_reason_required if {
	q := with_settings(on_request(actor("alice"), carol_request, {"type": "deny"}), {"require_deny_reason": true})
	result(q).violations == ["acme requires a reason_code to deny a request: choose access_not_needed, no_business_relationship, other or unknown_requester (R24)"]
	result(object.union(q, {"command": {"type": "deny", "request": "r1", "reason_code": "other"}})).violations == []
}

# R38: the expiry of a granted tenant request changes at any time.
test_allow_change_expiry if {
	granted := object.union(tenant_request, {"status": "granted", "expires_at_ns": now + hour})
	result(on_request(actor("alice"), granted, {"type": "set_request_expiry", "expires_at_ns": now + (2 * hour)})).violations == []
	result(on_request(actor("alice"), granted, {"type": "set_request_expiry"})).violations == []
}

test_violation_change_expiry_to_past if {
	granted := object.union(tenant_request, {"status": "granted"})
	r := result(on_request(actor("alice"), granted, {"type": "set_request_expiry", "expires_at_ns": now - hour}))
	r.violations == ["the expiry must be in the future (it is 2025-11-21T03:40:00Z) (R38)"]
}

test_violation_change_expiry_of_account_request if {
	granted := object.union(carol_request, {"status": "granted"})
	r := result(on_request(actor("alice"), granted, {"type": "set_request_expiry"}))
	r.violations == ["only a tenant request has an expiry: change the expires_at of the membership instead (R38)"]
}

# R38: once its expiry passed, a granted request is expired and final.
test_conflict_change_expiry_after_expiry if {
	lapsed := object.union(tenant_request, {"status": "granted", "expires_at_ns": now})
	r := result(on_request(actor("alice"), lapsed, {"type": "set_request_expiry", "expires_at_ns": now + hour}))
	r.conflicts == ["request t1 expired: access ended and a new request is needed (R38)"]
}

test_conflict_revoke_pending if {
	r := result(on_request(actor("alice"), tenant_request, {"type": "revoke"}))
	r.conflicts == ["request t1 is pending: only a granted request can change its expiry or be revoked (R38)"]
}

test_allow_revoke_granted if {
	r := result(on_request(actor("alice"), object.union(tenant_request, {"status": "granted"}), {"type": "revoke"}))
	r.entitled == true
	r.violations == []
	r.conflicts == []
}

# R12: revoking the request that made the last admin keeps them.
test_violation_revoke_last_admin if {
	members := {"carol": {"roles": ["account_admin"], "request": "r1"}}
	q := object.union(json.remove(on_request(ops, object.union(carol_request, {"status": "granted"}), {"type": "revoke"}), ["members"]), {
		"members": members,
		"target": {"id": "carol", "membership": members.carol},
	})
	result(q).violations == ["carol is the last account_admin of acme: make another member account_admin first (R12)"]
}

# R37, R43: who sees a request, and what the tenant side does not see.
test_allow_get_request if {
	cases := [[actor("elizabeth"), tenant_request], [actor("caroline"), tenant_request], [actor("alice"), tenant_request], [ops, tenant_request], [actor("bob"), carol_request]]
	every case in cases {
		result(on_request(case[0], case[1], {"type": "get_request"})).entitled == true
	}
}

test_deny_get_request if {
	every who in ["bob", "jane"] {
		r := result(on_request(actor(who), tenant_request, {"type": "get_request"}))
		r.entitled == false
		r.denials == [sprintf("%s may not see this request (R43)", [who])]
	}
}

# R43: a command on a request the actor may not see is answered as for an
# unknown id: hidden, whatever the command.
test_hidden_request_commands_by_who_may_not_see_it if {
	every command in ["get_request", "approve", "deny", "set_request_expiry", "revoke"] {
		every who in ["sam", "vera", "mallory"] {
			result(on_request(actor(who), carol_request, {"type": command})).hidden == true
		}
		result(on_request(actor("jane"), tenant_request, {"type": command})).hidden == true
	}
}

# Who may see the request is refused with 403 (or more) as usual: the
# requester, the users it names, its deciders, system administrators.
test_not_hidden_from_who_may_see_it if {
	own := object.union(carol_request, {"requester": "bob"})
	every command in ["get_request", "approve", "deny", "set_request_expiry", "revoke"] {
		not result(on_request(actor("carol"), carol_request, {"type": command})).hidden
		not result(on_request(actor("bob"), own, {"type": command})).hidden
		not result(on_request(actor("caroline"), tenant_request, {"type": command})).hidden
		not result(on_request(actor("alice"), carol_request, {"type": command})).hidden
		not result(on_request(ops, carol_request, {"type": command})).hidden
	}
	not result(on_acme(actor("mallory"), {"type": "list_members", "account": "acme"})).hidden
}

test_allow_redaction_for_tenant_side if {
	every command in ["get_request", "approve", "deny", "set_request_expiry", "revoke"] {
		result(on_request(actor("alice"), tenant_request, {"type": command})).redact == ["name", "users"]
		result(on_request(ops, tenant_request, {"type": command})).redact == []
	}
}

# R39a: a requester lists their own requests, nobody else's.
test_allow_list_own_requests if {
	result({"now_ns": now, "actor": actor("elizabeth"), "command": {"type": "list_requests", "requester": "elizabeth"}}).entitled == true
	result({"now_ns": now, "actor": ops, "command": {"type": "list_requests", "requester": "elizabeth"}}).entitled == true
}

test_deny_list_others_requests if {
	r := result({"now_ns": now, "actor": actor("jane"), "command": {"type": "list_requests", "requester": "elizabeth"}})
	r.denials == ["jane may not see the requests of elizabeth: only their requester may (R43)"]
}

# R43: an account's requests are listed by those who decide them.
test_allow_list_account_requests if {
	every who in ["alice", "bob", "apo"] {
		result(on_acme(actor(who), {"type": "list_requests", "account": "acme"})).entitled == true
	}
	tenant_admin := {"roles": ["account_admin"]}
	result(object.union(on_acme(object.union(actor("tom"), {"membership": tenant_admin}), {"type": "list_requests", "account": "acme"}), {"members": {}})).entitled == true
}

test_deny_list_account_requests if {
	r := result(on_acme(actor("vera"), {"type": "list_requests", "account": "acme"}))
	r.denials == ["vera may not see the requests of acme: only those who may decide them may (R43)"]
}
