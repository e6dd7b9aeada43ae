# Member commands: listing, reading, adding, changing and removing the
# members of an account (R10-R12, R26, R30, R31, R43), and the rules every
# proposed membership follows, whether set directly or by approving an
# account request (R5, R6, R10, R22, R23).
package gatehouse.admission

import rego.v1

import data.gatehouse.config

# R43: members who may see the account's members see them; a member sees
# their own membership.
may_run if {
	command_type in {"list_members", "get_member"}
	system_admin
}

may_run if {
	command_type in {"list_members", "get_member"}
	viewer(actor_membership)
}

may_run if {
	command_type == "get_member"
	actor_id == command.user
}

needs["list_members"] := sprintf(
	"%s may not see the members of %s: that takes a role of account_viewer or above, a contact type or manage_access at view (R43)",
	[actor_id, account_id],
)

needs["get_member"] := needs.list_members

# R26, R32: a manager of the account (R21 authority) or a system
# administrator adds, changes and removes members.
may_run if {
	command_type in {"set_member", "remove_member"}
	system_admin
}

may_run if {
	command_type in {"set_member", "remove_member"}
	manager(actor_membership)
}

needs["set_member"] := sprintf(
	"%s may not change the members of %s: that takes account_admin, the primary contact, or a secondary contact with manage_access at update (R26)",
	[actor_id, account_id],
)

needs["remove_member"] := needs.set_member

missing contains sprintf("account %s does not exist", [command.account]) if {
	command_type in {"list_members", "set_member", "remove_member"}
	not account_exists
}

missing contains sprintf("account %s does not exist", [command.account]) if {
	command_type == "get_member"
	system_admin
	not account_exists
}

# R43: a user reading their own membership learns that they are not a
# member, not whether the account exists.
missing contains sprintf("%s is not a member of %s", [command.user, account_id]) if {
	command_type == "get_member"
	not system_admin
	not account_exists
}

# R31: only an existing user can be made a member.
missing contains sprintf("user %s does not exist", [command.user]) if {
	command_type == "set_member"
	account_exists
	not is_object(object.get(target, "user", null))
}

missing contains sprintf("%s is not a member of %s", [command.user, account_id]) if {
	command_type in {"get_member", "remove_member"}
	account_exists
	not is_object(object.get(target, "membership", null))
}

# target_current is the target's membership while it lasts, target_proposed
# the membership the command would leave them with.
target_current := input.target.membership if live(input.target.membership)

target_proposed := input.target.proposed if is_object(input.target.proposed)

# changes_member: the command writes or removes a membership.
changes_member if command_type in {"set_member", "remove_member"}

changes_member if {
	command_type == "approve"
	target_proposed
}

# Revoking an account request removes the membership it created.
changes_member if {
	command_type == "revoke"
	is_object(input.target.membership)
}

# The target holds account_admin or a contact type before (was) or after
# (becomes) the command; removing a member leaves them nothing.
was_admin if "account_admin" in target_current.roles

becomes_admin if "account_admin" in target_proposed.roles

# current_contact and proposed_contact are the target's contact type
# before and after the command, "" for none.
current_contact := contact_of(target_current) if {
	target_current
} else := ""

proposed_contact := contact_of(target_proposed) if {
	target_proposed
} else := ""

was_contact(type) := current_contact == type

becomes_contact(type) := proposed_contact == type

# actor_contact is the actor's contact type on the account, "" for none.
actor_contact := contact_of(actor_membership) if {
	actor_membership
} else := ""

# actor_is_admin: the actor holds account_admin on the account, or is a
# system administrator.
actor_is_admin if "account_admin" in actor_membership.roles

actor_is_admin if system_admin

# R30: only an account_admin makes another user account_admin.
authority_denials contains sprintf("only an account_admin of %s may make %s an account_admin (R30)", [account_id, input.target.id]) if {
	changes_member
	becomes_admin
	not was_admin
	not actor_is_admin
}

authority_denials contains sprintf("only an account_admin of %s may take account_admin away from %s (R30)", [account_id, input.target.id]) if {
	changes_member
	was_admin
	not becomes_admin
	not actor_is_admin
}

# Naming or unnaming the primary contact takes an account_admin or the
# primary contact (R10, R12).
authority_denials contains sprintf("only an account_admin or the primary contact of %s may change who is its primary contact", [account_id]) if {
	changes_member
	was_contact("primary") != becomes_contact("primary")
	not actor_is_admin
	not actor_contact == "primary"
}

# R21, R26: nobody grants themselves access.
authority_denials contains sprintf("%s may not change their own access to %s: another manager must", [actor_id, account_id]) if {
	command_type == "set_member"
	input.target.id == actor_id
	not system_admin
}

# R26: adding a user directly, without a request, needs a justification.
violations contains sprintf("a justification is required to add %s to %s directly (R26)", [input.target.id, account_id]) if {
	command_type == "set_member"
	not target_current
	not system_admin
	object.get(command, "justification", "") == ""
}

violations contains sprintf("%s would hold no access to %s: give a role, a virtual-account role, a contact type or a privilege, or remove the member", [input.target.id, account_id]) if {
	command_type == "set_member"
	count(object.get(target_proposed, "roles", [])) == 0
	count(object.get(target_proposed, "va_roles", {})) == 0
	contact_of(target_proposed) == ""
	count(object.get(target_proposed, "privileges", {})) == 0
}

# grants_access: the command gives the roles, contact type and privileges
# it names (set_member), or adds them to the requester's (approving an
# account request).
grants_access if command_type == "set_member"

grants_access if approving_account

# R1: account roles must be known.
violations contains sprintf("%s (R1)", [must_be(sprintf("roles[%d]", [i]), role, account_roles)]) if {
	command_type == "set_member"
	some i, role in command.roles
	not role in account_roles
}

# R2, R22: virtual-account roles name a virtual account of this account and
# a known virtual-account role.
violations contains sprintf("va_roles must name a virtual account of %s%s (it names %s) (R22)", [account_id, account_vas_text, va]) if {
	command_type == "set_member"
	some va, _ in command.va_roles
	not va in account_vas
}

violations contains sprintf("%s (R2)", [must_be(sprintf("va_roles.%s", [va]), role, va_roles)]) if {
	command_type == "set_member"
	some va, role in command.va_roles
	not role in va_roles
}

# account_vas_text names the account's virtual accounts after its id.
account_vas_text := sprintf(": %s", [one_of(account_vas)]) if {
	count(account_vas) > 0
} else := ", which has none"

# R10: the contact type is primary, secondary or none ("" or "none").
violations contains sprintf("contact must be %s, or none (it is %v)", [one_of(config.contact_types), contact]) if {
	command_type == "set_member"
	contact := contact_of(command)
	contact != ""
	not contact in config.contact_types
}

# R5: privileges name a known application and one of its levels.
violations contains sprintf("privileges must name applications: %s (it names %s) (R5)", [one_of(applications), app]) if {
	grants_access
	some app, _ in command.privileges
	not app in applications
}

violations contains sprintf("%s (R5)", [must_be(sprintf("privileges.%s", [app]), level, config.privileges[app])]) if {
	grants_access
	some app, level in command.privileges
	config.privileges[app]
	not rank(app, level)
}

# applications are the applications of R5.
applications := {app | some app, _ in config.privileges}

# R6: contact-only privileges above none need a contact type that may hold them.
violations contains sprintf("only a %s contact may hold %s above none (R6)", [one_of(allowed), app]) if {
	some app, level in target_proposed.privileges
	allowed := config.contact_only_privileges[app]
	level != "none"
	not contact_of(target_proposed) in allowed
}

# R10: at most max_primary_contacts primary contacts and
# max_secondary_contacts secondary contacts (account settings override the
# config defaults). Only a change that adds a contact can break the limit.
violations contains msg if {
	some type in config.contact_types
	becomes_contact(type)
	not was_contact(type)
	holders := count({user | some user, m in members; contact_of(m) == type})
	allowed := limit(sprintf("max_%s_contacts", [type]))
	holders >= allowed
	msg := sprintf("an account can have at most %d %s %s (it has %d)", [allowed, type, plural(allowed, "contact", "contacts"), holders])
}

# plural picks the word for a count.
plural(n, one, _) := one if n == 1

plural(n, _, many) := many if n != 1

# R12: the only primary contact and the last account_admin stay.
violations contains sprintf("%s is the only primary contact of %s: name another primary contact first (R12)", [input.target.id, account_id]) if {
	changes_member
	was_contact("primary")
	not becomes_contact("primary")
	count({user | some user, m in members; contact_of(m) == "primary"}) == 1
}

violations contains sprintf("%s is the last account_admin of %s: make another member account_admin first (R12)", [input.target.id, account_id]) if {
	changes_member
	was_admin
	not becomes_admin
	count({user | some user, m in members; "account_admin" in m.roles}) == 1
}

violations contains sprintf("the expiry must be in the future (it is %s)", [format_ns(ns)]) if {
	changes_member
	ns := target_proposed.expires_at_ns
	not future(ns)
}
