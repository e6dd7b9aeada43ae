# Directory commands: creating and reading users and accounts (R32).
# Creating users and accounts is an operator action, reserved to system
# administrators; a created user has no access until granted.
package gatehouse.admission

import rego.v1

import data.gatehouse.config

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

# R10, R24: an account's settings override the policy defaults that
# config.account_settings names, each with the type of value it takes.
violations contains sprintf("settings.%s is not a setting: choose %s", [name, one_of(setting_names)]) if {
	command_type == "put_account"
	some name, _ in object.get(command.account, "settings", {})
	not config.account_settings[name]
}

violations contains sprintf("settings.%s must be a whole number from 0 up (it is %v)", [name, value]) if {
	command_type == "put_account"
	some name, value in object.get(command.account, "settings", {})
	config.account_settings[name] == "whole_number"
	not whole_number(value)
}

violations contains sprintf("settings.%s must be true or false (it is %v)", [name, value]) if {
	command_type == "put_account"
	some name, value in object.get(command.account, "settings", {})
	config.account_settings[name] == "boolean"
	not is_boolean(value)
}

# setting_names are the settings an account may hold.
setting_names := {name | some name, _ in config.account_settings}

# R35, R44: the partner of an account and the organization of a user are
# accounts that exist; the engine passes them as input.partner and
# input.organization when they do.
violations contains sprintf("partner must be an existing account (it is %s)", [partner]) if {
	command_type == "put_account"
	partner := object.get(command.account, "partner", "")
	partner != ""
	partner != command.account.id
	not is_object(object.get(input, "partner", null))
}

violations contains sprintf("organization must be an existing account (it is %s)", [organization]) if {
	command_type == "put_user"
	organization := object.get(command.user, "organization", "")
	organization != ""
	not is_object(object.get(input, "organization", null))
}

# R35: a partner is another account, the reseller.
violations contains sprintf("account %s cannot be its own partner", [command.account.id]) if {
	command_type == "put_account"
	command.account.partner == command.account.id
}
