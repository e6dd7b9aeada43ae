# Package gatehouse.callers says which applications may ask which decisions.
#
# When serve authenticates decision callers (--decision-auth token or
# client-cert), input.caller names the application asking: the subject of its
# bearer token, or the URI SAN or common name of its client certificate.
# config.decision_callers maps each application allowed to ask to the actions
# it may ask about ("*": every action). Empty (the built-in default), every
# caller may ask every decision.
package gatehouse.callers

import rego.v1

import data.gatehouse.config
import data.gatehouse.facts

# refusal is the one reason a decision is denied when its caller may not ask
# it; undefined when the caller may. It names no subject, role or account
# record, so a refused caller learns nothing from the answer.
refusal := "decisions are answered to authenticated applications only, and this request carries no caller identity (serve --decision-auth)" if {
	restricted
	not is_string(object.get(input, "caller", null))
} else := sprintf("application %q may not ask for decisions (it is not in decision_callers)", [input.caller]) if {
	restricted
	not config.decision_callers[input.caller]
} else := sprintf("application %q may not ask about %q (decision_callers allows it %s)", [input.caller, facts.action, concat(", ", config.decision_callers[input.caller])]) if {
	restricted
	not asks_allowed_action
}

# restricted holds when data.json names the applications that may ask.
restricted if count(object.get(config, "decision_callers", {})) > 0

# asks_allowed_action holds when the caller may ask about the question's action.
asks_allowed_action if "*" in config.decision_callers[input.caller]

asks_allowed_action if facts.action in config.decision_callers[input.caller]
