# Tenant access requests (R35, R36): a reseller's tm_admin asks that some
# of the reseller's employees may support some of its tenants. The engine
# names the reseller from the actor's organization and passes it as
# input.account, with the users and tenants the request names.
package gatehouse.admission

import rego.v1

# R35: a tm_admin of the reseller creates tenant requests.
may_run if {
	command_type == "request_tenant_access"
	account_exists
	"tm_admin" in actor_membership.roles
}

needs["request_tenant_access"] := tenant_request_need

# tenant_request_need says why the actor may not request tenant access.
tenant_request_need := sprintf("%s may not request tenant access for %s: that takes the role tm_admin there (R35)", [actor_id, account_id]) if {
	account_exists
} else := sprintf("%s is not an employee of a reseller: tenant requests are made by a tm_admin of the reseller they work for (R35)", [actor_id])

# associations are the command's associations, each with its position
# counted from 1.
associations[n] := a if {
	command_type == "request_tenant_access"
	some i, a in command.associations
	n := i + 1
}

# R35: the name is letters and digits only, 1 to 64 of them.
violations contains "request name must contain only letters and digits, 1 to 64 of them (no spaces, no special characters) (R35)" if {
	command_type == "request_tenant_access"
	not regex.match(`^[A-Za-z0-9]{1,64}$`, object.get(command, "name", ""))
}

violations contains "a tenant request needs at least one association linking users to tenants (R35)" if {
	command_type == "request_tenant_access"
	count(associations) == 0
}

violations contains sprintf("association %d names no %s (R35)", [n, field]) if {
	some n, a in associations
	some field in {"users", "tenants"}
	count(object.get(a, field, [])) == 0
}

# R35: every user is an employee of the reseller.
violations contains sprintf("%s is not an employee of %s (R35)", [user, account_id]) if {
	some a in associations
	some user in a.users
	not input.users[user].organization == account_id
}

# R35: every tenant has the reseller as partner.
violations contains sprintf("%s does not have %s as its partner (R35)", [tenant, account_id]) if {
	some a in associations
	some tenant in a.tenants
	not input.tenants[tenant].partner == account_id
}

# R36, R42: each tenant's account_admins are told of its request.
deciders := {tenant: sort({user | some user, m in input.tenant_members[tenant]; tenant_admin(m)}) |
	some a in associations
	some tenant in a.tenants
} if {
	command_type == "request_tenant_access"
}
