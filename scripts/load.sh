#!/usr/bin/env bash
# Load test: wrk against POST /v1/decisions and, in the same run on the same
# server, GET /health (a trivial Gin route) as the baseline. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10s}
conns=${CONNS:-32}
threads=${THREADS:-2}
store=${STORE:-embedded}
# SERVE_ARGS: extra serve flags, e.g. "--decision-cache 0" to evaluate every decision.
read -r -a extra <<<"${SERVE_ARGS:-}"

if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
addr=127.0.0.1:$port

args=(--store "$store" --data-dir "$work/data")
if [ "$store" = redis ]; then
  rport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize no >/dev/null &
  pids+=($!)
  args+=(--redis-url "redis://127.0.0.1:$rport/0")
  until redis-cli -p "$rport" ping >/dev/null 2>&1; do sleep 0.1; done
fi
bin/gatehouse seed testdata/demo.json "${args[@]}" >/dev/null
bin/gatehouse serve "${args[@]}" "${extra[@]}" --addr "$addr" 2>"$work/serve.log" &
pids+=($!)
until curl -fs "http://$addr/ready" >/dev/null; do sleep 0.1; done

cat > "$work/decision.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"subject":"bob","action":"use","resource":{"account":"acme","virtual_account":"acme-emea"}}'
LUA
curl -s "http://$addr/v1/decisions" -d '{"subject":"bob","action":"use","resource":{"account":"acme","virtual_account":"acme-emea"}}'
echo
echo "== GET /health (trivial Gin route), $store store ${SERVE_ARGS:-}, $threads threads, $conns connections, $duration"
wrk -t"$threads" -c"$conns" -d"$duration" "http://$addr/health"
echo "== POST /v1/decisions"
wrk -t"$threads" -c"$conns" -d"$duration" -s "$work/decision.lua" "http://$addr/v1/decisions"
