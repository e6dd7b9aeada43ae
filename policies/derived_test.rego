package gatehouse.derived_test

import rego.v1

import data.gatehouse.derived

# R1: an account role includes itself and, transitively, the roles it lists.
test_allow_account_roles_included_transitively if {
	derived.account_roles_included.account_admin == {"account_admin", "account_user", "account_approver", "account_viewer"}
	derived.account_roles_included.account_viewer == {"account_viewer"}
}

# R1: a role the data does not name includes nothing.
test_deny_account_roles_included_unknown_role if {
	not derived.account_roles_included.owner
}

# R2: a virtual-account role includes itself and the roles below it.
test_allow_va_roles_included_transitively if {
	derived.va_roles_included.va_admin == {"va_admin", "va_user", "va_viewer"}
	derived.va_roles_included.va_viewer == {"va_viewer"}
}

# R3: an account role acts on every virtual account through the roles it includes.
test_allow_va_roles_through_account_role if {
	derived.va_roles_through.account_admin == {"va_admin", "va_user", "va_viewer"}
	derived.va_roles_through.account_approver == {"va_viewer"}
}

# R3: an account role with no virtual-account counterpart acts on none.
test_deny_va_roles_through_unrelated_role if {
	derived.va_roles_through.tm_admin == set()
}

# R4, R5, R39: each action names the package that decides it.
test_allow_package_of_each_kind if {
	derived.package_of.view == "roles"
	derived.package_of.approve == "roles"
	derived.package_of["impersonate.support"] == "impersonation"
	derived.package_of["entitlements.update"] == "privileges"
	derived.package_of["contact_preview.view"] == "privileges"
}

# R5: "none" is not a level one asks for, and unknown actions are in no package.
test_deny_package_of_none_level_and_unknown if {
	not derived.package_of["entitlements.none"]
	not derived.package_of["entitlements.delete"]
	not derived.package_of.fly
}

# R4: an action named by roles and by privileges is decided by roles.
test_allow_package_of_roles_first if {
	derived.package_of.view == "roles" with data.gatehouse.config.privileges as {"view": ["none", "x"]}
		with data.gatehouse.config.actions as {"view": {}}
	derived.package_of["impersonate.support"] == "impersonation" with data.gatehouse.config.privileges as {"impersonate": ["support"]}
}

# R5: an application or level with a dot would make an ambiguous action: none is made.
test_deny_package_of_dotted_names if {
	not derived.package_of["a.b.c"] with data.gatehouse.config.privileges as {"a.b": ["c"], "a": ["b.c"]}
}
