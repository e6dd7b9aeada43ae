#!/usr/bin/env bash
# Makes sure promtool is on PATH, installing Debian's prometheus package when it is missing:
# cmd/gatehouse's TestMetricsPassPromtool pipes a real server's /metrics to
# `promtool check metrics`, and fails without it.
set -euo pipefail
exec "$(dirname "$0")/ensure-tool.sh" promtool prometheus "cmd/gatehouse's TestMetricsPassPromtool (promtool check metrics)"
