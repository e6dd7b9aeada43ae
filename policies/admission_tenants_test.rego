package gatehouse.admission_test

import rego.v1

# The worked example of SPEC section 8: reseller classics, its tm_admin
# elizabeth, its employees caroline, charlotte and jane, and its tenants
# tom-sawyer and hundred-acre.
classics := {"id": "classics", "name": "Classics, Inc.", "virtual_accounts": [], "partner": "", "settings": {}}

employee(id) := {"id": id, "email": sprintf("%s@classics.example", [id]), "organization": "classics"}

elizabeth := {
	"id": "elizabeth", "system_admin": false, "user": employee("elizabeth"),
	"membership": {"account": "classics", "user": "elizabeth", "roles": ["tm_admin"]},
}

support_access := {
	"type": "request_tenant_access",
	"name": "SupportAccess",
	"message": "Caroline and Charlotte manage your account",
	"associations": [
		{"users": ["caroline"], "tenants": ["tom-sawyer"]},
		{"users": ["charlotte"], "tenants": ["tom-sawyer", "hundred-acre"]},
	],
}

# tenant_input is who submitting command, with the example's directory.
tenant_input(who, command) := {
	"now_ns": now,
	"actor": who,
	"command": command,
	"account": classics,
	"members": {"elizabeth": elizabeth.membership},
	"users": {id: employee(id) | some id in ["caroline", "charlotte", "jane"]},
	"tenants": {
		"tom-sawyer": {"id": "tom-sawyer", "name": "Tom Sawyer Fence Painting Co.", "partner": "classics"},
		"hundred-acre": {"id": "hundred-acre", "name": "Hundred Acre Wood Art Gallery", "partner": "classics"},
		"acme": acme,
	},
	"tenant_members": {
		"tom-sawyer": {"tom": {"roles": ["account_admin"]}, "becky": {"roles": ["account_user"]}},
		"hundred-acre": {"pooh": {"roles": ["account_admin"]}, "eeyore": {"roles": ["account_admin"], "expires_at_ns": now}},
	},
}

with_command(fields) := object.union(support_access, fields)

# R35, R36: the SPEC section 8 example is accepted, and each tenant's
# account_admins are told of its request.
test_allow_spec_example if {
	r := result(tenant_input(elizabeth, support_access))
	r.entitled == true
	r.violations == []
	r.deciders == {"tom-sawyer": ["tom"], "hundred-acre": ["pooh"]}
}

# R35: only a tm_admin of the reseller.
test_deny_tenant_request_without_tm_admin if {
	jane := {"id": "jane", "system_admin": false, "user": employee("jane"), "membership": {"roles": ["impersonator"]}}
	r := result(tenant_input(jane, support_access))
	r.entitled == false
	r.denials == ["jane may not request tenant access for classics: that takes the role tm_admin there (R35)"]
}

test_deny_tenant_request_without_reseller if {
	r := result({"now_ns": now, "actor": actor("carol"), "command": support_access})
	r.entitled == false
	r.denials == ["carol is not an employee of a reseller: tenant requests are made by a tm_admin of the reseller they work for (R35)"]
}

# R35: the name is letters and digits, 1 to 64 of them.
test_violation_tenant_request_names if {
	every name in ["Support Access", "Support-Access", "", "Accès", concat("", ["a" | some _ in numbers.range(1, 65)])] {
		r := result(tenant_input(elizabeth, with_command({"name": name})))
		r.violations == ["request name must contain only letters and digits, 1 to 64 of them (no spaces, no special characters) (R35)"]
	}
}

test_allow_tenant_request_name_of_64 if {
	name := concat("", ["a" | some _ in numbers.range(1, 64)])
	result(tenant_input(elizabeth, with_command({"name": name}))).violations == []
}

# R35: at least one association, each naming users and tenants.
test_violation_no_association if {
	result(tenant_input(elizabeth, with_command({"associations": []}))).violations == ["a tenant request needs at least one association linking users to tenants (R35)"]
}

test_violation_empty_association if {
	r := result(tenant_input(elizabeth, with_command({"associations": [{"users": ["jane"], "tenants": ["tom-sawyer"]}, {"users": [], "tenants": []}]})))
	r.violations == ["association 2 names no tenants (R35)", "association 2 names no users (R35)"]
}

# R35: every user is an employee of the reseller, every tenant its partner.
test_violation_strangers if {
	r := result(tenant_input(elizabeth, with_command({"associations": [{"users": ["jane", "carol", "ghost"], "tenants": ["tom-sawyer", "acme", "nowhere"]}]})))
	r.violations == [
		"acme does not have classics as its partner (R35)",
		"carol is not an employee of classics (R35)",
		"ghost is not an employee of classics (R35)",
		"nowhere does not have classics as its partner (R35)",
	]
}
