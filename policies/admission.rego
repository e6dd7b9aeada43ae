# Package gatehouse.admission decides every command gatehouse runs: each
# write (users, accounts, members, access requests, tenant requests) and
# each read of account data (members, requests, audit, events). The engine
# builds one input per command (see POLICIES.md, "Admission") and evaluates
# data.gatehouse.admission.result:
#
#   entitled    may the actor run this command at all (false: 403)
#   denials     why not, when not entitled
#   violations  rules the command would break (422); empty to commit
#   missing     things the command names that do not exist (404)
#   conflicts   state that makes the command moot (409, e.g. R25)
#   deciders    for new requests: who is told, by account id
#   redact      fields of tenant requests hidden from this actor (R37)
#   see_all     list_events only: the actor sees every event
#   hidden      the command is about an object the actor may not see: it
#               is answered exactly as for an unknown id (R43)
#
# This file holds the result and the helpers every command shares; one
# file per subject holds the rules: admission_directory.rego (R32),
# admission_members.rego (R10-R12, R26, R30, R31), admission_requests.rego
# (R20-R25, R37, R38), admission_tenants.rego (R35, R36) and
# admission_logs.rego (R41-R43).
package gatehouse.admission

import rego.v1

import data.gatehouse.config

# Fail closed: a command no rule entitles is refused.
default entitled := false

# entitled: some rule entitles the actor to the command and no rule of
# authority (R21, R30) denies it.
entitled if {
	may_run
	count(authority_denials) == 0
}

result := {
	"entitled": entitled,
	"denials": denial_list,
	"violations": sort(violations),
	"missing": sort(missing),
	"conflicts": sort(conflicts),
	"deciders": deciders,
	"redact": sort(redact),
	"see_all": see_all,
	"hidden": hidden,
}

# denial_list says why the actor is not entitled: the specific reasons, or
# what the command needs when none applies.
denial_list := [] if {
	entitled
} else := sort(authority_denials) if {
	may_run
} else := [needs[command_type]] if {
	needs[command_type]
} else := [sprintf("unknown command %q", [command_type])]

# deciders maps an account id to who decides its new requests; empty unless
# a command creates requests.
default deciders := {}

# see_all: the actor sees every event, not only the ones addressed to them.
default see_all := false

# hidden: the command is about an object the actor may not see (R43).
default hidden := false

# command is the command the actor runs, {} when the input names none.
command := input.command if {
	is_object(input.command)
} else := {}

command_type := command.type if {
	is_string(command.type)
} else := ""

actor_id := input.actor.id if {
	is_string(input.actor.id)
} else := ""

# system_admin: the actor is named in configuration as a system
# administrator (R32).
system_admin if input.actor.system_admin == true

# known_actor: the actor is a user of the directory (R20).
known_actor if is_object(input.actor.user)

# account_id is the account the command is about, "" when none.
account_id := input.account.id if {
	is_string(input.account.id)
} else := object.get(command, "account", "")

# account_exists: the account the command is about exists.
account_exists if is_object(input.account)

# actor_membership is the actor's membership in the account while it
# lasts (R7).
actor_membership := input.actor.membership if live(input.actor.membership)

# target is what the input says of the user a member command is about,
# {} when it says nothing. Calls never take an undefined argument in a
# negation: such a negation would not hold.
target := input.target if {
	is_object(input.target)
} else := {}

# account_vas are the virtual accounts of the account.
account_vas := input.account.virtual_accounts if {
	is_array(input.account.virtual_accounts)
} else := []

# live(m) holds for a membership or grant with no expiry or an expiry still
# ahead of now_ns (R7). A malformed expiry makes it dead: fail closed.
live(m) if {
	is_object(m)
	not has_expiry(m)
}

live(m) if {
	is_number(m.expires_at_ns)
	is_number(input.now_ns)
	m.expires_at_ns > input.now_ns
}

has_expiry(m) if m.expires_at_ns != null

# members are the account's memberships while they last, by user id (R7).
members[user] := m if {
	some user, m in input.members
	live(m)
}

# roles_of(m) are the account roles a membership holds, with every role they
# include (R1).
roles_of(m) := graph.reachable(config.account_roles, {role | some role in m.roles; is_string(role)})

holds(m, role) if role in roles_of(m)

# rank(app, level) is the position of level among the levels of app (R5).
rank(app, level) := i if {
	some i, candidate in config.privileges[app]
	candidate == level
}

# level_of(m, app) is a membership's effective level for app: the top level
# for a primary contact, none for a contact-only application held by a
# non-contact (R6), else the level held, none when it holds none.
level_of(m, app) := level if {
	contact_of(m) in config.top_level_contact_types
	levels := config.privileges[app]
	level := levels[count(levels) - 1]
} else := "none" if {
	not contact_of(m) in object.get(config.contact_only_privileges, app, [contact_of(m)])
} else := level if {
	level := m.privileges[app]
	rank(app, level)
} else := "none"

# contact_of(m) is a membership's contact type, "" for none; "none" names
# no contact type too (API.md: primary, secondary or none).
contact_of(m) := "" if {
	object.get(m, "contact", "") == "none"
} else := object.get(m, "contact", "")

level_at_least(m, app, level) if rank(app, level_of(m, app)) >= rank(app, level)

# manager(m): R21 and R26 authority: an account_admin, the primary contact,
# or a secondary contact whose manage_access level is update. The contact
# types and privilege come from config.actions.approve.
manager(m) if {
	live(m)
	"account_admin" in m.roles
}

manager(m) if {
	live(m)
	contact_of(m) in config.actions.approve.contact_types
	level_at_least(m, config.actions.approve.privilege.application, config.actions.approve.privilege.level)
}

# decider(m): who may decide account requests: a manager (R21) or a holder
# of the approver role (R1: account_approver may take the approve action).
decider(m) if manager(m)

decider(m) if {
	live(m)
	holds(m, config.actions.approve.account_role)
}

# tenant_admin(m): who may decide tenant requests (R38).
tenant_admin(m) if {
	live(m)
	"account_admin" in m.roles
}

# viewer(m): who may see an account's members (R43): a role that includes
# account_viewer, a contact, or manage_access at view or higher.
viewer(m) if {
	live(m)
	holds(m, "account_viewer")
}

viewer(m) if manager(m)

viewer(m) if {
	live(m)
	contact_of(m) in config.contact_types
}

viewer(m) if {
	live(m)
	level_at_least(m, "manage_access", "view")
}

# limit(name) is a numeric limit: the account's settings override the
# config default when they hold a whole number from 0 up (R10).
limit(name) := value if {
	value := input.account.settings[name]
	whole_number(value)
} else := config[name]

# setting(name) is a boolean setting: the account's override, else the
# config default (R24).
setting(name) := value if {
	value := input.account.settings[name]
	is_boolean(value)
} else := config[name]

whole_number(value) if {
	is_number(value)
	value >= 0
	value == round(value)
}

# future(ns) holds for a time after now_ns.
future(ns) if {
	is_number(ns)
	ns > input.now_ns
}

# format_ns renders nanoseconds since the epoch as RFC 3339 (UTC).
format_ns(ns) := time.format(ns) if is_number(ns)

else := sprintf("%v", [ns])

# one_of lists choices for a sentence, sorted: "a, b or c".
one_of(choices) := list_text(sort(choices))

# list_text lists an array for a sentence, in its order: "a, b or c".
list_text(items) := concat(" or ", items) if {
	count(items) < 3
} else := sprintf("%s or %s", [concat(", ", array.slice(items, 0, count(items) - 1)), items[count(items) - 1]])

# must_be(field, value, choices) refuses a value of an enumerated field,
# naming the field, the value given and the values allowed (R44).
must_be(field, value, choices) := sprintf("%s must be %s (it is %v)", [field, choices_text(choices), value])

# choices_text lists choices: an array in its order (levels are ordered),
# a set sorted.
choices_text(choices) := list_text(choices) if {
	is_array(choices)
} else := one_of(choices)

# account_roles are the known account roles (R1); va_roles the known
# virtual-account roles (R2).
account_roles := {role | some role, _ in config.account_roles}

va_roles := {role | some role, _ in config.virtual_account_roles}
