#!/usr/bin/env bash
# Printed by `make run` before the server starts: how to ask it something.
# The README's "First steps" say the same, runnably (cmd/gatehouse/readme_test.go).
# usage: scripts/demo-help.sh ADDR SECRET_FILE DEMO_DIR
addr=$1 secret=$2 dir=${3:-}
cat <<MSG

gatehouse demo: embedded store with testdata/demo.json${dir:+ in $dir/data}, listening on http://$addr
${dir:+Every decision is logged to $dir/decisions.log (gatehouse policy replay --log reads it).
}
Admin console: http://$addr/console/ (development sign-in: any demo user, e.g. alice, tom, elizabeth)

Ask a decision (no token needed):
  # allow: alice is account_admin of acme
  curl -s http://$addr/v1/decisions -d '{"subject":"alice","action":"manage","resource":{"account":"acme"}}'
  # deny: bob's va_user role is on acme-emea, not acme-us
  curl -s http://$addr/v1/decisions -d '{"subject":"bob","action":"use","resource":{"account":"acme","virtual_account":"acme-us"}}'
  # the same question through OPA's Data API (the input is the question; the store answers)
  curl -s http://$addr/v1/data/gatehouse/decision/result -d '{"input":{"subject":"alice","action":"manage","resource":{"account":"acme"}}}'

Admin endpoints need a token (system administrator: ops; account admins: alice, nina, tom, pooh):
  TOKEN=\$(bin/gatehouse token --sub alice --jwt-hs256-secret-file $secret)
  curl -s -H "Authorization: Bearer \$TOKEN" http://$addr/v1/accounts/acme/members

The client commands (requests, members, audit, events, policy push/list/rollback,
decide --remote) read GATEHOUSE_SERVER and GATEHOUSE_TOKEN:
  export GATEHOUSE_SERVER=http://$addr
  export GATEHOUSE_TOKEN=\$(bin/gatehouse token --sub alice --jwt-hs256-secret-file $secret)
  bin/gatehouse members list acme

The README's \`\`\`bash blocks, pasted in order in a terminal at the repository root, run
against this demo$( [ "$addr" = 127.0.0.1:8280 ] || echo " once 127.0.0.1:8280 in them is changed to $addr").
Stop with Ctrl-C.

MSG
