# Policy commands: pushing a revision, listing revisions, rolling back and
# reading a replica's status (issue 4, POLICIES.md "Pushing a change"). The
# policy in force decides who may replace it: system administrators, and
# the members of config.policy_admin_account holding the policy_admin role.
package gatehouse.admission

import rego.v1

import data.gatehouse.config

policy_commands := {"push_policy", "list_policies", "rollback_policy", "policy_status"}

# R32: system administrators may run every policy command.
may_run if {
	command_type in policy_commands
	system_admin
}

may_run if {
	command_type in policy_commands
	policy_admin
}

# policy_admin: the actor's live membership in the policy admin account
# holds the policy_admin role (R7: an expired membership counts as absent).
policy_admin if {
	is_string(config.policy_admin_account)
	actor_membership.account == config.policy_admin_account
	holds(actor_membership, "policy_admin")
}

needs[name] := sprintf("%s may not %s: that takes %s", [actor_id, policy_command_text[name], policy_admin_text]) if {
	some name in policy_commands
}

policy_admin_text := sprintf("the policy_admin role in account %s, or a system administrator", [config.policy_admin_account]) if {
	is_string(config.policy_admin_account)
} else := "a system administrator (no policy_admin_account is configured)"

policy_command_text := {
	"push_policy": "push a policy revision",
	"list_policies": "list policy revisions",
	"rollback_policy": "roll back to a policy revision",
	"policy_status": "read the policy status",
}
