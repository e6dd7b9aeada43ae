# Access request commands: requesting access to an account (R20), deciding
# account and tenant requests (R21-R25, R38), changing a grant's expiry and
# revoking it (R38), and reading requests (R37, R39a, R43).
package gatehouse.admission

import rego.v1

import data.gatehouse.config

# R20: any existing user may request access to an account.
may_run if {
	command_type == "request_access"
	known_actor
}

needs["request_access"] := sprintf("%s is not a known user: an operator must create the user before they can request access (R20)", [actor_id])

missing contains sprintf("account %s does not exist", [command.account]) if {
	command_type == "request_access"
	not account_exists
}

# R20: one pending request per user and account.
violations contains sprintf("%s already has a pending request for %s (%s): wait for its decision (R20)", [actor_id, account_id, r.id]) if {
	command_type == "request_access"
	some r in input.open_requests
	r.requester == actor_id
	r.status == "pending"
}

# R21, R42: the deciders of the account are told of a new request.
deciders := {account_id: sort({user | some user, m in members; decider(m); user != actor_id})} if {
	command_type == "request_access"
}

# decide_commands act on one existing request.
decide_commands := {"approve", "deny", "set_request_expiry", "revoke"}

req := input.request

# req_status is the request's status, expired from the instant a granted
# request's expiry passes (R7, R38).
req_status := "expired" if {
	req.status == "granted"
	not live(req)
} else := req.status

# may_decide(m): who decides a request of this kind: an account request by
# R21 (and the approver role, R1), a tenant request by the tenant's
# account_admin (R38).
may_decide(m) if {
	req.kind == "account"
	decider(m)
}

may_decide(m) if {
	req.kind == "tenant"
	tenant_admin(m)
}

may_run if {
	command_type in decide_commands
	system_admin
}

may_run if {
	command_type in decide_commands
	may_decide(actor_membership)
}

decider_text := "account_admin of the tenant (R38)" if {
	req.kind == "tenant"
} else := "account_admin, account_approver, the primary contact, or a secondary contact with manage_access at update (R21)"

needs[name] := sprintf("%s may not decide requests for %s: that takes %s", [actor_id, account_id, decider_text]) if {
	some name in decide_commands
}

# R21: nobody decides their own request.
authority_denials contains sprintf("%s may not decide their own request", [actor_id]) if {
	command_type in {"approve", "deny"}
	req.requester == actor_id
}

# R25, R38: only a pending request is decided; an expired one is final.
conflicts contains msg if {
	command_type in {"approve", "deny"}
	req_status != "pending"
	msg := status_conflict("only a pending request can be decided (R25)")
}

conflicts contains msg if {
	command_type in {"set_request_expiry", "revoke"}
	req_status != "granted"
	msg := status_conflict("only a granted request can change its expiry or be revoked (R38)")
}

status_conflict(rule) := sprintf("request %s expired: access ended and a new request is needed (R38)", [req.id]) if {
	req_status == "expired"
} else := sprintf("request %s is %s: %s", [req.id, req_status, rule])

# command_text(field) is a field of the command, "" when absent.
command_text(field) := value if {
	value := command[field]
	is_string(value)
} else := ""

# approving_account: an approval of an account request.
approving_account if {
	command_type == "approve"
	req.kind == "account"
}

# R22: a scope, or a contact type or privileges instead (R23).
violations contains "choose a scope (account or virtual_accounts), a contact type or privileges to approve the request (R22, R23)" if {
	approving_account
	command_text("scope") == ""
	command_text("role") == ""
	contact_of(command) == ""
	count(object.get(command, "privileges", {})) == 0
}

violations contains sprintf("role %s needs a scope: account or virtual_accounts (R22)", [command_text("role")]) if {
	approving_account
	command_text("scope") == ""
	command_text("role") != ""
}

violations contains sprintf("scope must be account or virtual_accounts (it is %s) (R22)", [scope]) if {
	approving_account
	scope := command_text("scope")
	not scope in {"", "account", "virtual_accounts"}
}

violations contains sprintf("scope %s needs one role (R22)", [command_text("scope")]) if {
	approving_account
	command_text("scope") in {"account", "virtual_accounts"}
	command_text("role") == ""
}

violations contains "scope account takes an account role and no virtual accounts: to grant virtual accounts, use scope virtual_accounts (R22)" if {
	approving_account
	command_text("scope") == "account"
	count(object.get(command, "virtual_accounts", [])) > 0
}

violations contains sprintf("scope virtual_accounts needs at least one virtual account of %s (R22)", [account_id]) if {
	approving_account
	command_text("scope") == "virtual_accounts"
	count(object.get(command, "virtual_accounts", [])) == 0
}

# R22: scope account takes an account role (R1), scope virtual_accounts a
# virtual-account role (R2) on virtual accounts of the account.
violations contains sprintf("%s: scope account takes an account role (R22)", [must_be("role", role, account_roles)]) if {
	approving_account
	command_text("scope") == "account"
	role := command_text("role")
	role != ""
	not role in account_roles
}

violations contains sprintf("%s: scope virtual_accounts takes a virtual-account role (R2, R22)", [must_be("role", role, va_roles)]) if {
	approving_account
	command_text("scope") == "virtual_accounts"
	role := command_text("role")
	role != ""
	not role in va_roles
}

violations contains sprintf("virtual_accounts[%d] must be a virtual account of %s%s (it is %s) (R22)", [i, account_id, account_vas_text, va]) if {
	approving_account
	command_text("scope") == "virtual_accounts"
	some i, va in object.get(command, "virtual_accounts", [])
	not va in account_vas
}

# R23: an approval names the contact type secondary or none: not one that
# holds every application at its top level (primary).
approval_contact_types := {type | some type in config.contact_types; not type in config.top_level_contact_types}

violations contains sprintf("contact must be %s, or none (it is %v) (R23)", [one_of(approval_contact_types), contact]) if {
	approving_account
	contact := contact_of(command)
	contact != ""
	not contact in approval_contact_types
}

# R23: the approver adds a justification only when the request had none.
violations contains "the request already has a justification: the approver may add one only when it had none (R23)" if {
	approving_account
	command_text("justification") != ""
	object.get(req, "justification", "") != ""
}

# R38: a tenant request is granted as it was asked, with an optional
# message and expiry.
violations contains sprintf("a tenant request is granted as it was asked: %s must not be given (R38)", [field]) if {
	command_type == "approve"
	req.kind == "tenant"
	some field in {"scope", "role", "contact", "justification"}
	command_text(field) != ""
}

violations contains sprintf("a tenant request is granted as it was asked: %s must not be given (R38)", [field]) if {
	command_type == "approve"
	req.kind == "tenant"
	some field in {"virtual_accounts", "privileges"}
	count(object.get(command, field, [])) > 0
}

violations contains sprintf("the expiry must be in the future (it is %s) (R38)", [format_ns(ns)]) if {
	command_type in {"approve", "set_request_expiry"}
	req.kind == "tenant"
	ns := command.expires_at_ns
	not future(ns)
}

# R38: only tenant requests carry an expiry of their own.
violations contains "only a tenant request has an expiry: change the expires_at of the membership instead (R38)" if {
	command_type == "set_request_expiry"
	req.kind != "tenant"
}

# R24: a denial's reason code is one of the configured codes, and required
# when the account's settings say so.
violations contains sprintf("%s (R24)", [must_be("reason_code", code, config.deny_reason_codes)]) if {
	command_type == "deny"
	code := command_text("reason_code")
	code != ""
	not code in config.deny_reason_codes
}

violations contains sprintf("%s requires a reason_code to deny a request: choose %s (R24)", [account_id, one_of(config.deny_reason_codes)]) if {
	command_type == "deny"
	command_text("reason_code") == ""
	setting("require_deny_reason") == true
}

# R37, R43: a request is seen by its requester, the users it names, those
# who may decide it, and system administrators.
may_see_request if system_admin

may_see_request if req.requester == actor_id

may_see_request if actor_id in object.get(req, "users", [])

may_see_request if may_decide(actor_membership)

may_run if {
	command_type == "get_request"
	may_see_request
}

# R43: reading or acting on a request the actor may not see is answered
# exactly as for a request that does not exist: the refusal must not tell
# that it exists, nor whose it is.
hidden if {
	command_type in request_commands
	not may_see_request
}

request_commands := decide_commands | {"get_request"}

needs["get_request"] := sprintf("%s may not see this request (R43)", [actor_id])

# R37, R39a: a requester lists their own requests; those who may decide an
# account's requests list them.
may_run if {
	command_type == "list_requests"
	system_admin
}

may_run if {
	command_type == "list_requests"
	command.requester == actor_id
}

may_run if {
	command_type == "list_requests"
	decider(actor_membership)
}

needs["list_requests"] := list_requests_need

# list_requests_need says whose view of requests was refused.
list_requests_need := sprintf("%s may not see the requests of %s: only those who may decide them may (R43)", [actor_id, account_id]) if {
	object.get(command, "account", "") != ""
} else := sprintf("%s may not see the requests of %s: only their requester may (R43)", [actor_id, object.get(command, "requester", "")])

# R37: the tenant's view of a tenant request hides its name and users,
# whether it reads the request or gets it back from deciding it; the engine
# hides them from every actor who neither made the request nor is named in it.
redact contains field if {
	command_type in {"get_request", "list_requests", "approve", "deny", "set_request_expiry", "revoke"}
	not system_admin
	some field in {"name", "users"}
}
