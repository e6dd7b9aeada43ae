package gatehouse.admission_test

import rego.v1

new_user := {"id": "carol", "email": "carol@example.com", "first_name": "Carol", "last_name": "Danvers", "organization": ""}

# R32: creating users and accounts is for system administrators.
test_allow_put_user_by_system_admin if {
	r := result({"now_ns": now, "actor": ops, "command": {"type": "put_user", "user": new_user}, "target": {"id": "carol"}})
	r.entitled == true
	r.violations == []
}

test_deny_put_user_by_account_admin if {
	r := result(on_acme(actor("alice"), {"type": "put_user", "user": new_user}))
	r.entitled == false
	r.denials == ["only a system administrator may create or change users (R32)"]
}

test_allow_put_account_by_system_admin if {
	r := result({"now_ns": now, "actor": ops, "command": {"type": "put_account", "account": acme}})
	r.entitled == true
	r.violations == []
}

test_deny_put_account_by_account_admin if {
	r := result(on_acme(actor("alice"), {"type": "put_account", "account": acme}))
	r.denials == ["only a system administrator may create or change accounts (R32)"]
}

# R10, R24: settings that override limits hold usable values.
test_violation_put_account_bad_settings if {
	bad := object.union(acme, {"settings": {"max_secondary_contacts": -1, "max_primary_contacts": "one", "require_deny_reason": "yes"}})
	r := result({"now_ns": now, "actor": ops, "command": {"type": "put_account", "account": bad}})
	r.violations == [
		"settings.max_primary_contacts must be a whole number from 0 up (it is one)",
		"settings.max_secondary_contacts must be a whole number from 0 up (it is -1)",
		"settings.require_deny_reason must be true or false (it is yes)",
	]
}

# R10, R24, R44: settings keys are the ones config.account_settings names;
# a typo is refused, naming the key and the settings there are.
test_violation_put_account_unknown_setting if {
	bad := object.union(acme, {"settings": {"require_deny_reasons": true}})
	r := result({"now_ns": now, "actor": ops, "command": {"type": "put_account", "account": bad}})
	r.violations == ["settings.require_deny_reasons is not a setting: choose max_primary_contacts, max_secondary_contacts or require_deny_reason"]
}

# Every setting of the policy's data is accepted with a value of its type.
test_allow_put_account_every_setting if {
	values := {"whole_number": 3, "boolean": true}
	settings := {name: values[type] | some name, type in data.gatehouse.config.account_settings}
	r := result({"now_ns": now, "actor": ops, "command": {"type": "put_account", "account": object.union(acme, {"settings": settings})}})
	r.violations == []
}

# R35, R44: a partner and an organization are accounts that exist.
test_violation_put_account_unknown_partner if {
	r := result({"now_ns": now, "actor": ops, "command": {"type": "put_account", "account": object.union(acme, {"partner": "nowhere"})}})
	r.violations == ["partner must be an existing account (it is nowhere)"]
}

test_allow_put_account_existing_partner if {
	q := {"now_ns": now, "actor": ops, "command": {"type": "put_account", "account": object.union(acme, {"partner": "classics"})}, "partner": {"id": "classics"}}
	result(q).violations == []
}

test_violation_put_user_unknown_organization if {
	u := object.union(new_user, {"organization": "nowhere"})
	r := result({"now_ns": now, "actor": ops, "command": {"type": "put_user", "user": u}, "target": {"id": "carol"}})
	r.violations == ["organization must be an existing account (it is nowhere)"]
}

test_allow_put_user_existing_organization if {
	u := object.union(new_user, {"organization": "classics"})
	q := {"now_ns": now, "actor": ops, "command": {"type": "put_user", "user": u}, "target": {"id": "carol"}, "organization": {"id": "classics"}}
	result(q).violations == []
}

test_violation_put_account_own_partner if {
	r := result({"now_ns": now, "actor": ops, "command": {"type": "put_account", "account": object.union(acme, {"partner": "acme"})}})
	r.violations == ["account acme cannot be its own partner"]
}

# R43: a user sees their own record; an account_admin or tm_admin of their
# organization sees it; nobody else but system administrators.
test_allow_get_user_self if {
	r := result({"now_ns": now, "actor": actor("carol"), "command": {"type": "get_user", "user": "carol"}, "target": {"id": "carol", "user": new_user}})
	r.entitled == true
	r.missing == []
}

test_allow_get_user_by_organization_admin if {
	employee := object.union(new_user, {"organization": "acme"})
	r := result(object.union(on_acme(actor("alice"), {"type": "get_user", "user": "carol"}), {"target": {"id": "carol", "user": employee}}))
	r.entitled == true
}

test_deny_get_user_by_stranger if {
	r := result(object.union(on_acme(actor("vera"), {"type": "get_user", "user": "carol"}), {"target": {"id": "carol", "user": object.union(new_user, {"organization": "acme"})}}))
	r.entitled == false
	r.denials == ["vera may not see user carol: only the user, an account_admin or tm_admin of their organization, or a system administrator may (R43)"]
}

# R31: a user that does not exist.
test_missing_get_user if {
	r := result({"now_ns": now, "actor": ops, "command": {"type": "get_user", "user": "ghost"}, "target": {"id": "ghost"}})
	r.entitled == true
	r.missing == ["user ghost does not exist"]
	result({"now_ns": now, "actor": ops, "command": {"type": "get_user", "user": "ghost"}}).missing == ["user ghost does not exist"]
}

# R43: an account is seen by its members and its partner's members.
test_allow_get_account_by_member if {
	result(on_acme(actor("vera"), {"type": "get_account", "account": "acme"})).entitled == true
}

test_allow_get_account_by_partner_member if {
	reseller := object.union(actor("elizabeth"), {"membership": null, "partner_membership": {"roles": ["tm_admin"]}})
	result(on_acme(reseller, {"type": "get_account", "account": "acme"})).entitled == true
}

test_deny_get_account_by_stranger if {
	r := result(on_acme(actor("mallory"), {"type": "get_account", "account": "acme"}))
	r.entitled == false
	r.denials == ["mallory may not see account acme: only its members, its partner reseller's members and system administrators may (R43)"]
}

test_missing_get_account if {
	r := result({"now_ns": now, "actor": ops, "command": {"type": "get_account", "account": "nowhere"}})
	r.missing == ["account nowhere does not exist"]
}
