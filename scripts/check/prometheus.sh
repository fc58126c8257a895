#!/usr/bin/env bash
# Checks what the service gives Prometheus, with promtool (Debian's
# `prometheus` package): the rules in deploy/prometheus/ (`check rules`),
# their unit tests (`test rules`: series that fire each alert and series
# that do not), and a live /metrics of the release build after traffic
# that makes every series appear (`check metrics` must find nothing).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait.sh
./scripts/lib/ensure-deps.sh prometheus curl

promtool check rules deploy/prometheus/event-service.rules.yml
(cd deploy/prometheus && promtool test rules event-service.rules.test.yml)

swift build -c release --static-swift-stdlib --product event-service >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)/event-service"
port=${PROMETHEUS_CHECK_PORT:-3640}
dir=$(mktemp -d)
# Both breakers, kept answers and hedging on, and a mock that fails now and
# then: the breaker, cache, hedge and retry series all exist.
PORT=$port API_BASE=http://127.0.0.1:$((port + 1)) LOG_LEVEL=warning \
  READ_BREAKER_ENABLED=true STALE_IF_ERROR_MS=60000 CACHE_TTL_MS=200 HEDGE_ENABLED=true \
  MOCK="{\"PORT\":$((port + 1)),\"EVENT_DELAY_MS\":5,\"FAIL_DELAY_MS\":5,\"ERROR_RATE\":0.2}" \
  "$bin" >"$dir/service.log" 2>&1 &
service=$!
trap 'kill $service 2>/dev/null; wait $service 2>/dev/null || true; rm -rf "$dir"' EXIT
wait_http "http://127.0.0.1:$port/health"

base=http://127.0.0.1:$port
for i in $(seq 1 30); do
  curl -s -o /dev/null "$base/getUsers"
  curl -s -o /dev/null "$base/getEventsByUserId/$((i % 3 + 1))"
  curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"name":"check","userId":1}' "$base/addEvent"
done
curl -s -o /dev/null "$base/nowhere"
curl -sf "$base/metrics" >"$dir/metrics.txt"
problems=$(promtool check metrics <"$dir/metrics.txt" 2>&1) || true
if [ -n "$problems" ]; then
  echo "promtool check metrics:" >&2
  echo "$problems" >&2
  exit 1
fi
echo "promtool check metrics: nothing to say about $(grep -vc '^#' "$dir/metrics.txt") series"
