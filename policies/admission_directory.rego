# Directory commands: creating and reading users and accounts (R32).
# Creating users and accounts is an operator action, reserved to system
# administrators; a created user has no access until granted.
package gatehouse.admission

import rego.v1

# R32: system administrators may do every directory and member operation.
may_run if {
	command_type in {"put_user", "put_account", "get_user", "get_account"}
	system_admin
}

needs["put_user"] := "only a system administrator may create or change users (R32)"

needs["put_account"] := "only a system administrator may create or change accounts (R32)"

# R43: a user sees their own record.
may_run if {
	command_type == "get_user"
	actor_id == command.user
}

# R43: an account_admin or tm_admin of the user's organization sees the
# records of its employees (a reseller picks the users of a tenant request).
may_run if {
	command_type == "get_user"
	input.target.user.organization == account_id
	some role in {"account_admin", "tm_admin"}
	role in actor_membership.roles
}

needs["get_user"] := sprintf(
	"%s may not see user %s: only the user, an account_admin or tm_admin of their organization, or a system administrator may (R43)",
	[actor_id, object.get(command, "user", "")],
)

# R43: a member of the account, or of its partner reseller, sees the account.
may_run if {
	command_type == "get_account"
	actor_membership
}

may_run if {
	command_type == "get_account"
	live(input.actor.partner_membership)
}

needs["get_account"] := sprintf(
	"%s may not see account %s: only its members, its partner reseller's members and system administrators may (R43)",
	[actor_id, object.get(command, "account", "")],
)

# R31: the user asked for does not exist.
missing contains sprintf("user %s does not exist", [command.user]) if {
	command_type == "get_user"
	not is_object(object.get(target, "user", null))
}

missing contains sprintf("account %s does not exist", [command.account]) if {
	command_type == "get_account"
	not account_exists
}

# R10, R24: account settings that override a limit must hold a usable value.
violations contains sprintf("settings.%s must be a whole number from 0 up (it is %v)", [name, value]) if {
	command_type == "put_account"
	some name in {"max_primary_contacts", "max_secondary_contacts"}
	value := command.account.settings[name]
	not whole_number(value)
}

violations contains sprintf("settings.require_deny_reason must be true or false (it is %v)", [value]) if {
	command_type == "put_account"
	value := command.account.settings.require_deny_reason
	not is_boolean(value)
}

# R35: a partner is another account, the reseller.
violations contains sprintf("account %s cannot be its own partner", [command.account.id]) if {
	command_type == "put_account"
	command.account.partner == command.account.id
}
