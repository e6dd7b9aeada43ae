package gatehouse.privileges_test

import rego.v1

import data.gatehouse.privileges

now := 1763700000000000000

# question asks whether caroline may take action on account acme with the
# given membership.
question(action, membership) := {
	"subject": "caroline",
	"action": action,
	"resource": {"account": "acme"},
	"now_ns": now,
	"user": {"id": "caroline"},
	"account": {"id": "acme", "virtual_accounts": []},
	"membership": object.union({"roles": [], "added_by": "ops"}, membership),
}

allowed(action, membership) if privileges.allow with input as question(action, membership)

# R5: a level includes every lower level of its application.
test_allow_level_includes_lower_levels if {
	allowed("entitlements.update", {"privileges": {"entitlements": "update"}})
	allowed("entitlements.view", {"privileges": {"entitlements": "update"}})
	allowed("purchase.downloads", {"privileges": {"purchase": "downloads_support"}})
	allowed("purchase.full", {"privileges": {"purchase": "full"}})
}

# R5: a level below the requested one.
test_deny_level_below_requested if {
	not allowed("entitlements.update", {"privileges": {"entitlements": "view"}})
	not allowed("purchase.full", {"privileges": {"purchase": "downloads_support"}})
}

# R5: an application the member holds no level of.
test_deny_missing_privilege if {
	not allowed("reporting.view", {"privileges": {"entitlements": "update"}})
	not allowed("reporting.view", {})
}

# R5: a held level that is not a level of the application counts as none.
test_deny_unknown_held_level if {
	not allowed("entitlements.view", {"privileges": {"entitlements": "superuser"}})
}

# R5: privileges are per application.
test_deny_level_of_another_application if {
	not allowed("allocations.update", {"privileges": {"entitlements": "update"}})
}

# R6: the primary contact holds every application at its top level.
test_allow_primary_contact_holds_top_levels if {
	every action in ["purchase.full", "reporting.view", "entitlements.update", "allocations.update", "manage_access.update", "contact_updates.update", "contact_preview.view", "account_documents.view"] {
		allowed(action, {"contact": "primary"})
	}
}

# R6: a secondary contact holds only what it was given.
test_deny_secondary_contact_without_privilege if {
	not allowed("entitlements.view", {"contact": "secondary"})
}

# R6: primary and secondary contacts may hold contact_updates.
test_allow_secondary_contact_updates if {
	allowed("contact_updates.update", {"contact": "secondary", "privileges": {"contact_updates": "update"}})
}

# R6: contact_updates above none counts as none for a member who is not a contact.
test_deny_non_contact_contact_updates if {
	not allowed("contact_updates.view", {"privileges": {"contact_updates": "update"}})
	not allowed("contact_updates.view", {"contact": "other", "privileges": {"contact_updates": "update"}})
}

# R5: contact_preview has the single level view, held or not.
test_allow_contact_preview_when_held if {
	allowed("contact_preview.view", {"privileges": {"contact_preview": "view"}})
}

test_deny_contact_preview_when_not_held if {
	not allowed("contact_preview.view", {})
}

# R5: only "<application>.<level>" with a known application and a level
# above none is a privilege action.
test_deny_not_a_privilege_action if {
	every action in ["purchase.none", "payroll.view", "entitlements.admin", "entitlements", "entitlements.view.extra", "view"] {
		not privileges.requested with input as question(action, {"contact": "primary"})
		not allowed(action, {"contact": "primary"})
	}
}

test_allow_privilege_action_is_parsed if {
	privileges.requested == {"application": "purchase", "level": "downloads_support"} with input as question("purchase.downloads_support", {})
}

# R7: an expired membership holds no privilege.
test_deny_expired_membership if {
	not allowed("entitlements.view", {"contact": "primary", "expires_at_ns": now})
}

# R7: no membership, no privilege.
test_deny_no_membership if {
	not privileges.allow with input as object.remove(question("entitlements.view", {}), ["membership"])
}

# R5, R6: the effective level of an application.
test_outcome_level_of if {
	privileges.level_of("purchase") == "full" with input as question("view", {"contact": "primary"})
	privileges.level_of("purchase") == "downloads" with input as question("view", {"privileges": {"purchase": "downloads"}})
	privileges.level_of("purchase") == "none" with input as question("view", {})
	privileges.level_of("contact_updates") == "none" with input as question("view", {"privileges": {"contact_updates": "update"}})
	not privileges.level_of("purchase") with input as {}
}

# R7: the reasons name the level that allowed.
test_allow_reasons_name_the_level if {
	privileges.allow_reasons == {"caroline holds entitlements at update on acme (needed for entitlements.view)"} with input as question("entitlements.view", {"privileges": {"entitlements": "update"}})
	privileges.allow_reasons == {"caroline is the primary contact of acme and so holds every application at its top level, purchase at full (needed for purchase.downloads)"} with input as question("purchase.downloads", {"contact": "primary"})
}

# R7: the grant names the membership.
test_allow_grant_names_membership if {
	privileges.grant == {"kind": "membership", "account": "acme", "approved_by": "ops"} with input as question("reporting.view", {"privileges": {"reporting": "view"}})
	not privileges.grant with input as question("reporting.view", {})
}

# R7: the reasons say which level was needed and which is held.
test_deny_reasons_level_below_requested if {
	privileges.deny_reasons == {"entitlements.update needs entitlements at update or higher; caroline holds entitlements at view on acme"} with input as question("entitlements.update", {"privileges": {"entitlements": "view"}})
	privileges.deny_reasons == {"contact_preview.view needs contact_preview at view or higher; caroline holds contact_preview at none on acme"} with input as question("contact_preview.view", {})
}

# R6: the reasons say why contact_updates counts as none.
test_deny_reasons_non_contact_contact_updates if {
	privileges.deny_reasons == {
		"contact_updates.view needs contact_updates at view or higher; caroline holds contact_updates at none on acme",
		"caroline holds contact_updates at update on acme but only a primary or secondary contact may hold it above none, so it counts as none",
	} with input as question("contact_updates.view", {"privileges": {"contact_updates": "update"}})
}

# R7: the reasons name an expired membership.
test_deny_reasons_expired_membership if {
	privileges.deny_reasons == {"caroline's membership in acme expired at 2025-11-21T04:40:00Z"} with input as question("entitlements.view", {"expires_at_ns": now})
}

# R7: the answer carries the reasons and the grant, or the reasons of the deny.
test_outcome_answer if {
	privileges.answer == {
		"allow": true,
		"reasons": ["caroline holds reporting at view on acme (needed for reporting.view)"],
		"grant": {"kind": "membership", "account": "acme", "approved_by": "ops"},
	} with input as question("reporting.view", {"privileges": {"reporting": "view"}})
	privileges.answer == {
		"allow": false,
		"reasons": ["reporting.view needs reporting at view or higher; caroline holds reporting at none on acme"],
	} with input as question("reporting.view", {})
}
