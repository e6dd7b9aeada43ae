# Package gatehouse.roles decides the actions view, use, manage and approve
# on an account or one of its virtual accounts from the subject's roles
# (R1-R4) and, for approve, from their contact type and privileges (R21).
#
# The role hierarchies are data (data.gatehouse.config.account_roles and
# virtual_account_roles, each role listing the roles it directly includes);
# inclusion is their transitive closure, data.gatehouse.derived, computed
# once per policy revision (derived.rego).
package gatehouse.roles

import rego.v1

import data.gatehouse.config
import data.gatehouse.derived
import data.gatehouse.facts
import data.gatehouse.privileges

# answer is the decision on the action: allowed with the reasons and the
# grant, or denied with the reasons.
answer := {"allow": true, "reasons": sort(allow_reasons), "grant": facts.membership_grant} if {
	count(allow_reasons) > 0
} else := {"allow": false, "reasons": sort(deny_reasons)} if {
	count(deny_reasons) > 0
}

# requirement is the line of config.actions for the asked action (R4).
requirement := config.actions[facts.action]

# va_needed is the virtual-account role needed when the question is decided
# on a virtual account: it names one, and the action has a virtual-account
# role (approve has none, R21). Undefined when decided on the account.
va_needed := requirement.virtual_account_role if facts.virtual_account

# va_role is the subject's role on the virtual account in question (R2).
va_role := role if {
	role := facts.membership.va_roles[facts.virtual_account]
	is_string(role)
}

# allow: some role or contact standing of the subject is enough (R1-R4, R21).
allow if count(allow_reasons) > 0

# R1, R4: an account role that includes the needed account role.
allow_reasons contains msg if {
	not va_needed
	needed := requirement.account_role
	some role in facts.membership.roles
	needed in derived.account_roles_included[role]
	msg := sprintf("%s holds %s on %s%s (needed for %s)", [facts.subject, role, facts.account_id, includes_text(role, needed), facts.action])
}

# R2, R4: the role held on the virtual account itself.
allow_reasons contains msg if {
	needed := va_needed
	needed in derived.va_roles_included[va_role]
	msg := sprintf(
		"%s holds %s on virtual account %s of %s%s (needed for %s)",
		[facts.subject, va_role, facts.virtual_account, facts.account_id, includes_text(va_role, needed), facts.action],
	)
}

# R3, R4: an account role, which holds on every virtual account of the account.
allow_reasons contains msg if {
	needed := va_needed
	some role in facts.membership.roles
	needed in derived.va_roles_through[role]
	msg := sprintf(
		"%s holds %s on %s, which acts on each of its virtual accounts and includes %s on %s (needed for %s)",
		[facts.subject, role, facts.account_id, needed, facts.virtual_account, facts.action],
	)
}

# R21: a contact with the privilege level the action names (approve: the
# primary contact, or a secondary contact with manage_access at update).
allow_reasons contains msg if {
	contact_types := requirement.contact_types
	facts.contact in contact_types
	app := requirement.privilege.application
	privileges.level_at_least(app, requirement.privilege.level)
	msg := sprintf(
		"%s is a %s contact of %s with %s at %s (needed for %s)",
		[facts.subject, facts.contact, facts.account_id, app, privileges.level_of(app), facts.action],
	)
}

# includes_text says how a held role covers the needed one.
includes_text(held, needed) := "" if {
	held == needed
} else := sprintf(", which includes %s", [needed])

# grant names the membership that allowed the action.
grant := facts.membership_grant if allow

# R7: no usable membership.
deny_reasons contains facts.membership_problem if not allow

# R1, R4: a membership whose roles do not reach the needed account role.
deny_reasons contains msg if {
	not allow
	facts.membership
	not va_needed
	msg := sprintf(
		"%s on %s needs %s or a role that includes it; %s holds %s there",
		[facts.action, facts.account_id, requirement.account_role, facts.subject, facts.roles_text(facts.held_roles)],
	)
}

# R2-R4: a membership whose roles reach the needed virtual-account role
# neither on the virtual account itself nor through an account role.
deny_reasons contains msg if {
	not allow
	facts.membership
	va_needed
	msg := sprintf(
		"%s on virtual account %s of %s needs %s or a role that includes it; %s holds %s on %s and %s on the account",
		[
			facts.action, facts.virtual_account, facts.account_id, requirement.virtual_account_role,
			facts.subject, facts.roles_text({role | role := va_role}), facts.virtual_account,
			facts.roles_text(facts.held_roles),
		],
	)
}

# R21: the contact standing that would also allow the action, when it has one.
deny_reasons contains msg if {
	not allow
	facts.membership
	app := requirement.privilege.application
	msg := sprintf(
		"%s is also open to a %s contact with %s at %s or higher; %s is %s with %s at %s",
		[
			facts.action, concat(" or ", requirement.contact_types), app, requirement.privilege.level,
			facts.subject, contact_text, app, privileges.level_of(app),
		],
	)
}

# contact_text names the subject's contact type for a sentence.
contact_text := sprintf("the %s contact", [facts.contact]) if {
	facts.contact in config.contact_types
} else := "not a contact"
