# Package gatehouse.facts reads the decision input once, the same way for
# every other package: names as strings, and memberships with expiry applied.
# A membership or grant whose expires_at_ns <= now_ns counts as absent (R7).
package gatehouse.facts

import rego.v1

# subject is the subject named by the question, or "" when it names none.
subject := input.subject if {
	is_string(input.subject)
} else := ""

# action is the action asked about, or "" when it names none.
action := input.action if {
	is_string(input.action)
} else := ""

# account_id is the account the question is about, or "" when it names none.
account_id := input.resource.account if {
	is_string(input.resource.account)
} else := ""

# virtual_account is the virtual account the question is about; undefined
# when the question is about the whole account (absent or "").
virtual_account := input.resource.virtual_account if {
	is_string(input.resource.virtual_account)
	input.resource.virtual_account != ""
}

# membership is the subject's membership in the account while it lasts (R7).
membership := input.membership if active(input.membership)

# partner_membership is the subject's membership in the account's partner
# reseller while it lasts (R7, R39).
partner_membership := input.partner_membership if active(input.partner_membership)

# active(record) holds for a membership or grant that has no expiry or whose
# expiry is still ahead of now_ns (R7). An expiry that is not a number, or a
# missing now_ns, makes the record inactive: fail closed.
active(record) if {
	is_object(record)
	object.get(record, "expires_at_ns", null) == null
}

active(record) if {
	record.expires_at_ns > input.now_ns
	is_number(record.expires_at_ns)
	is_number(input.now_ns)
}

has_expiry(record) if record.expires_at_ns != null

# format_ns renders a time in nanoseconds since the epoch as RFC 3339 (UTC).
format_ns(ns) := text if {
	is_number(ns)
	text := time.format(ns)
} else := sprintf("%v (not a time)", [ns])

# membership_problem says why the subject has no usable membership in the
# account: none at all, or one that expired (R7).
membership_problem := sprintf("%s is not a member of %s", [subject, account_id]) if {
	not is_object(object.get(input, "membership", null))
} else := sprintf("%s's membership in %s expired at %s", [subject, account_id, format_ns(input.membership.expires_at_ns)]) if {
	not membership
}

# membership_grant names the membership that allowed a decision: the access
# request that created it and who added it, when known.
membership_grant := object.union(
	{"kind": "membership", "account": account_id},
	{out: value |
		some key, out in {"request": "request", "added_by": "approved_by"}
		value := membership[key]
		is_string(value)
		value != ""
	},
) if membership

# contact is the subject's contact type on the account while the membership
# lasts, or "" when they are not a contact.
contact := membership.contact if {
	is_string(membership.contact)
} else := ""

# held_roles are the account roles the subject holds directly on the account,
# while the membership lasts (R1).
held_roles := {role | some role in membership.roles; is_string(role)}

# roles_text lists roles for a sentence: "account_user, account_viewer" or "no role".
roles_text(roles) := concat(", ", sort(roles)) if {
	count(roles) > 0
} else := "no role"
