package gatehouse.admission_test

import rego.v1

import data.gatehouse.admission

carol := {"id": "carol", "email": "carol@example.com", "organization": ""}

# set_member is who setting user to proposed, with current as the user's
# membership before (null: none).
set_member(who, user, proposed, current) := object.union(
	on_acme(who, object.union({"type": "set_member", "account": "acme", "user": user, "justification": "support contract"}, proposed)),
	{"target": {"id": user, "user": {"id": user}, "membership": current, "proposed": object.union({"account": "acme", "user": user}, proposed)}},
)

remove_member(who, user) := object.union(
	on_acme(who, {"type": "remove_member", "account": "acme", "user": user}),
	{"target": {"id": user, "user": {"id": user}, "membership": object.get(acme_members, user, null)}},
)

with_members(q, members) := object.union(q, {"members": members})

with_settings(q, settings) := object.union(q, {"account": object.union(acme, {"settings": settings})})

# R43: who sees the members of an account.
test_allow_list_members_by_viewers if {
	every who in ["alice", "bob", "sam", "vera", "apo"] {
		result(on_acme(actor(who), {"type": "list_members", "account": "acme"})).entitled == true
	}
	result(on_acme(ops, {"type": "list_members", "account": "acme"})).entitled == true
}

test_deny_list_members_by_stranger if {
	r := result(on_acme(actor("mallory"), {"type": "list_members", "account": "acme"}))
	r.entitled == false
	r.denials == ["mallory may not see the members of acme: that takes a role of account_viewer or above, a contact type or manage_access at view (R43)"]
}

test_allow_list_members_with_manage_access_view if {
	members := object.union(acme_members, {"pat": {"roles": [], "privileges": {"manage_access": "view"}}})
	who := object.union(actor("pat"), {"membership": members.pat})
	result(with_members(on_acme(who, {"type": "list_members", "account": "acme"}), members)).entitled == true
}

# R43: a member sees their own membership, and nobody else's.
test_allow_get_member_self if {
	members := object.union(acme_members, {"pat": {"roles": [], "privileges": {"reporting": "view"}}})
	who := object.union(actor("pat"), {"membership": members.pat})
	q := object.union(on_acme(who, {"type": "get_member", "account": "acme", "user": "pat"}), {"target": {"id": "pat", "membership": members.pat}})
	result(q).entitled == true
	not result(object.union(q, {"command": {"type": "get_member", "account": "acme", "user": "alice"}})).entitled
}

test_missing_get_member if {
	r := result(object.union(on_acme(ops, {"type": "get_member", "account": "acme", "user": "ghost"}), {"target": {"id": "ghost"}}))
	r.missing == ["ghost is not a member of acme"]
}

# R43: reading one's own membership of an account that does not exist
# answers as for an account one is not a member of.
test_missing_own_membership_of_unknown_account if {
	q := {"now_ns": now, "actor": actor("carol"), "command": {"type": "get_member", "account": "nowhere", "user": "carol"}, "members": {}, "target": {"id": "carol"}}
	result(q).missing == ["carol is not a member of nowhere"]
}

test_missing_account_of_members if {
	r := result({"now_ns": now, "actor": ops, "command": {"type": "list_members", "account": "nowhere"}, "members": {}})
	r.missing == ["account nowhere does not exist"]
}

# R26: a manager adds an existing user directly, with a justification.
test_allow_set_member_by_managers if {
	every who in ["alice", "bob"] {
		r := result(set_member(actor(who), "carol", {"roles": ["account_user"]}, null))
		r.entitled == true
		r.violations == []
		r.missing == []
	}
	result(set_member(ops, "carol", {"roles": ["account_admin"], "contact": "primary"}, null)).entitled == true
}

# R26: who is not a manager may not.
test_deny_set_member_by_non_managers if {
	every who in ["sam", "vera", "apo", "old", "mallory"] {
		r := result(set_member(actor(who), "carol", {"roles": ["account_user"]}, null))
		r.entitled == false
		r.denials == [sprintf("%s may not change the members of acme: that takes account_admin, the primary contact, or a secondary contact with manage_access at update (R26)", [who])]
	}
}

test_violation_set_member_without_justification if {
	q := set_member(actor("bob"), "carol", {"roles": ["account_user"], "justification": ""}, null)
	result(q).violations == ["a justification is required to add carol to acme directly (R26)"]
}

# R32: a system administrator sets the first admin without one.
test_allow_system_admin_without_justification if {
	result(set_member(ops, "carol", {"roles": ["account_admin"], "justification": ""}, null)).violations == []
}

# R31: the user must exist.
test_missing_set_member_unknown_user if {
	q := set_member(actor("alice"), "ghost", {"roles": ["account_user"]}, null)
	r := result(json.remove(q, ["target/user"]))
	r.entitled == true
	r.missing == ["user ghost does not exist"]
}

# R30: only an account_admin makes another user account_admin, or takes it away.
test_deny_set_member_admin_by_secondary if {
	r := result(set_member(actor("bob"), "carol", {"roles": ["account_admin"]}, null))
	r.entitled == false
	r.denials == ["only an account_admin of acme may make carol an account_admin (R30)"]
}

test_allow_set_member_admin_by_admin if {
	r := result(set_member(actor("alice"), "carol", {"roles": ["account_admin"]}, null))
	r.entitled == true
	r.violations == []
}

test_deny_take_admin_away_by_secondary if {
	members := object.union(acme_members, {"dan": {"roles": ["account_admin"]}})
	r := result(with_members(set_member(actor("bob"), "dan", {"roles": ["account_user"]}, members.dan), members))
	r.denials == ["only an account_admin of acme may take account_admin away from dan (R30)"]
}

# R10, R12: the primary contact is named or unnamed by an admin or the primary.
test_deny_primary_change_by_secondary if {
	r := result(set_member(actor("bob"), "carol", {"contact": "primary"}, null))
	r.denials == ["only an account_admin or the primary contact of acme may change who is its primary contact"]
	admission.actor_contact == "" with input as {}
}

# R21, R26: nobody grants themselves access.
test_deny_set_own_membership if {
	r := result(set_member(actor("bob"), "bob", {"contact": "secondary", "privileges": {"manage_access": "update", "reporting": "view"}}, acme_members.bob))
	r.denials == ["bob may not change their own access to acme: another manager must"]
}

# R10: at most 4 secondary contacts by default.
test_violation_secondary_limit_default if {
	members := object.union(acme_members, {
		"s3": {"roles": [], "contact": "secondary"},
		"s4": {"roles": [], "contact": "secondary"},
	})
	r := result(with_members(set_member(actor("alice"), "carol", {"contact": "secondary"}, null), members))
	r.violations == ["an account can have at most 4 secondary contacts (it has 4)"]
}

# R10: expired secondary contacts do not count (R7).
test_allow_secondary_limit_ignores_expired if {
	members := object.union(acme_members, {
		"s3": {"roles": [], "contact": "secondary"},
		"s4": {"roles": [], "contact": "secondary", "expires_at_ns": now},
	})
	result(with_members(set_member(actor("alice"), "carol", {"contact": "secondary"}, null), members)).violations == []
}

# R10: the account's settings override the limit.
test_violation_secondary_limit_from_settings if {
	r := result(with_settings(set_member(actor("alice"), "carol", {"contact": "secondary"}, null), {"max_secondary_contacts": 2}))
	r.violations == ["an account can have at most 2 secondary contacts (it has 2)"]
}

test_allow_secondary_limit_raised_by_settings if {
	members := object.union(acme_members, {
		"s3": {"roles": [], "contact": "secondary"},
		"s4": {"roles": [], "contact": "secondary"},
	})
	q := with_settings(with_members(set_member(actor("alice"), "carol", {"contact": "secondary"}, null), members), {"max_secondary_contacts": 5})
	result(q).violations == []
}

# R10: changing a contact who already is one does not count twice.
test_allow_change_existing_secondary_at_limit if {
	q := with_settings(set_member(actor("alice"), "sam", {"contact": "secondary", "privileges": {"reporting": "view"}}, acme_members.sam), {"max_secondary_contacts": 2})
	result(q).violations == []
}

# R10: at most one primary contact.
test_violation_primary_limit if {
	r := result(set_member(actor("alice"), "carol", {"contact": "primary"}, null))
	r.violations == ["an account can have at most 1 primary contact (it has 1)"]
}

# R12: the only primary contact is not demoted; the last admin stays.
test_violation_demote_only_primary if {
	members := object.union(acme_members, {"dan": {"roles": ["account_admin"]}})
	r := result(with_members(set_member(ops, "alice", {"roles": ["account_admin"], "contact": ""}, acme_members.alice), members))
	r.violations == ["alice is the only primary contact of acme: name another primary contact first (R12)"]
}

test_violation_remove_only_primary_and_last_admin if {
	r := result(remove_member(ops, "alice"))
	r.entitled == true
	r.violations == [
		"alice is the last account_admin of acme: make another member account_admin first (R12)",
		"alice is the only primary contact of acme: name another primary contact first (R12)",
	]
}

test_allow_remove_admin_when_another_remains if {
	members := object.union(acme_members, {"dan": {"roles": ["account_admin"]}})
	r := result(with_members(remove_member(actor("alice"), "dan"), members))
	r.entitled == true
	r.violations == []
}

test_allow_remove_member_by_manager if {
	r := result(remove_member(actor("bob"), "vera"))
	r.entitled == true
	r.violations == []
}

test_missing_remove_non_member if {
	result(remove_member(actor("alice"), "carol")).missing == ["carol is not a member of acme"]
}

# R1, R2, R5, R6, R22: what a membership may hold.
test_violation_unknown_roles_and_levels if {
	q := set_member(
		actor("alice"), "carol", {
			"roles": ["account_owner"],
			"va_roles": {"va1": "va_user", "va9": "va_viewer", "va2": "va_boss"},
			"privileges": {"reporting": "full", "teleport": "view"},
		},
		null,
	)
	result(q).violations == [
		"privileges must name applications: account_documents, allocations, contact_preview, contact_updates, entitlements, manage_access, purchase or reporting (it names teleport) (R5)",
		"privileges.reporting must be none or view (it is full) (R5)",
		"roles[0] must be account_admin, account_approver, account_user, account_viewer, impersonator, policy_admin or tm_admin (it is account_owner) (R1)",
		"va_roles must name a virtual account of acme: va1 or va2 (it names va9) (R22)",
		"va_roles.va2 must be va_admin, va_user or va_viewer (it is va_boss) (R2)",
	]
}

test_violation_contact_updates_without_contact if {
	q := set_member(actor("alice"), "carol", {"roles": ["account_user"], "privileges": {"contact_updates": "view"}}, null)
	result(q).violations == ["only a primary or secondary contact may hold contact_updates above none (R6)"]
}

test_violation_unknown_contact if {
	result(set_member(actor("alice"), "carol", {"contact": "tertiary"}, null)).violations == ["contact must be primary or secondary, or none (it is tertiary)"]
}

# API.md: the contact type is primary, secondary or none, and "none" is the
# same as no contact type.
test_allow_contact_none if {
	result(set_member(actor("alice"), "carol", {"roles": ["account_user"], "contact": "none"}, null)).violations == []
	result(set_member(actor("alice"), "carol", {"roles": ["account_user"], "contact": ""}, null)).violations == []
}

test_violation_contact_none_holds_no_access if {
	r := result(set_member(actor("alice"), "carol", {"roles": [], "contact": "none"}, null))
	r.violations == ["carol would hold no access to acme: give a role, a virtual-account role, a contact type or a privilege, or remove the member"]
}

# Every value the policy's data names is accepted where it is documented:
# each account role, virtual-account role, contact type, application level.
test_allow_every_enumerated_value if {
	every role in admission.account_roles {
		result(set_member(actor("alice"), "carol", {"roles": [role]}, null)).violations == []
	}
	every role in admission.va_roles {
		result(set_member(actor("alice"), "carol", {"va_roles": {"va1": role}}, null)).violations == []
	}
	every type in data.gatehouse.config.contact_types {
		q := with_members(set_member(actor("alice"), "carol", {"contact": type}, null), {"alice": acme_members.alice})
		not_limited := [v | some v in result(q).violations; not contains(v, "at most")]
		not_limited == []
	}
	every app, levels in data.gatehouse.config.privileges {
		every level in levels {
			result(set_member(actor("alice"), "carol", {"contact": "secondary", "privileges": {app: level}}, null)).violations == []
		}
	}
}

test_violation_empty_membership if {
	result(set_member(actor("alice"), "carol", {"roles": []}, null)).violations == ["carol would hold no access to acme: give a role, a virtual-account role, a contact type or a privilege, or remove the member"]
}

# R7: a membership expiry lies ahead.
test_violation_past_expiry if {
	q := set_member(actor("alice"), "carol", {"roles": ["account_user"], "expires_at_ns": now - 1}, null)
	result(q).violations == ["the expiry must be in the future (it is 2025-11-21T04:39:59.999999999Z)"]
}

test_allow_future_expiry if {
	result(set_member(actor("alice"), "carol", {"roles": ["account_user"], "expires_at_ns": now + hour}, null)).violations == []
}

test_deny_remove_member_by_non_manager if {
	r := result(remove_member(actor("vera"), "sam"))
	r.entitled == false
	r.denials == ["vera may not change the members of acme: that takes account_admin, the primary contact, or a secondary contact with manage_access at update (R26)"]
}

# R22: an account without virtual accounts has none to grant.
test_violation_virtual_account_of_account_without_any if {
	q := json.remove(set_member(actor("alice"), "carol", {"va_roles": {"va1": "va_user"}}, null), ["account/virtual_accounts"])
	result(q).violations == ["va_roles must name a virtual account of acme, which has none (it names va1) (R22)"]
}
