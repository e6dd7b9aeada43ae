package gatehouse.callers_test

import rego.v1

import data.gatehouse.callers

allowed := {"billing": ["view", "use"], "portal": ["*"]}

# question asks whether caroline may view acme, from caller (null: no caller).
question(caller, action) := q if {
	base := {"subject": "caroline", "action": action, "resource": {"account": "acme"}, "context": {}}
	q := object.union(base, {"caller": caller})
	caller != null
} else := {"subject": "caroline", "action": action, "resource": {"account": "acme"}, "context": {}}

test_allow_any_caller_when_unrestricted if {
	not callers.refusal with input as question("anything", "view")
		with data.gatehouse.config.decision_callers as {}
}

test_allow_no_caller_when_unrestricted if {
	not callers.refusal with input as question(null, "manage")
		with data.gatehouse.config.decision_callers as {}
}

test_allow_listed_caller_listed_action if {
	not callers.refusal with input as question("billing", "use")
		with data.gatehouse.config.decision_callers as allowed
}

test_allow_wildcard_caller_any_action if {
	not callers.refusal with input as question("portal", "impersonate.support")
		with data.gatehouse.config.decision_callers as allowed
}

test_deny_unlisted_caller if {
	callers.refusal == `application "intruder" may not ask for decisions (it is not in decision_callers)` with input as question("intruder", "view")
		with data.gatehouse.config.decision_callers as allowed
}

test_deny_listed_caller_other_action if {
	callers.refusal == `application "billing" may not ask about "manage" (decision_callers allows it view, use)` with input as question("billing", "manage")
		with data.gatehouse.config.decision_callers as allowed
}

test_deny_no_caller_when_restricted if {
	callers.refusal == "decisions are answered to authenticated applications only, and this request carries no caller identity (serve --decision-auth)" with input as question(null, "view")
		with data.gatehouse.config.decision_callers as allowed
}
