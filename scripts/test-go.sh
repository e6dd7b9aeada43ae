#!/usr/bin/env bash
# Runs the Go tests package by package, a few at once (see below),
# and prints each package's result the moment it finishes (go test ./...
# holds a finished package back until every package listed before it is
# done). Ends with a "N passed, N failed" line counting packages, and fails
# when any package fails.
#
# The packages that take minutes (a real server, a browser, Redis
# deployments: they mostly wait) start first, and two more packages run than
# there are cores, so that the long ones never start last and the waiting
# ones overlap. TEST_JOBS sets the number.
#
# Usage: scripts/test-go.sh [go test flags...]
set -uo pipefail
jobs=${TEST_JOBS:-$(( $(nproc) + 2 ))}
slow_first=(
  ./cmd/gatehouse
  ./engine
  ./adapters/httpapi
  ./adapters/console/browsertest
  ./adapters/redis/sentineltest
  ./cmd/gatehouse/revocationtest
  ./client
)
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
export results
start=$SECONDS

run_one() {
  local pkg=$1; shift
  local log="$results/$(echo "$pkg" | tr '/' '_')"
  if go test "$@" "$pkg" >"$log.out" 2>&1; then
    touch "$log.pass"
  else
    touch "$log.fail"
  fi
  # One package's output at a time, whole.
  (
    flock 9
    if [ -e "$log.fail" ]; then cat "$log.out"; else grep -E '^(ok|---|\?|PASS|FAIL)' "$log.out" || cat "$log.out"; fi
  ) 9>>"$results/.lock"
}
export -f run_one

{ go list "${slow_first[@]}"; go list ./...; } | awk '!seen[$0]++' | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$@"
passed=$(find "$results" -name '*.pass' | wc -l)
failed=$(find "$results" -name '*.fail' | wc -l)
echo "go test: packages in $((SECONDS - start))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
