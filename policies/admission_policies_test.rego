package gatehouse.admission_test

import rego.v1

import data.gatehouse.admission

# policy_admin_of(roles) is an actor whose membership in the policy admin
# account "gatehouse" holds roles.
policy_admin_of(id, roles) := {
	"id": id,
	"system_admin": false,
	"user": {"id": id, "email": sprintf("%s@example.com", [id])},
	"membership": {"account": "gatehouse", "user": id, "roles": roles},
}

policy_input(who, type) := {
	"now_ns": now,
	"actor": who,
	"command": {"type": type, "account": "gatehouse"},
	"account": {"id": "gatehouse", "name": "gatehouse", "virtual_accounts": [], "settings": {}},
	"members": {},
}

# Issue 4: system administrators and policy admins run every policy command.
test_allow_policy_commands if {
	every type in admission.policy_commands {
		result(policy_input(ops, type)).entitled == true
		result(policy_input(policy_admin_of("pam", ["policy_admin"]), type)).entitled == true
	}
}

# Issue 4: any other role in the policy admin account, a policy_admin role
# in another account, or an expired membership is not enough.
test_deny_policy_commands if {
	others := [
		policy_admin_of("vic", ["account_admin"]),
		object.union(policy_admin_of("eve", ["policy_admin"]), {"membership": {"account": "acme", "roles": ["policy_admin"]}}),
		object.union(policy_admin_of("old", ["policy_admin"]), {"membership": {"account": "gatehouse", "roles": ["policy_admin"], "expires_at_ns": now - hour}}),
	]
	every who in others {
		r := result(policy_input(who, "push_policy"))
		r.entitled == false
		r.denials == [sprintf("%s may not push a policy revision: that takes the policy_admin role in account gatehouse, or a system administrator", [who.id])]
	}
}

test_deny_policy_status_names_command if {
	r := result(policy_input(policy_admin_of("vic", []), "policy_status"))
	r.denials == ["vic may not read the policy status: that takes the policy_admin role in account gatehouse, or a system administrator"]
}

# Without a configured policy admin account, only system administrators may.
test_deny_policy_admin_without_account if {
	r := result(policy_input(policy_admin_of("pam", ["policy_admin"]), "rollback_policy")) with data.gatehouse.config.policy_admin_account as null
	r.entitled == false
	r.denials == ["pam may not roll back to a policy revision: that takes a system administrator (no policy_admin_account is configured)"]
	result(policy_input(ops, "rollback_policy")).entitled == true with data.gatehouse.config.policy_admin_account as null
}
