#!/usr/bin/env bash
# The decision benchmark (make bench-decisions): gatehouse's POST
# /v1/decisions against `opa run --server` (built from the OPA module go.mod
# pins) on the same seeded data set (10,000 accounts, 100,000 memberships),
# the same Rego and, per question, the same input: OPA's request bodies are
# the inputs gatehouse builds. Both must give gatehouse's allow on every
# question, or the script fails. Then wrk cycles through the questions
# against both, interleaved (OPA, gatehouse, OPA, gatehouse, ...), for the
# uniform set (20,000 distinct questions: the decision cache never hits) and
# the Zipf set (a few subjects ask most questions), and a table gives req/s,
# p50, p99, CPU µs per decision (utime+stime from /proc/<pid>/stat) and peak
# RSS (VmHWM), with gatehouse's ratio to OPA. Loopback only.
#
# Environment: DURATION (10s), ROUNDS (2), CONNS (32), THREADS (2), SEED (1),
# QUESTIONS (20000), SETS ("uniform zipf"), SERVE_ARGS (extra serve flags),
# GATEHOUSE_ENV (extra environment for serve, e.g. "GOGC=100").
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-10s}
rounds=${ROUNDS:-2}
conns=${CONNS:-32}
threads=${THREADS:-2}
sets=${SETS:-uniform zipf}
read -r -a serve_args <<<"${SERVE_ARGS:-}"
read -r -a serve_env <<<"${GATEHOUSE_ENV:-}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== building gatehouse, opa (the pinned module) and the generator"
[ -x bin/gatehouse ] || go build -o bin/gatehouse ./cmd/gatehouse
# OPA's CLI at the version go.mod pins, with OPA's own dependencies (the
# gatehouse module does not carry those of OPA's server), kept in .cache.
opa_version=$(go list -m -f '{{.Version}}' github.com/open-policy-agent/opa)
opa=.cache/opa-$opa_version/opa
[ -x "$opa" ] || GOBIN=$PWD/.cache/opa-$opa_version go install "github.com/open-policy-agent/opa@$opa_version"
go build -o "$work/benchdecisions" ./scripts/benchdecisions
"$opa" version | sed -n 1p # sed reads to the end: no SIGPIPE for opa under pipefail

echo "== generating the data set and the questions (seeded)"
"$work/benchdecisions" prepare "$work"

mkdir "$work/policy"
cp policies/*.rego policies/data.json "$work/policy/" && rm "$work/policy/"*_test.rego
opa_port=$(free_port)
"$opa" run --server --addr "127.0.0.1:$opa_port" --log-level error "$work/policy" &
opa_pid=$!
pids+=("$opa_pid")
# Two gatehouse servers on copies of the store: the uniform set is asked of
# one with the decision cache off (wrk cycles through the 20,000 questions
# several times, and none of them may be answered from the cache), the Zipf
# set of one with the default cache, as it would run in production.
cp -r "$work/data" "$work/data-nocache"
start_gatehouse() {
  local port=$1
  shift
  env "${serve_env[@]}" bin/gatehouse serve --store embedded --addr "127.0.0.1:$port" "${serve_args[@]}" "$@" 2>>"$work/serve.log" &
  pids+=($!)
  until curl -fs "http://127.0.0.1:$port/ready" >/dev/null; do sleep 0.1; done
}
gh_port=$(free_port)
start_gatehouse "$gh_port" --data-dir "$work/data"
gh_pid=${pids[-1]}
nc_port=$(free_port)
start_gatehouse "$nc_port" --data-dir "$work/data-nocache" --decision-cache 0
nc_pid=${pids[-1]}
until curl -fs "http://127.0.0.1:$opa_port/health" >/dev/null; do sleep 0.1; done
opa_url="http://127.0.0.1:$opa_port/v1/data/gatehouse/decision/result"
gh_url="http://127.0.0.1:$gh_port/v1/decisions"
nc_url="http://127.0.0.1:$nc_port/v1/decisions"
# gatehouse_for SET: the gatehouse server that answers SET (pid and url).
gatehouse_for() { if [ "$1" = uniform ]; then echo "$nc_pid $nc_url"; else echo "$gh_pid $gh_url"; fi; }

echo "== checking that both give gatehouse's allow on every question"
for set in $sets; do
  "$work/benchdecisions" check opa "$opa_url" "$work/$set"
  read -r _ url < <(gatehouse_for "$set")
  "$work/benchdecisions" check gatehouse "$url" "$work/$set"
done

cat > "$work/cycle.lua" <<'LUA'
-- Each thread cycles through the bodies of BODIES, one per line, from its
-- own offset, so that the threads do not ask the same question together.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local threads = 0
function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
local i = 0
function init(args) i = offset or 0 end
function request()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
LUA

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
ticks_per_s=$(getconf CLK_TCK)

# run SET TARGET ROUND: one wrk run, one line of results in $work/results.
run() {
  local set=$1 target=$2 round=$3 pid url body
  if [ "$target" = opa ]; then
    pid=$opa_pid url=$opa_url body=$work/$set.opa
  else
    read -r pid url < <(gatehouse_for "$set")
    body=$work/$set.gatehouse
  fi
  local before after
  before=$(cpu_ticks "$pid")
  BODIES=$body wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$work/cycle.lua" "$url" >"$work/wrk.out"
  after=$(cpu_ticks "$pid")
  awk -v set="$set" -v target="$target" -v round="$round" -v ticks=$((after - before)) -v hz="$ticks_per_s" '
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1000000; return v }
    /^ +50%/ { p50 = us($2) } /^ +99%/ { p99 = us($2) }
    /requests in/ { n = $1 } /Requests\/sec/ { rps = $2 }
    /Non-2xx|Socket errors/ { errors = errors " " $0 }
    END {
      if (errors != "") { print "wrk errors against " target ": " errors > "/dev/stderr"; exit 1 }
      printf "%s %s %s %.0f %.0f %.0f %.1f\n", set, target, round, rps, p50, p99, ticks * 1000000 / hz / n
    }' "$work/wrk.out" >>"$work/results"
}

echo "== wrk: $threads threads, $conns connections, $duration per run, $rounds rounds, interleaved"
for set in $sets; do
  BODIES=$work/$set.opa wrk -t"$threads" -c"$conns" -d2s -s "$work/cycle.lua" "$opa_url" >/dev/null
  read -r _ url < <(gatehouse_for "$set")
  BODIES=$work/$set.gatehouse wrk -t"$threads" -c"$conns" -d2s -s "$work/cycle.lua" "$url" >/dev/null
  for round in $(seq "$rounds"); do
    run "$set" opa "$round"
    run "$set" gatehouse "$round"
  done
done
opa_hwm=$(hwm_kb "$opa_pid")
gh_hwm=$(hwm_kb "$gh_pid")
nc_hwm=$(hwm_kb "$nc_pid")

echo
awk -v opa_hwm="$opa_hwm" -v gh_hwm="$gh_hwm" -v nc_hwm="$nc_hwm" '
  { key = $1 " " $3; r[key, $2, "rps"] = $4; r[key, $2, "p50"] = $5; r[key, $2, "p99"] = $6; r[key, $2, "cpu"] = $7
    if (!(key in seen)) { seen[key] = 1; keys[++nk] = key } }
  END {
    printf "%-10s %-6s %-10s %9s %9s %9s %12s %10s\n", "set", "round", "server", "req/s", "p50 ms", "p99 ms", "CPU us/dec", "peak RSS"
    for (i = 1; i <= nk; i++) {
      split(keys[i], k, " ")
      ghm = (k[1] == "uniform") ? nc_hwm : gh_hwm
      for (t = 1; t <= 2; t++) {
        s = (t == 1) ? "opa" : "gatehouse"; hwm = (t == 1) ? opa_hwm : ghm
        printf "%-10s %-6s %-10s %9.0f %9.2f %9.2f %12.1f %8.0fMB\n", k[1], k[2], s, r[keys[i], s, "rps"],
          r[keys[i], s, "p50"] / 1000, r[keys[i], s, "p99"] / 1000, r[keys[i], s, "cpu"], hwm / 1024
      }
      printf "%-10s %-6s %-10s %8.2fx %8.2fx %8.2fx %11.2fx %8.2fx\n", k[1], k[2], "ratio", r[keys[i], "gatehouse", "rps"] / r[keys[i], "opa", "rps"],
        r[keys[i], "gatehouse", "p50"] / r[keys[i], "opa", "p50"], r[keys[i], "gatehouse", "p99"] / r[keys[i], "opa", "p99"],
        r[keys[i], "gatehouse", "cpu"] / r[keys[i], "opa", "cpu"], ghm / opa_hwm
    }
    print "ratio = gatehouse / opa: above 1 is better for req/s, below 1 is better for p50, p99, CPU and RSS."
    print "uniform: gatehouse with --decision-cache 0 (every request evaluates the policy); zipf: the default cache."
    print "peak RSS is VmHWM of each process at the end of the run."
  }' "$work/results"
