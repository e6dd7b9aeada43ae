package gatehouse.admission_test

import rego.v1

# R41, R43: an account's audit trail is read by those who decide for it.
test_allow_list_audit if {
	every who in ["alice", "bob", "apo"] {
		result(on_acme(actor(who), {"type": "list_audit", "account": "acme"})).entitled == true
	}
	result({"now_ns": now, "actor": ops, "command": {"type": "list_audit", "account": "_directory"}}).entitled == true
}

test_deny_list_audit if {
	every who in ["sam", "vera", "mallory"] {
		r := result(on_acme(actor(who), {"type": "list_audit", "account": "acme"}))
		r.entitled == false
		r.denials == [sprintf("%s may not read the audit trail of acme: that takes the authority to decide its requests (R43)", [who])]
	}
}

# R32, R43: the directory's trail belongs to no account: only system
# administrators read it.
test_deny_list_directory_audit if {
	not result({"now_ns": now, "actor": object.union(actor("alice"), {"membership": null}), "command": {"type": "list_audit", "account": "_directory"}}).entitled
}

# R42, R43: everyone lists their events; system administrators see all.
test_allow_list_events if {
	r := result({"now_ns": now, "actor": actor("carol"), "command": {"type": "list_events"}})
	r.entitled == true
	r.see_all == false
	result({"now_ns": now, "actor": ops, "command": {"type": "list_events"}}).see_all == true
}

test_deny_list_events_without_actor if {
	r := result({"now_ns": now, "actor": {"id": ""}, "command": {"type": "list_events"}})
	r.denials == ["an authenticated actor is required to list events (R43)"]
}

test_deny_list_events_without_actor_id if {
	not result({"now_ns": now, "actor": {}, "command": {"type": "list_events"}}).entitled
}
