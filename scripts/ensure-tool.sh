#!/usr/bin/env bash
# Makes sure COMMAND is on PATH, installing Debian's PACKAGE when it is
# missing; WHY says in the error what needs it.
# usage: scripts/ensure-tool.sh COMMAND PACKAGE WHY
set -euo pipefail
cmd=$1 pkg=$2 why=$3
if command -v "$cmd" >/dev/null 2>&1; then
  exit 0
fi
echo "$cmd is missing: installing Debian's $pkg package" >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
fi
if ! command -v "$cmd" >/dev/null 2>&1; then
  echo "error: $cmd is required by $why and could not be installed." >&2
  echo "Install it (Debian/Ubuntu: apt-get install -y $pkg) and run make test again." >&2
  exit 1
fi
echo "installed $pkg" >&2
