#!/usr/bin/env bash
# The whole test suite: unit tests, and integration tests against real processes and
# real cgroupfs (as root; without root those skip and say why).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
swift build
scripts/build-shim.sh
swift test
