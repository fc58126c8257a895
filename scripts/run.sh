#!/usr/bin/env bash
# Builds a release binary and starts the service on :3000 with the embedded
# mock event API on :3001 (see config.json). Extra arguments go to the service.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/ensure-deps.sh
swift build -c release --product event-service
exec .build/release/event-service "$@"
