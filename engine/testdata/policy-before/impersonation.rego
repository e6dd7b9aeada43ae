# Package gatehouse.impersonation decides impersonate.configure and
# impersonate.support on a tenant (resource.account) for a reseller's users
# (R39).
#
# Before any tenant request for the tenant was ever granted, a user holding
# one of config.impersonation.legacy_partner_roles at the tenant's partner
# reseller may impersonate it (the legacy method). From the first grant on
# the tenant is exclusive: only users named in a granted, unexpired tenant
# request may, and exclusivity stays on after grants expire or are revoked.
package gatehouse.impersonation

import rego.v1

import data.gatehouse.config
import data.gatehouse.facts

# answer is the decision on the action: allowed with the reasons and the
# grant, or denied with the reasons.
answer := {"allow": true, "reasons": sort(allow_reasons), "grant": grant} if {
	allow
} else := {"allow": false, "reasons": sort(deny_reasons)} if {
	count(deny_reasons) > 0
}

# requested holds when the action is one of the impersonation actions.
requested if facts.action in config.impersonation.actions

# exclusive holds from the first grant of a tenant request for the tenant on
# (R39). A grant naming the subject means one was granted, whatever the flag.
exclusive if input.tenant.exclusive == true

exclusive if count(grants) > 0

# grants are the granted tenant requests for the tenant naming the subject.
grants := [g | some g in input.tenant.grants; is_object(g)]

# live_grants are those grants not expired (R7, R38).
live_grants := [g | some g in input.tenant.grants; facts.active(g)]

# partner is the tenant's partner reseller, undefined when it has none.
partner := input.account.partner if {
	is_string(input.account.partner)
	input.account.partner != ""
}

# legacy_roles are the subject's roles at the partner that allow the legacy
# method (R39).
legacy_roles := {role | some role in facts.partner_membership.roles; role in config.impersonation.legacy_partner_roles}

# allow: a live grant, or the legacy method on a tenant not yet exclusive.
allow if count(allow_reasons) > 0

# R39: a granted, unexpired tenant request naming the subject.
allow_reasons contains msg if {
	some g in live_grants
	msg := sprintf(
		"%s is named in tenant request %s for %s, granted by %s%s",
		[facts.subject, g.request, facts.account_id, g.granted_by, until_text(g)],
	)
}

# R39: the legacy method, before any tenant request for the tenant was granted.
allow_reasons contains msg if {
	not exclusive
	partner
	some role in legacy_roles
	msg := sprintf(
		"%s holds %s at %s, the partner reseller of %s, and no tenant request for %s was ever granted (legacy method)",
		[facts.subject, role, partner, facts.account_id, facts.account_id],
	)
}

# until_text says when a grant ends, if it does.
until_text(g) := sprintf(" until %s", [facts.format_ns(g.expires_at_ns)]) if {
	facts.has_expiry(g)
} else := ""

# chosen_grant is the live grant named in the answer: the one of the oldest
# request (request ids are ULIDs, ordered by time).
chosen_grant := [g | some g in live_grants; g.request == oldest_request][0]

# oldest_request is the smallest request id among the live grants.
oldest_request := min({g.request | some g in live_grants})

# grant names what allowed the impersonation: a tenant grant, or the
# partner role of the legacy method.
grant := {
	"kind": "tenant_grant",
	"account": facts.account_id,
	"request": chosen_grant.request,
	"approved_by": chosen_grant.granted_by,
} if {
	allow
	count(live_grants) > 0
} else := object.union(
	{"kind": "partner_role", "account": partner, "role": min(legacy_roles)},
	{"approved_by": by | by := facts.partner_membership.added_by},
) if {
	allow
}

# R39: on an exclusive tenant, a subject without a live grant.
deny_reasons contains msg if {
	not allow
	exclusive
	msg := sprintf(
		"%s is exclusive since a tenant request for it was granted: only users named in a granted, unexpired request may impersonate it, and %s is named in none",
		[facts.account_id, facts.subject],
	)
}

# R7, R38: grants that named the subject but have expired.
deny_reasons contains msg if {
	not allow
	some g in grants
	not facts.active(g)
	msg := sprintf("%s's grant from tenant request %v expired at %s", [facts.subject, g.request, facts.format_ns(g.expires_at_ns)])
}

# R39: the legacy method needs a partner reseller.
deny_reasons contains msg if {
	not allow
	not exclusive
	not partner
	msg := sprintf("%s has no partner reseller, and no tenant request for it was granted", [facts.account_id])
}

# R39: the legacy method needs a live membership at the partner.
deny_reasons contains msg if {
	not allow
	not exclusive
	not facts.partner_membership
	msg := partner_membership_problem
}

# R39: the legacy method needs one of the legacy roles at the partner.
deny_reasons contains msg if {
	not allow
	not exclusive
	facts.partner_membership
	msg := sprintf(
		"the legacy method on %s needs %s at %s; %s holds %s there",
		[
			facts.account_id, concat(" or ", config.impersonation.legacy_partner_roles), partner,
			facts.subject, facts.roles_text({role | some role in facts.partner_membership.roles; is_string(role)}),
		],
	)
}

# partner_membership_problem says why the subject has no usable membership
# at the partner reseller.
partner_membership_problem := sprintf("%s is not a member of %s, the partner reseller of %s", [facts.subject, partner, facts.account_id]) if {
	not is_object(object.get(input, "partner_membership", null))
} else := sprintf(
	"%s's membership in %s, the partner reseller of %s, expired at %s",
	[facts.subject, partner, facts.account_id, facts.format_ns(input.partner_membership.expires_at_ns)],
)
