#!/usr/bin/env bash
# The replica-scaling benchmark (make bench-replicas): 1, 2 and 4
# `gatehouse serve` replicas holding the seeded data set of make
# bench-decisions (10,000 accounts, 100,000 memberships), wrk against every
# replica at once, each cycling through the 20,000 distinct questions of the
# uniform set with the decision cache off (--decision-cache 0), so that
# every decision reads the store's records. One run measures four setups:
#
#   standalone, cache off  one redis-server, --cache-max-bytes 0: every
#                          decision reads Redis
#   standalone, cache on   the same redis-server, --cache-max-bytes $CACHE:
#                          the replicas keep the records they read in memory
#                          (go-redis client-side caching, RESP3 CLIENT
#                          TRACKING); every replica is first asked all 20,000
#                          questions once, all at the same time (benchdecisions
#                          check, which also checks every answer), so the
#                          measured run is warm; an entry lives at most 30 s,
#                          so a record is read again at most every 30 s
#   cluster, cache off     a 3-master Redis Cluster the script starts
#                          (redis-server --cluster-enabled yes on free ports,
#                          redis-cli --cluster create --cluster-replicas 0),
#                          --cache-max-bytes 0: every decision reads Redis
#   cluster, cache on      the same cluster, --cache-max-bytes $CACHE (per
#                          master: one tracked connection and cache each),
#                          warmed as on standalone
#
# For each setup and replica count the table gives decisions/s in total and
# per replica, p99 of the slowest replica, and what the decisions cost
# Redis: its CPU (INFO cpu, used_cpu_sys + used_cpu_user, summed over the
# cluster's masters) and the commands it ran (INFO stats,
# total_commands_processed, summed likewise), each a delta over the wrk run
# divided by the decisions answered. Background work of the replicas in that
# window (the relay, following the policy) is counted too; the one-time
# catch-up after the load (the relay applying the load's outboxes, the
# expiry of the data set's expired memberships) is done before any
# measurement by one replica, until Redis runs fewer than 100 commands/s
# while it idles. Loopback only, on one machine: replicas, wrk and every
# redis-server share its cores. The replicas run with --decision-timeout 5s
# and --store-read-timeout 5s, so that a stall of a loaded machine is a slow
# answer rather than a timed-out deny.
#
# Environment: REPLICAS ("1 2 4"), DURATION (10s), CONNS (16 per replica),
# SEED (1), QUESTIONS (20000), CACHE (67108864, serve's default 64 MiB),
# SERVE_ARGS (extra serve flags).
set -euo pipefail
cd "$(dirname "$0")/.."
replica_counts=${REPLICAS:-1 2 4}
duration=${DURATION:-10s}
conns=${CONNS:-16}
cache_bytes=${CACHE:-67108864}
[ "$cache_bytes" -gt 0 ] 2>/dev/null || { echo "CACHE must be a positive number of bytes, got '$cache_bytes'" >&2; exit 2; }
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
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# cluster_port: a free port whose cluster bus port (10,000 higher) is free
# too, so at most 55535.
cluster_port() {
  python3 -c '
import random, socket
for _ in range(1000):
    p = random.randint(20000, 55535)
    try:
        for q in (p, p + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
    except OSError:
        continue
    print(p); break
else:
    raise SystemExit("no free port pair for a cluster node")
'
}

echo "== building gatehouse and the generator"
[ -x bin/gatehouse ] || go build -o bin/gatehouse ./cmd/gatehouse
go build -o "$work/benchdecisions" ./scripts/benchdecisions

# start_redis PORT DIR ARGS...: a redis-server on PORT, working in DIR;
# returns once it answers PING, fails when it exits first.
start_redis() {
  local port=$1 dir=$2 pid
  shift 2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --logfile "$dir/redis.log" --daemonize no "$@" >/dev/null &
  pid=$!
  pids+=("$pid")
  until redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; do
    kill -0 "$pid" 2>/dev/null || { echo "redis-server on port $port exited:" >&2; tail -5 "$dir/redis.log" >&2; exit 1; }
    sleep 0.1
  done
}

echo "== starting one standalone redis-server and a 3-master Redis Cluster"
standalone_port=$(free_port)
start_redis "$standalone_port" "$work/standalone"
standalone_url="redis://127.0.0.1:$standalone_port/0"
cluster_ports=()
for i in 1 2 3; do
  port=$(cluster_port)
  start_redis "$port" "$work/cluster$i" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000
  cluster_ports+=("$port")
done
redis-cli --cluster create "${cluster_ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$work/cluster-create.log" 2>&1 ||
  { cat "$work/cluster-create.log" >&2; exit 1; }
for port in "${cluster_ports[@]}"; do
  tries=0
  until redis-cli -p "$port" cluster info | tr -d '\r' | grep -q '^cluster_state:ok$'; do
    tries=$((tries + 1))
    [ "$tries" -lt 600 ] || { echo "redis cluster node $port not ok after 60s" >&2; exit 1; }
    sleep 0.1
  done
done
cluster_url="redis+cluster://127.0.0.1:${cluster_ports[0]}?addr=127.0.0.1:${cluster_ports[1]}&addr=127.0.0.1:${cluster_ports[2]}"
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'): standalone on 127.0.0.1:$standalone_port, cluster masters on ports ${cluster_ports[*]}"

echo "== loading the seeded data set into both and writing the questions"
REDIS_URL=$standalone_url "$work/benchdecisions" prepare "$work"
mkdir "$work/cluster-set" # the same questions, their answers decided on the cluster's copy
REDIS_URL=$cluster_url "$work/benchdecisions" prepare "$work/cluster-set"
for set in uniform zipf; do
  cmp -s "$work/$set.allow" "$work/cluster-set/$set.allow" || { echo "the cluster's copy of the data set answers $set differently" >&2; exit 1; }
done

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

# redis_info "PORT..." FIELD...: the sum of INFO's fields over the servers.
redis_info() {
  local ports=$1 port
  shift
  for port in $ports; do redis-cli -p "$port" info all; done | tr -d '\r' |
    awk -F: -v fields="$*" 'BEGIN { split(fields, f, " "); for (i in f) want[f[i]] = 1 } ($1 in want) { sum += $2 } END { printf "%.6f\n", sum }'
}

# redis_calls "PORTS": INFO commandstats' calls per command, summed over
# the servers, one "command calls" line each.
redis_calls() {
  local port
  for port in $1; do redis-cli -p "$port" info commandstats; done | tr -d '\r' |
    awk -F: '/^cmdstat_/ { match($2, /calls=[0-9]+/); calls[substr($1, 9)] += substr($2, RSTART + 6, RLENGTH - 6) }
      END { for (c in calls) print c, calls[c] }'
}

# run SETUP URL "PORTS" CACHE_BYTES N: N replicas on URL (its redis-servers
# on PORTS), wrk against all at once, one line in results.
run() {
  local setup=$1 url=$2 redis_ports=$3 cache=$4 n=$5 ports=() replica_pids=() i port
  for i in $(seq "$n"); do
    port=$(free_port)
    bin/gatehouse serve --store redis --redis-url "$url" --addr "127.0.0.1:$port" \
      --decision-cache 0 --decision-timeout 5s --store-read-timeout 5s --cache-max-bytes "$cache" "${serve_args[@]}" 2>>"$work/serve.log" &
    replica_pids+=($!)
    pids+=($!)
    ports+=("$port")
  done
  for port in "${ports[@]}"; do
    until curl -fs "http://127.0.0.1:$port/ready" >/dev/null; do sleep 0.1; done
  done
  # Warm every replica at once: a cached entry lives at most 30 seconds
  # (adapters/redis CacheMaxStaleness), so replicas warmed one after the
  # other would lose their first entries during the run.
  local warm_pids=()
  for port in "${ports[@]}"; do
    if [ "$cache" -gt 0 ]; then
      # warm the cache with every question, checking each answer
      "$work/benchdecisions" check gatehouse "http://127.0.0.1:$port/v1/decisions" "$work/uniform" >/dev/null &
    else
      # warm up: the policy's first evaluations, the connection pools
      BODIES=$work/uniform.gatehouse wrk -t1 -c4 -d1s -s "$work/cycle.lua" "http://127.0.0.1:$port/v1/decisions" >/dev/null &
    fi
    warm_pids+=($!)
    pids+=($!)
  done
  for pid in "${warm_pids[@]}"; do wait "$pid"; done
  local cpu0 cmds0 cpu1 cmds1 wrk_pids=()
  cpu0=$(redis_info "$redis_ports" used_cpu_sys used_cpu_user)
  cmds0=$(redis_info "$redis_ports" total_commands_processed)
  redis_calls "$redis_ports" >"$work/calls0"
  i=0
  for port in "${ports[@]}"; do
    BODIES=$work/uniform.gatehouse OFFSET=$((i * 4999)) wrk -t1 -c"$conns" -d"$duration" --latency \
      -s "$work/cycle.lua" "http://127.0.0.1:$port/v1/decisions" >"$work/wrk.$i" &
    wrk_pids+=($!)
    pids+=($!)
    i=$((i + 1))
  done
  wait "${wrk_pids[@]}"
  cpu1=$(redis_info "$redis_ports" used_cpu_sys used_cpu_user)
  cmds1=$(redis_info "$redis_ports" total_commands_processed)
  redis_calls "$redis_ports" >"$work/calls1"
  kill "${replica_pids[@]}"
  wait "${replica_pids[@]}" 2>/dev/null || true
  cat "$work"/wrk.* | awk -v n="$n" -v setup="$setup" -v cpu="$(awk "BEGIN { print $cpu1 - $cpu0 }")" -v cmds="$(awk "BEGIN { print $cmds1 - $cmds0 }")" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^ +99%/ { p = ms($2); if (p > p99) p99 = p }
    /requests in/ { total += $1 }
    /Requests\/sec/ { rps += $2 }
    /Non-2xx|Socket errors/ { errors = errors " " $0 }
    END {
      if (errors != "") { print "wrk errors: " errors > "/dev/stderr"; exit 1 }
      printf "%s|%s|%.0f|%.0f|%.2f|%.2f|%.4f\n", setup, n, rps, rps / n, p99, cpu * 1000000 / total, cmds / total
    }' >>"$work/results"
  # the commands behind cmds/dec: the four most called, per decision
  local decisions
  decisions=$(cat "$work"/wrk.* | awk '/requests in/ { total += $1 } END { print total }')
  awk -v setup="$setup" -v n="$n" -v total="$decisions" '
    NR == FNR { before[$1] = $2; next }
    { d = $2 - before[$1]; if (d > 0) print d, $1 }' "$work/calls0" "$work/calls1" | sort -rn | head -4 |
    awk -v setup="$setup" -v n="$n" -v total="$decisions" '
      { line = line sprintf(" %s %.3f", $2, $1 / total) }
      END { printf "%s, %s replicas, commands per decision:%s\n", setup, n, line }' >>"$work/breakdown"
  rm -f "$work"/wrk.*
}

# settle NAME URL "PORTS": one replica on URL idles until its Redis (on
# PORTS) runs fewer than 100 commands/s over 6 seconds, at least 12 seconds
# and at most 5 minutes: the relay and the expiry sweeper catch up with the
# load.
settle() {
  local name=$1 url=$2 redis_ports=$3 port pid c0 c1 start=$SECONDS
  port=$(free_port)
  bin/gatehouse serve --store redis --redis-url "$url" --addr "127.0.0.1:$port" "${serve_args[@]}" 2>>"$work/serve.log" &
  pid=$!
  pids+=("$pid")
  until curl -fs "http://127.0.0.1:$port/ready" >/dev/null; do sleep 0.1; done
  while :; do
    # 6s windows: each holds an expiry sweep (every 5s)
    c0=$(redis_info "$redis_ports" total_commands_processed)
    sleep 6
    c1=$(redis_info "$redis_ports" total_commands_processed)
    rate=$(awk "BEGIN { printf \"%.0f\", ($c1 - $c0) / 6 }")
    [ "$rate" -lt 100 ] && [ $((SECONDS - start)) -ge 12 ] && break
    [ $((SECONDS - start)) -lt 300 ] || { echo "$name: Redis still runs $rate commands/s after 5 minutes of catch-up" >&2; break; }
  done
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  echo "$name: caught up in $((SECONDS - start))s; one idle replica then: $rate Redis commands/s"
}

echo "== background catch-up after the load"
settle standalone "$standalone_url" "$standalone_port"
settle cluster "$cluster_url" "${cluster_ports[*]}"

echo "== wrk: $conns connections per replica, $duration per run, replicas: $replica_counts"
for n in $replica_counts; do run "standalone, cache off" "$standalone_url" "$standalone_port" 0 "$n"; done
for n in $replica_counts; do run "standalone, cache $((cache_bytes >> 20)) MiB" "$standalone_url" "$standalone_port" "$cache_bytes" "$n"; done
for n in $replica_counts; do run "cluster (3 masters), cache off" "$cluster_url" "${cluster_ports[*]}" 0 "$n"; done
for n in $replica_counts; do run "cluster (3 masters), cache $((cache_bytes >> 20)) MiB" "$cluster_url" "${cluster_ports[*]}" "$cache_bytes" "$n"; done

echo
awk -F'|' -v cores="$(nproc)" '
  BEGIN { printf "%-32s %-9s %12s %12s %9s %17s %15s\n", "redis, local cache", "replicas", "decisions/s", "per replica", "p99 ms", "Redis CPU us/dec", "Redis cmds/dec" }
  { printf "%-32s %-9s %12.0f %12.0f %9.2f %17.2f %15.3f\n", $1, $2, $3, $4, $5, $6, $7 }
  END {
    print "standalone: one redis-server; cluster: 3 masters, no replicas; cache off: --cache-max-bytes 0."
    print "cache on: each replica first asked all 20,000 questions once (warm), so a decision reads no Redis: cmds/dec counts what remains."
    print "every replica, wrk and Redis on this machine (" cores " cores): the replicas compete with wrk and Redis for CPU."
    print "p99 is the slowest replica'"'"'s; Redis CPU and commands are INFO deltas over the run (summed over masters) divided by the decisions answered."
  }' "$work/results"
echo
cat "$work/breakdown"
