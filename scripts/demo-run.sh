#!/usr/bin/env bash
# `make run`: the demo server on one address, with a fresh embedded store of
# testdata/demo.json in a directory of its own ($root/<address>/data), and
# its decision log beside it ($root/<address>/decisions.log, for `gatehouse
# policy replay` in the README). While a
# demo runs on an address, another `make run` on it refuses and deletes
# nothing: the running server holds a lock on its directory until it exits.
#
# usage: scripts/demo-run.sh BIN ADDR ROOT SECRET_FILE
set -euo pipefail
bin=$1 addr=$2 root=$3 secret=$4
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/$(printf %s "$addr" | tr -c 'A-Za-z0-9.-' '_')

refuse() {
	echo "make run: $1" >&2
	echo "  Stop it with Ctrl-C in its terminal${2:+ (or: kill $2)}, or start a demo on another address:" >&2
	echo "  make run ADDR=127.0.0.1:8281" >&2
	exit 1
}

mkdir -p "$dir"
exec 9>>"$dir/lock"
if ! flock -n 9; then
	pid=$(cat "$dir/pid" 2>/dev/null || true)
	refuse "a gatehouse demo already runs on $addr${pid:+ (pid $pid)}, with its data in $dir." "$pid"
fi

host=${addr%:*} port=${addr##*:}
host=${host#\[} host=${host%\]}
if timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "${host:-127.0.0.1}" "$port" 2>/dev/null; then
	refuse "something already listens on $addr (a demo started elsewhere, or another program)."
fi

rm -rf "$dir/data" "$dir/decisions.log"
"$bin" seed "$repo/testdata/demo.json" --store embedded --data-dir "$dir/data"
"$repo/scripts/demo-help.sh" "$addr" "$secret" "$dir"
echo $$ >"$dir/pid"
# exec keeps this process, its pid and the lock on fd 9 for the server.
exec "$bin" serve --store embedded --data-dir "$dir/data" --addr "$addr" \
	--jwt-hs256-secret-file "$secret" --console-dev-sign-in --system-admins ops --decision-log "$dir/decisions.log"
