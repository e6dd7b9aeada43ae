# Package gatehouse.derived holds what the policy's data alone determines:
# the role closures and the package that decides each action. Its rules read
# data only, never input, so gatehouse computes each of them once when a
# policy revision is loaded (not once per decision) and the decision rules
# read the result; `opa run` and `gatehouse policy test` evaluate them as
# any other rule, with the same values (POLICIES.md, "Evaluation").
#
# The engine refuses a revision whose derived rules read input, call a
# nondeterministic built-in, take arguments or are not complete rules.
package gatehouse.derived

import rego.v1

import data.gatehouse.config

# account_roles_included[role] is role and every account role it includes (R1).
account_roles_included := {role: graph.reachable(config.account_roles, {role}) | some role, _ in config.account_roles}

# va_roles_included[role] is role and every virtual-account role it includes (R2).
va_roles_included := {role: graph.reachable(config.virtual_account_roles, {role}) | some role, _ in config.virtual_account_roles}

# va_roles_through[role] are the virtual-account roles the account role
# holds on every virtual account of its account (R3).
va_roles_through := {role: graph.reachable(config.virtual_account_roles, {va_role |
	some included in account_roles_included[role]
	va_role := config.account_role_on_virtual_accounts[included]
}) |
	some role, _ in config.account_roles
}

# package_of[action] names the package that decides the action: roles (R4),
# impersonation (R39) or privileges (R5, "<application>.<level>", any level
# but "none"). An action named by two is decided by the first of roles,
# impersonation, privileges. An action not in it is unknown.
package_of := object.union_n([privilege_actions, impersonation_actions, role_actions])

role_actions := {action: "roles" | some action, _ in config.actions}

impersonation_actions := {action: "impersonation" | some action in config.impersonation.actions}

privilege_actions := {sprintf("%s.%s", [app, level]): "privileges" |
	some app, levels in config.privileges
	some level in levels
	level != "none"
	not contains(app, ".")
	not contains(level, ".")
}
