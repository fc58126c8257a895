#!/usr/bin/env bash
# Checks docs/openapi.yaml (openapi-spec-validator) and fuzzes the live
# release build against it with schemathesis: every operation (but the
# never-ending GET /status/stream, which the status tests cover), all of its
# checks (no server errors, documented statuses, headers and content types,
# responses valid against their schemas, 405 with Allow for undocumented
# methods), a fixed seed, bounded in time (the run takes about 3.5 minutes
# on these machines; API_FUZZ_LOG_LEVEL=info keeps the request log).
#
# The embedded mock runs with small delays, ERROR_RATE 0 and a write path
# that never fails, so any 5xx is the service's own fault; the failing
# upstream's 502/503 paths are covered by the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait.sh
./scripts/lib/ensure-deps.sh curl python3-pip
python3 -m pip install --quiet --disable-pip-version-check \
  "schemathesis==${SCHEMATHESIS_VERSION:-4.32.5}" "openapi-spec-validator==${VALIDATOR_VERSION:-0.9.0}" \
  2>/dev/null || python3 -m pip install --quiet --break-system-packages --disable-pip-version-check \
  "schemathesis==${SCHEMATHESIS_VERSION:-4.32.5}" "openapi-spec-validator==${VALIDATOR_VERSION:-0.9.0}"
openapi-spec-validator docs/openapi.yaml

swift build -c release --static-swift-stdlib --product event-service >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/event-service"
port=${API_FUZZ_PORT:-3620}
PORT=$port LOG_LEVEL=${API_FUZZ_LOG_LEVEL:-warning} API_BASE=http://127.0.0.1:$((port + 1)) \
  MOCK="{\"PORT\":$((port + 1)),\"ERROR_RATE\":0,\"EVENT_DELAY_MS\":5,\"FAIL_DELAY_MS\":5,\"OK_COUNT\":1000000,\"FAIL_COUNT\":0}" \
  "$bin" >/tmp/api-fuzz-service.log 2>&1 &
service=$!
trap 'kill $service 2>/dev/null; wait $service 2>/dev/null || true' EXIT
wait_http "http://127.0.0.1:$port/health"

timeout "${API_FUZZ_SECONDS:-300}" schemathesis --config-file scripts/check/schemathesis.toml run docs/openapi.yaml \
  --url "http://127.0.0.1:$port" --exclude-operation-id statusStream --checks all --seed "${API_FUZZ_SEED:-1}" \
  --max-examples "${API_FUZZ_EXAMPLES:-800}" --request-timeout 5 --no-color
kill -0 $service || { echo "the service died during the run" >&2; exit 1; }
