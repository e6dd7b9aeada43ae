#!/usr/bin/env bash
# The replica-scaling benchmark (make bench-replicas): 1, 2 and 4
# `gatehouse serve` replicas on one standalone redis-server holding the
# seeded data set of make bench-decisions (10,000 accounts, 100,000
# memberships), wrk against every replica at once, each cycling through the
# 20,000 distinct questions of the uniform set with the decision cache off,
# so that every decision reads the store. For each replica count the table
# gives decisions/s in total and per replica, p99 of the slowest replica,
# and what the decisions cost Redis: its CPU (INFO cpu, used_cpu_sys +
# used_cpu_user, before and after) and the commands it ran (INFO stats,
# total_commands_processed) divided by the decisions answered. Loopback
# only, on one machine: replicas, wrk and Redis share its cores.
#
# CACHE: when set, every replica count runs twice, without and with
# `--cache-max-bytes $CACHE` (the replicas' local cache of account
# records); unset, only without. Redis Cluster is not measured: this
# script starts one standalone Redis.
#
# Environment: REPLICAS ("1 2 4"), DURATION (10s), CONNS (16 per replica),
# SEED (1), QUESTIONS (20000), CACHE, SERVE_ARGS (extra serve flags).
set -euo pipefail
cd "$(dirname "$0")/.."
replica_counts=${REPLICAS:-1 2 4}
duration=${DURATION:-10s}
conns=${CONNS:-16}
read -r -a serve_args <<<"${SERVE_ARGS:-}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
scripts/ensure-redis.sh

work=$(mktemp -d)
pids=()
cleanup() {
  if [ "${#pids[@]}" -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== building gatehouse and the generator"
[ -x bin/gatehouse ] || go build -o bin/gatehouse ./cmd/gatehouse
go build -o "$work/benchdecisions" ./scripts/benchdecisions

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --daemonize no &
redis_pid=$!
pids+=("$redis_pid")
until redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG; do sleep 0.1; done
redis_url="redis://127.0.0.1:$redis_port/0"
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$redis_port"

echo "== loading the seeded data set into Redis and writing the questions"
REDIS_URL=$redis_url "$work/benchdecisions" prepare "$work"

cat > "$work/cycle.lua" <<'LUA'
-- Cycles through the bodies of BODIES, one per line, from OFFSET, so that
-- the replicas do not ask the same question together.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
local i = tonumber(os.getenv("OFFSET") or "0")
function request()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
LUA

# redis_info FIELD...: the sum of INFO's fields.
redis_info() {
  redis-cli -p "$redis_port" info all | tr -d '\r' |
    awk -F: -v fields="$*" 'BEGIN { split(fields, f, " "); for (i in f) want[f[i]] = 1 } ($1 in want) { sum += $2 } END { printf "%.6f\n", sum }'
}

# run N CACHE_FLAG: N replicas, wrk against all at once, one line in results.
run() {
  local n=$1 cache=$2 ports=() replica_pids=() i
  for i in $(seq "$n"); do
    local port
    port=$(free_port)
    local extra=()
    [ -n "$cache" ] && extra=(--cache-max-bytes "$cache")
    bin/gatehouse serve --store redis --redis-url "$redis_url" --addr "127.0.0.1:$port" \
      --decision-cache 0 "${extra[@]}" "${serve_args[@]}" 2>>"$work/serve.log" &
    replica_pids+=($!)
    pids+=($!)
    ports+=("$port")
  done
  for port in "${ports[@]}"; do
    until curl -fs "http://127.0.0.1:$port/ready" >/dev/null; do sleep 0.1; done
    # warm up: the policy's first evaluations, the connection pools
    BODIES=$work/uniform.gatehouse wrk -t1 -c4 -d1s -s "$work/cycle.lua" "http://127.0.0.1:$port/v1/decisions" >/dev/null
  done
  local cpu0 cmds0 cpu1 cmds1
  cpu0=$(redis_info used_cpu_sys used_cpu_user)
  cmds0=$(redis_info total_commands_processed)
  local wrk_pids=()
  i=0
  for port in "${ports[@]}"; do
    BODIES=$work/uniform.gatehouse OFFSET=$((i * 4999)) wrk -t1 -c"$conns" -d"$duration" --latency \
      -s "$work/cycle.lua" "http://127.0.0.1:$port/v1/decisions" >"$work/wrk.$i" &
    wrk_pids+=($!)
    i=$((i + 1))
  done
  wait "${wrk_pids[@]}"
  cpu1=$(redis_info used_cpu_sys used_cpu_user)
  cmds1=$(redis_info total_commands_processed)
  kill "${replica_pids[@]}"
  wait "${replica_pids[@]}" 2>/dev/null || true
  cat "$work"/wrk.* | awk -v n="$n" -v cache="${cache:--}" -v cpu="$(awk "BEGIN { print $cpu1 - $cpu0 }")" -v cmds="$(awk "BEGIN { print $cmds1 - $cmds0 }")" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +99%/ { p = ms($2); if (p > p99) p99 = p }
    /requests in/ { total += $1 }
    /Requests\/sec/ { rps += $2 }
    /Non-2xx|Socket errors/ { errors = errors " " $0 }
    END {
      if (errors != "") { print "wrk errors: " errors > "/dev/stderr"; exit 1 }
      printf "%s %s %.0f %.0f %.2f %.2f %.2f\n", n, cache, rps, rps / n, p99, cpu * 1000000 / total, cmds / total
    }' >>"$work/results"
  rm -f "$work"/wrk.*
}

caches=("")
[ -n "${CACHE:-}" ] && caches+=("$CACHE")
echo "== wrk: $conns connections per replica, $duration per run, replicas: $replica_counts"
for cache in "${caches[@]}"; do
  for n in $replica_counts; do
    run "$n" "$cache"
  done
done

echo
awk -v cores="$(nproc)" '
  BEGIN { printf "%-9s %-12s %12s %14s %12s %16s %16s\n", "replicas", "local cache", "decisions/s", "per replica", "p99 ms", "Redis CPU us/dec", "Redis cmds/dec" }
  { printf "%-9s %-12s %12.0f %14.0f %12.2f %16.2f %16.2f\n", $1, $2, $3, $4, $5, $6, $7 }
  END {
    print "one standalone redis-server; every replica and wrk on this machine (" cores " cores): the replicas compete with wrk and Redis for CPU."
    print "p99 is the slowest replica'"'"'s; Redis CPU and commands are INFO deltas over the run divided by the decisions answered."
  }' "$work/results"
