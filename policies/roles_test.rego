package gatehouse.roles_test

import rego.v1

import data.gatehouse.roles

now := 1763700000000000000

# question asks whether caroline may take action on account acme with the
# given membership, on the virtual account va when it is not "".
question(action, va, membership) := {
	"subject": "caroline",
	"action": action,
	"resource": {"account": "acme", "virtual_account": va},
	"now_ns": now,
	"user": {"id": "caroline"},
	"account": {"id": "acme", "virtual_accounts": ["va1", "va2"]},
	"membership": membership,
}

member(roles) := {"roles": roles, "added_by": "ops", "request": "01JREQ"}

va_member(va_roles) := {"roles": [], "va_roles": va_roles, "added_by": "ops"}

allowed(action, va, membership) if roles.allow with input as question(action, va, membership)

# R1, R4: the account role hierarchy, action by action.
test_allow_account_roles_by_hierarchy if {
	cases := [
		["account_admin", "manage"], ["account_admin", "use"], ["account_admin", "view"],
		["account_user", "use"], ["account_user", "view"],
		["account_viewer", "view"],
		["account_approver", "view"], ["account_approver", "approve"],
	]
	every case in cases {
		allowed(case[1], "", member([case[0]]))
	}
}

# R1, R4: a role below the needed one.
test_deny_account_roles_below_needed if {
	cases := [
		["account_user", "manage"],
		["account_viewer", "use"], ["account_viewer", "manage"],
		["account_approver", "use"], ["account_approver", "manage"],
	]
	every case in cases {
		not allowed(case[1], "", member([case[0]]))
	}
}

# R1, R4: an admin manages the account.
test_allow_admin_manages if {
	allowed("manage", "", member(["account_admin"]))
}

# R21: an account_admin may approve.
test_allow_admin_approves if {
	allowed("approve", "", member(["account_admin"]))
}

# R1: account_user does not include account_approver.
test_deny_user_approves if {
	not allowed("approve", "", member(["account_user"]))
}

# R1: tm_admin and impersonator are flat: they include no other role.
test_deny_flat_roles_view if {
	not allowed("view", "", member(["tm_admin"]))
	not allowed("view", "", member(["impersonator", "tm_admin"]))
}

# R1: a role the hierarchy does not know includes nothing.
test_deny_unknown_role_views if {
	not allowed("view", "", member(["superuser", 7]))
}

# R1: the hierarchy is data: a role added to config.account_roles includes
# what the data says.
test_allow_role_added_by_data if {
	hierarchy := object.union(data.gatehouse.config.account_roles, {"account_auditor": ["account_viewer"]})
	roles.allow with input as question("view", "", member(["account_auditor"]))
		with data.gatehouse.config.account_roles as hierarchy
	not roles.allow with input as question("use", "", member(["account_auditor"]))
		with data.gatehouse.config.account_roles as hierarchy
}

# R2, R4: the virtual-account role hierarchy on its own virtual account.
test_allow_va_roles_by_hierarchy if {
	cases := [
		["va_admin", "manage"], ["va_admin", "use"], ["va_admin", "view"],
		["va_user", "use"], ["va_user", "view"],
		["va_viewer", "view"],
	]
	every case in cases {
		allowed(case[1], "va1", va_member({"va1": case[0]}))
	}
}

# R2, R4: a virtual-account role below the needed one.
test_deny_va_roles_below_needed if {
	not allowed("manage", "va1", va_member({"va1": "va_user"}))
	not allowed("use", "va1", va_member({"va1": "va_viewer"}))
}

# R2: a virtual-account role holds only on its own virtual account.
test_deny_va_role_on_other_virtual_account if {
	not allowed("view", "va2", va_member({"va1": "va_admin"}))
}

# R2: a virtual-account role gives nothing on the account itself.
test_deny_va_role_on_account if {
	not allowed("view", "", va_member({"va1": "va_admin"}))
}

# R3: an account role holds on every virtual account of the account.
test_allow_account_role_on_every_virtual_account if {
	allowed("use", "va1", member(["account_user"]))
	allowed("use", "va2", member(["account_user"]))
	allowed("manage", "va2", member(["account_admin"]))
	allowed("view", "va1", member(["account_approver"]))
}

# R3: an account role acts on a virtual account at its own level only.
test_deny_account_user_manages_virtual_account if {
	not allowed("manage", "va1", member(["account_user"]))
}

# R2, R3: the higher of the account role and the virtual-account role counts.
test_allow_va_admin_above_account_viewer if {
	membership := {"roles": ["account_viewer"], "va_roles": {"va1": "va_admin"}}
	allowed("manage", "va1", membership)
	not allowed("manage", "va2", membership)
	allowed("view", "va2", membership)
}

# R21: approve is decided on the account, also when a virtual account is named.
test_allow_approver_approves_on_virtual_account if {
	allowed("approve", "va1", member(["account_approver"]))
	not allowed("approve", "va1", va_member({"va1": "va_admin"}))
}

# R21: the primary contact approves (it holds manage_access at update, R6).
test_allow_primary_contact_approves if {
	allowed("approve", "", {"roles": [], "contact": "primary"})
}

# R21: a secondary contact with manage_access at update approves.
test_allow_secondary_contact_with_manage_access_approves if {
	allowed("approve", "", {"roles": [], "contact": "secondary", "privileges": {"manage_access": "update"}})
}

# R21: a secondary contact with manage_access below update does not.
test_deny_secondary_contact_with_manage_access_view_approves if {
	not allowed("approve", "", {"roles": [], "contact": "secondary", "privileges": {"manage_access": "view"}})
}

# R21: manage_access at update without being a contact is not enough.
test_deny_non_contact_with_manage_access_approves if {
	not allowed("approve", "", {"roles": [], "privileges": {"manage_access": "update"}})
}

# R21: contact standing does not give view, use or manage.
test_deny_primary_contact_manages if {
	not allowed("manage", "", {"roles": [], "contact": "primary"})
}

# R7: no membership, no role.
test_deny_no_membership if {
	not roles.allow with input as object.remove(question("view", "", {}), ["membership"])
}

# R7: an expired membership counts as absent.
test_deny_expired_membership if {
	not allowed("view", "", object.union(member(["account_admin"]), {"expires_at_ns": now}))
}

# R7: a membership lasts until it expires.
test_allow_membership_before_expiry if {
	allowed("view", "", object.union(member(["account_admin"]), {"expires_at_ns": now + 1}))
}

# R4: an action outside the role table is not decided here.
test_deny_action_not_a_role_action if {
	not allowed("entitlements.view", "", member(["account_admin"]))
	not allowed("impersonate.support", "", member(["account_admin"]))
}

# R7: the reasons name the role that allowed and what it includes.
test_allow_reasons_name_the_role if {
	roles.allow_reasons == {"caroline holds account_user on acme, which includes account_viewer (needed for view)"} with input as question("view", "", member(["account_user"]))
	roles.allow_reasons == {"caroline holds account_viewer on acme (needed for view)"} with input as question("view", "", member(["account_viewer"]))
	roles.allow_reasons == {
		"caroline holds va_admin on virtual account va1 of acme, which includes va_viewer (needed for view)",
		"caroline holds account_viewer on acme, which acts on each of its virtual accounts and includes va_viewer on va1 (needed for view)",
	} with input as question("view", "va1", {"roles": ["account_viewer"], "va_roles": {"va1": "va_admin"}})
	roles.allow_reasons == {"caroline is a primary contact of acme with manage_access at update (needed for approve)"} with input as question("approve", "", {"contact": "primary"})
}

# R7: the grant names the membership.
test_allow_grant_names_membership if {
	roles.grant == {"kind": "membership", "account": "acme", "request": "01JREQ", "approved_by": "ops"} with input as question("use", "", member(["account_user"]))
	not roles.grant with input as question("manage", "", member(["account_user"]))
}

# R7: the reasons say why a member is denied on the account.
test_deny_reasons_role_below_needed if {
	roles.deny_reasons == {"manage on acme needs account_admin or a role that includes it; caroline holds account_user there"} with input as question("manage", "", member(["account_user"]))
	roles.deny_reasons == {"view on acme needs account_viewer or a role that includes it; caroline holds no role there"} with input as question("view", "", member([]))
}

# R7: the reasons say why a member is denied on a virtual account.
test_deny_reasons_virtual_account_role_below_needed if {
	roles.deny_reasons == {"use on virtual account va2 of acme needs va_user or a role that includes it; caroline holds no role on va2 and account_viewer on the account"} with input as question("use", "va2", {"roles": ["account_viewer"], "va_roles": {"va1": "va_admin"}})
	roles.deny_reasons == {"use on virtual account va1 of acme needs va_user or a role that includes it; caroline holds va_viewer on va1 and no role on the account"} with input as question("use", "va1", va_member({"va1": "va_viewer"}))
}

# R21: the reasons for approve name the contact standing too.
test_deny_reasons_approve if {
	roles.deny_reasons == {
		"approve on acme needs account_approver or a role that includes it; caroline holds account_user there",
		"approve is also open to a primary or secondary contact with manage_access at update or higher; caroline is not a contact with manage_access at none",
	} with input as question("approve", "", member(["account_user"]))
	roles.deny_reasons == {
		"approve on acme needs account_approver or a role that includes it; caroline holds no role there",
		"approve is also open to a primary or secondary contact with manage_access at update or higher; caroline is the secondary contact with manage_access at view",
	} with input as question("approve", "", {"contact": "secondary", "privileges": {"manage_access": "view"}})
}

# R7: the reasons name a missing or expired membership.
test_deny_reasons_membership if {
	roles.deny_reasons == {"caroline is not a member of acme"} with input as object.remove(question("view", "", {}), ["membership"])
	roles.deny_reasons == {"caroline's membership in acme expired at 2025-11-21T04:40:00Z"} with input as question("view", "", {"roles": ["account_admin"], "expires_at_ns": now})
}

# R7: no deny reason on an allow.
test_allow_no_deny_reasons if {
	count(roles.deny_reasons) == 0 with input as question("view", "", member(["account_user"]))
}

# R2-R4: a question names the virtual-account role it needs only when it is
# about a virtual account and the action has one (approve has none, R21).
test_outcome_va_needed if {
	roles.va_needed == "va_user" with input as question("use", "va1", member([]))
	not roles.va_needed with input as question("use", "", member([]))
	not roles.va_needed with input as question("approve", "va1", member([]))
}

# R7: the answer carries the sorted reasons and the grant, or the reasons of the deny.
test_outcome_answer if {
	roles.answer == {
		"allow": true,
		"reasons": [
			"caroline holds account_viewer on acme, which acts on each of its virtual accounts and includes va_viewer on va1 (needed for view)",
			"caroline holds va_admin on virtual account va1 of acme, which includes va_viewer (needed for view)",
		],
		"grant": {"kind": "membership", "account": "acme"},
	} with input as question("view", "va1", {"roles": ["account_viewer"], "va_roles": {"va1": "va_admin"}})
	roles.answer == {
		"allow": false,
		"reasons": ["manage on acme needs account_admin or a role that includes it; caroline holds account_user there"],
	} with input as question("manage", "", member(["account_user"]))
}
