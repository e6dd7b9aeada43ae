# Package gatehouse.envoy turns an HTTP request that Envoy or Istio asks
# about (external authorization, `gatehouse serve --grpc-addr`) into a
# gatehouse question. The engine evaluates data.gatehouse.envoy.question
# with the input described in POLICIES.md ("Behind Envoy: the request
# mapping"), then decides the question as any other (R4, R7).
#
# question is undefined, which denies the request, when the request carries
# no verified subject, when its method maps to no action or when no route
# matches its path. The routes and the actions of the methods are data:
# data.gatehouse.config.envoy.
package gatehouse.envoy

import rego.v1

import data.gatehouse.config

# question is {subject, action, resource: {account, virtual_account?}}: the
# verified subject, the action of the method and the resource named by the
# first route that matches the path.
question := {"subject": subject, "action": action, "resource": resource}

# subject is the subject of the bearer token gatehouse verified; undefined
# when the request carried none.
subject := input.subject if {
	is_string(input.subject)
	input.subject != ""
}

# action is the action of the request's method (config.envoy.method_actions).
action := config.envoy.method_actions[input.method]

# resource is the account, and the virtual account when the route names one.
resource := {"account": route.account, "virtual_account": route.virtual_account} if {
	route.virtual_account
} else := {"account": route.account} if {
	route.account
}

# route is the placeholders of the first route matching the path, by name:
# {"account": "acme", "virtual_account": "acme-emea"}.
route := matches[min(object.keys(matches))] if count(matches) > 0

# matches holds, by index in config.envoy.routes, the placeholders of every
# route whose segments begin the path's. A route is a path such as
# "/accounts/{account}": a segment in braces matches any one segment of the
# path and names it; any other segment must be equal.
matches[i] := {trim(part, "{}"): input.segments[j] |
	some j, part in parts
	placeholder(part)
} if {
	some i, template in config.envoy.routes
	parts := split(trim_prefix(template, "/"), "/")
	count(parts) <= count(input.segments)
	every j, part in parts {
		segment_matches(part, input.segments[j])
	}
}

# placeholder(part) holds for a route segment in braces: "{account}".
placeholder(part) if {
	startswith(part, "{")
	endswith(part, "}")
}

# segment_matches(part, segment) holds when the route segment part matches
# the path segment: a placeholder matches any segment but the empty one.
segment_matches(part, segment) if {
	placeholder(part)
	segment != ""
}

segment_matches(part, segment) if {
	not placeholder(part)
	part == segment
}
