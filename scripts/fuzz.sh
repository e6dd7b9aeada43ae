#!/usr/bin/env bash
# Runs every Go fuzz target of the project briefly: go test -fuzz takes one target at a time.
#
# Go 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" when -fuzztime ends while a worker is mid-call on a busy machine
# (golang/go#75804, fixed in Go 1.27): no input is written, nothing was
# found. Such a run is replayed (the seed corpus and testdata/fuzz, with
# -run) and fuzzed once more; a written failing input, a failing replay or a
# second failure of any kind fails the script.
set -euo pipefail
fuzztime=${1:-5s}
bare_deadline() {
  grep -q 'context deadline exceeded' "$1" && ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$1"
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' || true)
  for t in $targets; do
    echo "fuzz $pkg $t ($fuzztime)"
    if go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
      continue
    fi
    bare_deadline "$log" || exit 1
    echo "fuzz $pkg $t: the coordinator's deadline race (golang/go#75804), no input found: replaying the corpus, then fuzzing again"
    go test -run "^${t}\$" "$pkg"
    go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg"
  done
done
