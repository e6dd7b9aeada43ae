package gatehouse.envoy_test

import rego.v1

import data.gatehouse.envoy

# request is the input of an HTTP request by alice, as gatehouse builds it
# from Envoy's CheckRequest.
request(method, path) := {
	"method": method,
	"path": path,
	"segments": split(trim_prefix(path, "/"), "/"),
	"query": {},
	"headers": {"host": "app.example"},
	"host": "app.example",
	"subject": "alice",
}

ask(method, path) := q if {
	q := envoy.question with input as request(method, path)
}

# R4: reading an account is the view action on it.
test_ask_view_on_get if {
	ask("GET", "/accounts/acme") == {"subject": "alice", "action": "view", "resource": {"account": "acme"}}
}

# R4: every method maps to its action in config.envoy.method_actions.
test_ask_action_of_each_method if {
	cases := {"GET": "view", "HEAD": "view", "POST": "use", "PUT": "use", "PATCH": "use", "DELETE": "manage"}
	every method, action in cases {
		ask(method, "/accounts/acme/licenses").action == action
	}
}

# R4: a route names the virtual account as well as the account.
test_ask_on_virtual_account if {
	ask("POST", "/accounts/acme/virtual-accounts/acme-emea/licenses") == {
		"subject": "alice",
		"action": "use",
		"resource": {"account": "acme", "virtual_account": "acme-emea"},
	}
}

# The first route that matches wins: a path below a virtual account names it.
test_ask_first_matching_route if {
	ask("GET", "/accounts/acme/virtual-accounts/acme-emea").resource == {"account": "acme", "virtual_account": "acme-emea"}
}

# A path below the account that is not a virtual account is about the account.
test_ask_account_below_other_segments if {
	ask("DELETE", "/accounts/acme/virtual-accounts").resource == {"account": "acme"}
}

# The routes are data: a security team maps their own paths.
test_ask_configured_route if {
	q := ask("GET", "/api/v2/tenants/tom-sawyer") with data.gatehouse.config.envoy.routes as ["/api/v2/tenants/{account}"]
	q.resource == {"account": "tom-sawyer"}
}

# Fail closed: no verified subject, no question.
test_deny_without_subject if {
	not envoy.question with input as object.remove(request("GET", "/accounts/acme"), ["subject"])
}

# Fail closed: an empty or non-string subject is no subject.
test_deny_with_empty_subject if {
	not envoy.question with input as object.union(request("GET", "/accounts/acme"), {"subject": ""})
	not envoy.question with input as object.union(request("GET", "/accounts/acme"), {"subject": 7})
}

# Fail closed: a method without an action (OPTIONS, CONNECT...) asks nothing.
test_deny_unmapped_method if {
	not ask("OPTIONS", "/accounts/acme")
	not ask("get", "/accounts/acme")
}

# Fail closed: a path no route matches asks nothing.
test_deny_unmatched_path if {
	not ask("GET", "/")
	not ask("GET", "/health")
	not ask("GET", "/accounts")
	not ask("GET", "/account/acme")
}

# Fail closed: a placeholder never matches an empty segment.
test_deny_empty_account_segment if {
	not envoy.question with input as object.union(request("GET", "/accounts/x"), {"segments": ["accounts", ""]})
}

# Fail closed: a route that names no account asks nothing.
test_deny_route_without_account if {
	not ask("GET", "/status/acme") with data.gatehouse.config.envoy.routes as ["/status/{thing}"]
}
