# Reading the audit trail and the events (R41-R43): an account's audit
# trail is for those who manage or decide for it; events are for the people
# they are addressed to.
package gatehouse.admission

import rego.v1

# R41, R43: an account's audit trail is read by those who may decide its
# requests and by system administrators.
may_run if {
	command_type == "list_audit"
	system_admin
}

may_run if {
	command_type == "list_audit"
	decider(actor_membership)
}

needs["list_audit"] := sprintf("%s may not read the audit trail of %s: that takes the authority to decide its requests (R43)", [actor_id, account_id])

# R42, R43: every authenticated actor lists the events addressed to them;
# system administrators see them all.
may_run if {
	command_type == "list_events"
	actor_id != ""
}

see_all if {
	command_type == "list_events"
	system_admin
}

needs["list_events"] := "an authenticated actor is required to list events (R43)"
