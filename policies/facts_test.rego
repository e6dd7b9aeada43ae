package gatehouse.facts_test

import rego.v1

import data.gatehouse.facts

now := 1763700000000000000

# R7: a membership without expiry lasts.
test_allow_membership_without_expiry if {
	facts.membership == {"roles": ["account_user"]} with input as {"now_ns": now, "membership": {"roles": ["account_user"]}}
}

# R7: a membership whose expiry is ahead of now lasts.
test_allow_membership_before_expiry if {
	facts.membership with input as {"now_ns": now, "membership": {"roles": [], "expires_at_ns": now + 1}}
}

# R7: a null expiry is no expiry.
test_allow_membership_with_null_expiry if {
	facts.membership with input as {"now_ns": now, "membership": {"expires_at_ns": null}}
}

# R7: a membership counts as absent from the instant it expires.
test_deny_membership_expiring_now if {
	not facts.membership with input as {"now_ns": now, "membership": {"expires_at_ns": now}}
}

# R7: a membership that expired counts as absent.
test_deny_expired_membership if {
	not facts.membership with input as {"now_ns": now, "membership": {"expires_at_ns": now - 1}}
}

# R7: fail closed on an expiry that is not a number.
test_deny_membership_with_unreadable_expiry if {
	not facts.membership with input as {"now_ns": now, "membership": {"expires_at_ns": "tomorrow"}}
}

# R7: fail closed when now is unknown and the membership expires.
test_deny_membership_expiring_without_now if {
	not facts.membership with input as {"membership": {"expires_at_ns": now}}
}

# R7: a membership that is not an object is no membership.
test_deny_membership_not_an_object if {
	not facts.membership with input as {"now_ns": now, "membership": "account_admin"}
}

# R39: the partner membership expires the same way.
test_deny_expired_partner_membership if {
	not facts.partner_membership with input as {"now_ns": now, "partner_membership": {"expires_at_ns": now}}
}

test_allow_partner_membership_before_expiry if {
	facts.partner_membership with input as {"now_ns": now, "partner_membership": {"expires_at_ns": now + 1}}
}

# R7: names of the question are strings, "" when missing or of another type.
test_outcome_names_are_strings if {
	facts.subject == "" with input as {"subject": 42}
	facts.action == "" with input as {}
	facts.account_id == "" with input as {"resource": {"account": ["a"]}}
	facts.subject == "jane" with input as {"subject": "jane"}
	facts.action == "view" with input as {"action": "view"}
	facts.account_id == "acme" with input as {"resource": {"account": "acme"}}
}

# R4: an empty virtual account is a question about the whole account.
test_outcome_empty_virtual_account_is_the_account if {
	not facts.virtual_account with input as {"resource": {"account": "acme", "virtual_account": ""}}
	not facts.virtual_account with input as {"resource": {"account": "acme"}}
	facts.virtual_account == "va1" with input as {"resource": {"account": "acme", "virtual_account": "va1"}}
}

# R7: the reason names a missing membership.
test_deny_reason_not_a_member if {
	facts.membership_problem == "jane is not a member of acme" with input as {"subject": "jane", "resource": {"account": "acme"}}
}

# R7: the reason names when the membership expired.
test_deny_reason_membership_expired if {
	facts.membership_problem == "jane's membership in acme expired at 2025-11-21T04:40:00Z" with input as {
		"subject": "jane", "resource": {"account": "acme"}, "now_ns": now,
		"membership": {"expires_at_ns": now},
	}
}

# R7: an unreadable expiry is still named.
test_deny_reason_membership_unreadable_expiry if {
	facts.membership_problem == `jane's membership in acme expired at tomorrow (not a time)` with input as {
		"subject": "jane", "resource": {"account": "acme"}, "now_ns": now,
		"membership": {"expires_at_ns": "tomorrow"},
	}
}

test_outcome_no_membership_problem_for_a_member if {
	not facts.membership_problem with input as {"subject": "jane", "resource": {"account": "acme"}, "membership": {}}
}

# R7: the grant names the request and who added the membership, when known.
test_allow_grant_names_membership if {
	facts.membership_grant == {"kind": "membership", "account": "acme", "request": "01JREQ", "approved_by": "ops"} with input as {
		"resource": {"account": "acme"},
		"membership": {"request": "01JREQ", "added_by": "ops"},
	}
	facts.membership_grant == {"kind": "membership", "account": "acme"} with input as {
		"resource": {"account": "acme"},
		"membership": {"request": "", "added_by": 7},
	}
}

# R6: the contact type is "" for a member who is not a contact.
test_outcome_contact_type if {
	facts.contact == "primary" with input as {"membership": {"contact": "primary"}}
	facts.contact == "" with input as {"membership": {}}
	facts.contact == "" with input as {}
}

# R1: only string roles count.
test_outcome_held_roles_are_strings if {
	facts.held_roles == {"account_user"} with input as {"membership": {"roles": ["account_user", 3, null]}}
	facts.held_roles == set() with input as {}
}

test_outcome_roles_text if {
	facts.roles_text({"b", "a"}) == "a, b"
	facts.roles_text(set()) == "no role"
}
