package gatehouse.decision_test

import rego.v1

import data.gatehouse.decision

now := 1763700000000000000

acme := {"id": "acme", "name": "Acme", "virtual_accounts": ["va1"]}

# question asks whether caroline may take action on acme, as a member with
# the given roles.
question(action, roles) := {
	"subject": "caroline",
	"action": action,
	"resource": {"account": "acme"},
	"context": {},
	"now_ns": now,
	"user": {"id": "caroline", "email": "caroline@example.com"},
	"account": acme,
	"membership": {"roles": roles, "added_by": "ops", "request": "01JM"},
}

# R7: the result is always an object with a boolean allow and non-empty reasons.
test_outcome_result_shape if {
	every action in ["view", "manage", "approve", "entitlements.view", "impersonate.support", "fly", 42] {
		result := decision.result with input as question(action, ["account_user"])
		is_boolean(result.allow)
		count(result.reasons) > 0
		every reason in result.reasons {
			is_string(reason)
		}
	}
}

# R1, R4: an allow carries the reasons and the grant.
test_allow_member_views if {
	decision.result == {
		"allow": true,
		"reasons": ["caroline holds account_user on acme, which includes account_viewer (needed for view)"],
		"grant": {"kind": "membership", "account": "acme", "request": "01JM", "approved_by": "ops"},
	} with input as question("view", ["account_user"])
}

# R1, R4: a deny carries the reasons and no grant.
test_deny_member_manages if {
	decision.result == {
		"allow": false,
		"reasons": ["manage on acme needs account_admin or a role that includes it; caroline holds account_user there"],
	} with input as question("manage", ["account_user"])
}

# R5: privilege actions are decided by the privileges.
test_allow_privilege_action if {
	q := json.patch(question("entitlements.update", []), [{"op": "add", "path": "/membership/privileges", "value": {"entitlements": "update"}}])
	result := decision.result with input as q
	result.allow
	result.grant.kind == "membership"
}

test_deny_privilege_action if {
	result := decision.result with input as question("entitlements.update", ["account_admin"])
	not result.allow
	result.reasons == ["entitlements.update needs entitlements at update or higher; caroline holds entitlements at none on acme"]
}

# R7: an unknown subject is denied, never an error.
test_deny_unknown_subject if {
	result := decision.result with input as object.remove(question("view", ["account_admin"]), ["user"])
	result == {"allow": false, "reasons": [`unknown subject "caroline"`]}
}

# R7: an unknown account is denied.
test_deny_unknown_account if {
	result := decision.result with input as object.remove(question("view", ["account_admin"]), ["account"])
	result == {"allow": false, "reasons": [`unknown account "acme"`]}
}

# R7: an unknown action is denied.
test_deny_unknown_action if {
	every action in ["fly", "", "view.", "impersonate", "purchase.none", 42, null] {
		result := decision.result with input as question(action, ["account_admin"])
		not result.allow
		some reason in result.reasons
		startswith(reason, "unknown action")
	}
}

# R7: unknown subject, account and action together, on an empty question.
test_deny_empty_question if {
	decision.result == {"allow": false, "reasons": [`unknown account ""`, `unknown action ""`, `unknown subject ""`]} with input as {}
}

# R4: a virtual account that is not in the account is denied.
test_deny_virtual_account_not_in_account if {
	q := json.patch(question("view", ["account_admin"]), [{"op": "add", "path": "/resource/virtual_account", "value": "va9"}])
	decision.result == {"allow": false, "reasons": [`virtual account "va9" is not in account "acme"`]} with input as q
}

# R4: an account without virtual accounts has none to name.
test_deny_virtual_account_of_account_without_any if {
	q := json.patch(question("view", ["account_admin"]), [
		{"op": "add", "path": "/resource/virtual_account", "value": "va1"},
		{"op": "remove", "path": "/account/virtual_accounts"},
	])
	not decision.allow with input as q
}

# R3, R4: a virtual account of the account is decided on the roles.
test_allow_virtual_account_in_account if {
	q := json.patch(question("use", ["account_user"]), [{"op": "add", "path": "/resource/virtual_account", "value": "va1"}])
	decision.allow with input as q
}

# R7: an expired membership is denied with the instant it expired.
test_deny_expired_membership if {
	q := json.patch(question("view", ["account_admin"]), [{"op": "add", "path": "/membership/expires_at_ns", "value": now}])
	decision.result == {"allow": false, "reasons": ["caroline's membership in acme expired at 2025-11-21T04:40:00Z"]} with input as q
}

# R7: fail closed: an allow without a grant, or a deny without a reason, is
# the default deny.
test_deny_fallback if {
	fallback := {"allow": false, "reasons": ["no rule of the policy allows this decision"]}
	decision.result == fallback with input as object.remove(question("view", []), ["membership"])
		with data.gatehouse.roles.allow_reasons as {"a reason without a membership"}
	decision.result == fallback with input as question("manage", ["account_user"])
		with data.gatehouse.roles.deny_reasons as set()
	decision.result == fallback with input as question("view", ["account_user"])
		with data.gatehouse.decision.kind as "privileges"
}

# R4: the action is dispatched once, to the package that decides it.
test_outcome_kind_by_action if {
	every action, kind in {
		"view": "roles", "approve": "roles",
		"impersonate.support": "impersonation",
		"entitlements.view": "privileges", "purchase.downloads_support": "privileges",
	} {
		decision.kind == kind with input as question(action, [])
	}
	every action in ["fly", "purchase.none", "impersonate", 42] {
		not decision.kind with input as question(action, [])
	}
}

# Section 8, the worked example. Reseller classics has elizabeth (tm_admin),
# caroline, charlotte and jane (impersonator); tenants tom-sawyer and
# hundred-acre have classics as partner. Request SupportAccess resulted in
# two tenant requests: tom-sawyer {caroline, charlotte}, hundred-acre {charlotte}.

classics_roles := {
	"elizabeth": ["tm_admin"],
	"caroline": [],
	"charlotte": [],
	"jane": ["impersonator"],
}

tenant_requests := {
	"tom-sawyer": {"id": "01JTS", "users": ["caroline", "charlotte"]},
	"hundred-acre": {"id": "01JHA", "users": ["charlotte"]},
}

# impersonation asks whether subject may take action on tenant when the
# tenants in granted have granted their request, as the engine builds it: only
# the grants naming the subject.
impersonation(subject, action, tenant, granted) := {
	"subject": subject,
	"action": action,
	"resource": {"account": tenant},
	"now_ns": now,
	"user": {"id": subject, "organization": "classics"},
	"account": {"id": tenant, "virtual_accounts": [], "partner": "classics"},
	"partner_membership": {"roles": classics_roles[subject], "added_by": "ops"},
	"tenant": {
		"exclusive": tenant in granted,
		"grants": [grant |
			tenant in granted
			subject in tenant_requests[tenant].users
			grant := {"request": tenant_requests[tenant].id, "granted_by": "tom"}
		],
	},
}

example_allows(subject, tenant, granted) if {
	every action in ["impersonate.configure", "impersonate.support"] {
		decision.result.allow with input as impersonation(subject, action, tenant, granted)
	}
}

example_denies(subject, tenant, granted) if {
	every action in ["impersonate.configure", "impersonate.support"] {
		result := decision.result with input as impersonation(subject, action, tenant, granted)
		result.allow == false
	}
}

# Section 8, R39: once tom-sawyer granted its request, caroline and charlotte may impersonate it.
test_allow_example_named_users_after_grant if {
	example_allows("caroline", "tom-sawyer", {"tom-sawyer"})
	example_allows("charlotte", "tom-sawyer", {"tom-sawyer"})
	decision.result.grant == {"kind": "tenant_grant", "account": "tom-sawyer", "request": "01JTS", "approved_by": "tom"} with input as impersonation("caroline", "impersonate.support", "tom-sawyer", {"tom-sawyer"})
}

# Section 8, R39: jane may not impersonate tom-sawyer after its grant, by any method.
test_deny_example_jane_after_grant if {
	example_denies("jane", "tom-sawyer", {"tom-sawyer"})
	example_denies("jane", "tom-sawyer", {"tom-sawyer", "hundred-acre"})
}

# Section 8, R39: the reseller's tm_admin is denied on an exclusive tenant too.
test_deny_example_tm_admin_after_grant if {
	example_denies("elizabeth", "tom-sawyer", {"tom-sawyer"})
}

# Section 8, R39: before hundred-acre grants its request, jane uses the legacy method there.
test_allow_example_jane_legacy_before_grant if {
	example_allows("jane", "hundred-acre", set())
	example_allows("jane", "hundred-acre", {"tom-sawyer"})
	decision.result.grant == {"kind": "partner_role", "account": "classics", "role": "impersonator", "approved_by": "ops"} with input as impersonation("jane", "impersonate.support", "hundred-acre", {"tom-sawyer"})
}

# Section 8, R39: after hundred-acre grants its request, only charlotte may.
test_deny_example_jane_after_hundred_acre_grant if {
	example_denies("jane", "hundred-acre", {"tom-sawyer", "hundred-acre"})
	example_denies("caroline", "hundred-acre", {"tom-sawyer", "hundred-acre"})
	example_denies("elizabeth", "hundred-acre", {"tom-sawyer", "hundred-acre"})
	example_allows("charlotte", "hundred-acre", {"tom-sawyer", "hundred-acre"})
}

# Section 8, R39: employees without a legacy role are denied before any grant.
test_deny_example_employee_without_role_before_grant if {
	example_denies("caroline", "hundred-acre", set())
}

# A caller that data.json does not name gets one reason, about itself, and
# nothing about the subject or the roles.
test_deny_refused_caller_learns_nothing if {
	result := decision.result with input as object.union(question("view", ["account_user"]), {"caller": "intruder"})
		with data.gatehouse.config.decision_callers as {"billing": ["view"]}
	result == {"allow": false, "reasons": [`application "intruder" may not ask for decisions (it is not in decision_callers)`]}
}

# A caller that data.json names gets the decision.
test_allow_named_caller if {
	result := decision.result with input as object.union(question("view", ["account_user"]), {"caller": "billing"})
		with data.gatehouse.config.decision_callers as {"billing": ["view"]}
	result.allow
}
