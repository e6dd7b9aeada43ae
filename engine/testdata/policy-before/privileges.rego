# Package gatehouse.privileges decides the actions "<application>.<level>"
# (e.g. entitlements.update) from the subject's application privileges (R5)
# and contact type (R6).
#
# The applications and their ordered levels are data
# (data.gatehouse.config.privileges, lowest level first).
package gatehouse.privileges

import rego.v1

import data.gatehouse.config
import data.gatehouse.facts

# answer is the decision on the action: allowed with the reasons and the
# grant, or denied with the reasons.
answer := {"allow": true, "reasons": sort(allow_reasons), "grant": facts.membership_grant} if {
	count(allow_reasons) > 0
} else := {"allow": false, "reasons": sort(deny_reasons)} if {
	count(deny_reasons) > 0
}

# requested is the application and level an action "<application>.<level>"
# names; undefined for any other action. "none" cannot be asked for.
requested := {"application": app, "level": level} if {
	[app, level] := split(facts.action, ".")
	level in config.privileges[app]
	level != "none"
}

# rank(app, level) is the position of level among the levels of app (R5).
rank(app, level) := i if {
	some i, candidate in config.privileges[app]
	candidate == level
}

# top_level(app) is the highest level of app.
top_level(app) := levels[count(levels) - 1] if {
	levels := config.privileges[app]
}

# level_of(app) is the subject's effective level for app on the account:
# the top level for a primary contact (R6); "none" for a contact-only
# application held by a member who is not such a contact (R6); otherwise
# the level the membership holds, "none" when it holds none. Undefined when
# the result is not a level of app (contact_preview has no "none").
level_of(app) := level if {
	facts.contact in config.top_level_contact_types
	level := top_level(app)
} else := level if {
	contact_only_ignored(app)
	level := "none"
} else := level if {
	level := facts.membership.privileges[app]
	rank(app, level)
} else := "none" if {
	facts.membership
}

# contact_only_ignored(app) holds when app may only be held above none by
# some contact types and the subject is not one of them (R6).
contact_only_ignored(app) if {
	allowed := config.contact_only_privileges[app]
	not facts.contact in allowed
}

# level_at_least(app, level) holds when the subject's level for app is level
# or higher (R5).
level_at_least(app, level) if rank(app, level_of(app)) >= rank(app, level)

# allow: the subject's level for the requested application is enough (R5).
allow if count(allow_reasons) > 0

# R5, R6: the primary contact holds every application at its top level.
allow_reasons contains msg if {
	app := requested.application
	facts.contact in config.top_level_contact_types
	level_at_least(app, requested.level)
	msg := sprintf(
		"%s is the %s contact of %s and so holds every application at its top level, %s at %s (needed for %s)",
		[facts.subject, facts.contact, facts.account_id, app, level_of(app), facts.action],
	)
}

# R5: a privilege held at the requested level or higher.
allow_reasons contains msg if {
	app := requested.application
	not facts.contact in config.top_level_contact_types
	level_at_least(app, requested.level)
	msg := sprintf(
		"%s holds %s at %s on %s (needed for %s)",
		[facts.subject, app, level_of(app), facts.account_id, facts.action],
	)
}

# grant names the membership that allowed the action.
grant := facts.membership_grant if allow

# R7: no usable membership.
deny_reasons contains facts.membership_problem if not allow

# R5: a level below the requested one.
deny_reasons contains msg if {
	not allow
	facts.membership
	app := requested.application
	msg := sprintf(
		"%s needs %s at %s or higher; %s holds %s at %s on %s",
		[facts.action, app, requested.level, facts.subject, app, level_of(app), facts.account_id],
	)
}

# R6: a contact-only privilege held by a member who is not such a contact.
deny_reasons contains msg if {
	not allow
	app := requested.application
	contact_only_ignored(app)
	held := facts.membership.privileges[app]
	held != "none"
	msg := sprintf(
		"%s holds %s at %s on %s but only a %s contact may hold it above none, so it counts as none",
		[facts.subject, app, held, facts.account_id, concat(" or ", config.contact_only_privileges[app])],
	)
}
