#!/usr/bin/env bash
# Makes sure redis-server and redis-cli are on PATH: the Redis tests start their own servers on
# free ports, and join three of them into a Redis Cluster with redis-cli --cluster create.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
  exit 0
fi
echo "redis-server or redis-cli is missing: installing Debian's redis-server package (it brings redis-tools)" >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "error: redis-server and redis-cli are required by the tests and could not be installed." >&2
  echo "Install it (Debian/Ubuntu: apt-get install -y redis-server) and run make test again." >&2
  exit 1
fi
# Debian's package starts a service on 6379; the tests never use it.
echo "installed $(redis-server --version)" >&2
