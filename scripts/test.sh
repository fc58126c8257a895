#!/usr/bin/env bash
# Installs what is missing, then runs the whole test suite. Tests that start
# event-service or event-mock as a process run the release binaries (what
# ./scripts/run.sh starts and users run), built here first.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/lib/ensure-deps.sh openssl redis-server
swift build -c release --static-swift-stdlib --product event-service
swift build -c release --static-swift-stdlib --product event-mock
EVENT_SERVICE_BIN_DIR="$(swift build -c release --static-swift-stdlib --show-bin-path)"
export EVENT_SERVICE_BIN_DIR
swift build --build-tests
swift test --skip-build "$@"
