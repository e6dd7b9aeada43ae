#!/usr/bin/env bash
# The same decision, same policy, same input, in one run: `opa run --server`
# (given the input gatehouse builds from its store) against gatehouse's
# POST /v1/decisions with and without its decision cache. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10s}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
# OPA's CLI at the version go.mod pins, with OPA's own dependencies (the
# gatehouse module does not carry those of OPA's server), kept in .cache.
opa_version=$(go list -m -f '{{.Version}}' github.com/open-policy-agent/opa)
opa=.cache/opa-$opa_version/opa
[ -x "$opa" ] || GOBIN=$PWD/.cache/opa-$opa_version go install "github.com/open-policy-agent/opa@$opa_version"
mkdir "$work/policy"
cp policies/*.rego policies/data.json "$work/policy/" && rm "$work/policy/"*_test.rego
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$opa" run --server --addr "127.0.0.1:$port" --log-level error "$work/policy" &
pids+=($!)
until curl -fs "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.1; done

# The input gatehouse gives the policy for bob/use/acme-emea on the demo data.
cat > "$work/opa.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"input": {"subject": "bob", "action": "use", "resource": {"account": "acme", "virtual_account": "acme-emea"}, "context": {}, "now_ns": 1795238000000000000, "user": {"id": "bob", "email": "bob@acme.example", "first_name": "Bob", "last_name": "Durand", "organization": ""}, "account": {"id": "acme", "name": "Acme Corp (Smart Account)", "virtual_accounts": ["acme-emea", "acme-us"], "partner": "", "settings": {}}, "membership": {"roles": [], "va_roles": {"acme-emea": "va_user"}, "contact": "", "privileges": {}, "added_by": "gatehouse-seed"}, "tenant": {"exclusive": false, "grants": []}}}'
LUA
echo "== opa run --server: POST /v1/data/gatehouse/decision/result, same policy and input"
wrk -t2 -c32 -d"$duration" -s "$work/opa.lua" "http://127.0.0.1:$port/v1/data/gatehouse/decision/result" | grep -E "Requests/sec|Latency"
for args in "--decision-cache 0" ""; do
  SERVE_ARGS="$args" DURATION="$duration" scripts/load.sh | grep -E "^==|Requests/sec|Latency"
done
