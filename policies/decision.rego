# Package gatehouse.decision answers POST /v1/decisions: the engine evaluates
# data.gatehouse.decision.result with the input described in POLICIES.md.
#
# result is always an object {"allow", "reasons"} and, on an allow, "grant"
# naming what allowed it (R7). Unknown subjects, accounts and actions, and a
# virtual account that is not in the account, are denied, never errors.
#
# The question is dispatched once, on its action, to the one package that
# decides it; only that package is evaluated, and only the reasons of its
# answer are built.
package gatehouse.decision

import rego.v1

import data.gatehouse.callers
import data.gatehouse.derived
import data.gatehouse.facts
import data.gatehouse.impersonation
import data.gatehouse.privileges
import data.gatehouse.roles

# Fail closed: whatever the rules below leave undecided is a deny.
default result := {"allow": false, "reasons": ["no rule of the policy allows this decision"]}

# result: a caller that may not ask (data.json decision_callers) gets that
# one reason and nothing about the question; else the problems of the
# question, if any; else the answer of the package that decides the action.
result := {"allow": false, "reasons": [callers.refusal]} if {
	callers.refusal
} else := {"allow": false, "reasons": sort(problems)} if {
	count(problems) > 0
} else := roles.answer if {
	kind == "roles"
} else := impersonation.answer if {
	kind == "impersonation"
} else := privileges.answer if {
	kind == "privileges"
}

# allow holds when the result allows.
allow if result.allow

# kind names the package that decides the action: roles (R4),
# impersonation (R39) or privileges (R5); undefined for an unknown action.
# The table of actions is derived data, computed once per revision.
kind := derived.package_of[facts.action]

# problems deny the decision whatever the action (R4, R7).
problems contains sprintf("unknown subject %q", [facts.subject]) if not is_object(object.get(input, "user", null))

problems contains sprintf("unknown account %q", [facts.account_id]) if not is_object(object.get(input, "account", null))

problems contains sprintf("unknown action %q", [facts.action]) if not kind

problems contains sprintf("virtual account %q is not in account %q", [facts.virtual_account, facts.account_id]) if {
	facts.virtual_account
	is_object(input.account)
	not facts.virtual_account in object.get(input.account, "virtual_accounts", [])
}
