#!/usr/bin/env bash
# Makes sure Debian's chromium is installed: the console's browser tests
# (adapters/console/browsertest) drive it headless.
set -euo pipefail
exec "$(dirname "$0")/ensure-tool.sh" chromium chromium "the console's browser tests (adapters/console/browsertest)"
