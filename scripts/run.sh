#!/usr/bin/env bash
# Builds a release binary and starts the service on :3000 with the embedded
# mock event API on :3001 (see config.json). Extra arguments go to the service.
#   --tls   the mock serves HTTPS and the service verifies it against a
#           throwaway CA and sends an API key from a file (scripts/dev/tls-demo.sh)
# EVENT_SERVICE_BIN_DIR: run the event-service found there, without building.
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
for arg in "$@"; do
  if [ "$arg" = "--tls" ]; then
    args+=(--config "$(./scripts/dev/tls-demo.sh "${TLS_DEMO_DIR:-.tls-demo}")")
  else
    args+=("$arg")
  fi
done
if [ -n "${EVENT_SERVICE_BIN_DIR:-}" ]; then
  exec "$EVENT_SERVICE_BIN_DIR/event-service" "${args[@]}"
fi
./scripts/lib/ensure-deps.sh
swift build -c release --static-swift-stdlib --product event-service
exec .build/release/event-service "${args[@]}"
