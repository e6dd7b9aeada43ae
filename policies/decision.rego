# Package gatehouse.decision answers POST /v1/decisions: the engine evaluates
# data.gatehouse.decision.result with the input described in POLICIES.md.
#
# result is always an object {"allow", "reasons"} and, on an allow, "grant"
# naming what allowed it (R7). Unknown subjects, accounts and actions, and a
# virtual account that is not in the account, are denied, never errors.
package gatehouse.decision

import rego.v1

import data.gatehouse.config
import data.gatehouse.facts
import data.gatehouse.impersonation
import data.gatehouse.privileges
import data.gatehouse.roles

# Fail closed: whatever the rules below leave undecided is a deny.
default result := {"allow": false, "reasons": ["no rule of the policy allows this decision"]}

result := {"allow": true, "reasons": sort(allow_reasons), "grant": grant} if allow

result := {"allow": false, "reasons": sort(deny_reasons)} if {
	not allow
	count(deny_reasons) > 0
}

# action_kind is the package that decides the action: roles (R4),
# impersonation (R39) or privileges (R5); undefined for an unknown action.
action_kind := "roles" if {
	config.actions[facts.action]
} else := "impersonation" if {
	impersonation.requested
} else := "privileges" if {
	privileges.requested
}

# problems deny the decision whatever the action (R4, R7).
problems contains sprintf("unknown subject %q", [facts.subject]) if not is_object(object.get(input, "user", null))

problems contains sprintf("unknown account %q", [facts.account_id]) if not is_object(object.get(input, "account", null))

problems contains sprintf("unknown action %q", [facts.action]) if not action_kind

problems contains sprintf("virtual account %q is not in account %q", [facts.virtual_account, facts.account_id]) if {
	is_object(input.account)
	facts.virtual_account
	not facts.virtual_account in object.get(input.account, "virtual_accounts", [])
}

# allow: no problem, and the package that decides the action allows it.
allow if {
	count(problems) == 0
	action_kind == "roles"
	roles.allow
}

allow if {
	count(problems) == 0
	action_kind == "impersonation"
	impersonation.allow
}

allow if {
	count(problems) == 0
	action_kind == "privileges"
	privileges.allow
}

# allow_reasons say which grant allowed the action.
allow_reasons := roles.allow_reasons if action_kind == "roles"

allow_reasons := impersonation.allow_reasons if action_kind == "impersonation"

allow_reasons := privileges.allow_reasons if action_kind == "privileges"

# grant names what allowed the action.
grant := roles.grant if action_kind == "roles"

grant := impersonation.grant if action_kind == "impersonation"

grant := privileges.grant if action_kind == "privileges"

# deny_reasons are the problems when there are any, else why the package that
# decides the action denies it.
deny_reasons := problems if {
	count(problems) > 0
} else := roles.deny_reasons if {
	action_kind == "roles"
} else := impersonation.deny_reasons if {
	action_kind == "impersonation"
} else := privileges.deny_reasons if {
	action_kind == "privileges"
}
