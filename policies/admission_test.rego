package gatehouse.admission_test

import rego.v1

import data.gatehouse.admission

# Fixtures shared by every admission test file.

now := 1763700000000000000

hour := 3600000000000

acme := {"id": "acme", "name": "Acme", "virtual_accounts": ["va1", "va2"], "partner": "", "settings": {}}

# acme's members: alice is an account_admin and the primary contact; bob a
# secondary contact who manages access; sam a secondary contact who views
# it; vera a viewer; apo an approver; old an admin whose membership expired.
acme_members := {
	"alice": {"account": "acme", "user": "alice", "roles": ["account_admin"], "contact": "primary", "privileges": {}},
	"bob": {"account": "acme", "user": "bob", "roles": [], "contact": "secondary", "privileges": {"manage_access": "update"}},
	"sam": {"account": "acme", "user": "sam", "roles": [], "contact": "secondary", "privileges": {"manage_access": "view"}},
	"vera": {"account": "acme", "user": "vera", "roles": ["account_viewer"], "contact": ""},
	"apo": {"account": "acme", "user": "apo", "roles": ["account_approver"]},
	"old": {"account": "acme", "user": "old", "roles": ["account_admin"], "expires_at_ns": now - hour},
}

# actor describes a user of the directory with their membership in acme.
actor(id) := {
	"id": id,
	"system_admin": false,
	"user": {"id": id, "email": sprintf("%s@example.com", [id]), "organization": ""},
	"membership": object.get(acme_members, id, null),
}

ops := {"id": "ops", "system_admin": true}

# on_acme is the input of command run by the actor on acme.
on_acme(who, command) := {
	"now_ns": now,
	"actor": who,
	"command": command,
	"account": acme,
	"members": acme_members,
}

result(q) := r if {
	r := admission.result with input as q
}

# R40: every command gets one result object of the documented shape.
test_result_has_every_field if {
	r := result(on_acme(actor("vera"), {"type": "list_members", "account": "acme"}))
	object.keys(r) == {"entitled", "denials", "violations", "missing", "conflicts", "deciders", "redact", "see_all", "hidden"}
	r.entitled == true
	r.denials == []
	r.deciders == {}
	r.see_all == false
	r.hidden == false
}

# Fail closed: an unknown command is refused, and so is an empty input.
test_deny_unknown_command if {
	r := result(on_acme(ops, {"type": "frobnicate"}))
	r.entitled == false
	r.denials == [`unknown command "frobnicate"`]
}

test_deny_empty_input if {
	r := result({})
	r.entitled == false
	r.denials == [`unknown command ""`]
}

# R7: an expired membership gives no authority.
test_deny_expired_admin if {
	r := result(on_acme(actor("old"), {"type": "list_members", "account": "acme"}))
	r.entitled == false
}

# R7: a membership whose expiry is not a number is dead (fail closed).
test_deny_malformed_expiry if {
	not admission.live({"expires_at_ns": "soon"}) with input as {"now_ns": now}
	admission.live({"expires_at_ns": now + 1}) with input as {"now_ns": now}
	admission.live({"roles": []}) with input as {"now_ns": now}
}

# R5, R6: the primary contact holds every application at its top level;
# a contact-only application counts as none for a non-contact.
test_allow_levels_of_contacts if {
	admission.level_of(acme_members.alice, "purchase") == "full"
	admission.level_of({"contact": "", "privileges": {"contact_updates": "update"}}, "contact_updates") == "none"
	admission.level_of({"contact": "secondary", "privileges": {"contact_updates": "update"}}, "contact_updates") == "update"
	admission.level_of({"privileges": {"entitlements": "bogus"}}, "entitlements") == "none"
	admission.level_of({}, "entitlements") == "none"
}

# R10: a whole-number setting overrides the config default; anything else
# is ignored.
test_allow_limit_overrides if {
	admission.limit("max_secondary_contacts") == 6 with input as {"account": {"settings": {"max_secondary_contacts": 6}}}
	admission.limit("max_secondary_contacts") == 4 with input as {"account": {"settings": {"max_secondary_contacts": "six"}}}
	admission.limit("max_secondary_contacts") == 4 with input as {"account": {"settings": {"max_secondary_contacts": 2.5}}}
	admission.limit("max_secondary_contacts") == 4 with input as {}
}

# R24: a boolean setting overrides the config default.
test_allow_setting_overrides if {
	admission.setting("require_deny_reason") == true with input as {"account": {"settings": {"require_deny_reason": true}}}
	admission.setting("require_deny_reason") == false with input as {"account": {"settings": {"require_deny_reason": "yes"}}}
}

test_allow_sentences if {
	admission.one_of({"a"}) == "a"
	admission.one_of({"b", "a"}) == "a or b"
	admission.one_of({"c", "a", "b"}) == "a, b or c"
	admission.format_ns(0) == "1970-01-01T00:00:00Z"
	admission.format_ns("later") == "later"
}
