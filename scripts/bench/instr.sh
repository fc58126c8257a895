#!/usr/bin/env bash
# Instructions per request, counted by callgrind: repeatable to well under 1 %
# on a busy machine, where wall-clock numbers swing by a third. Run through
# `scripts/bench.sh instr [--profile]`.
#
# The service (a copy of the release binary without debug sections: valgrind
# 3.19 cannot read Swift's DWARF 5) runs under callgrind in front of an
# external event-mock, COALESCE_GETS false, LOG_LEVEL warning. For each
# request kind: warm up with wrk, zero the counters, a fixed wrk run, dump;
# instructions of the service process ÷ requests served.
#
# --profile builds with DWARF 4 instead and keeps the callgrind files in
# bench-results/ for callgrind_annotate. INSTR_ENV adds environment to the
# service under test, e.g. INSTR_ENV="GLIBC_TUNABLES=glibc.malloc.tcache_count=200"
# or INSTR_ENV="LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2" to
# compare allocators.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait.sh
./scripts/lib/ensure-deps.sh wrk curl valgrind
PROFILE=0
[ "${1:-}" = "--profile" ] && PROFILE=1
SECONDS_PER_RUN=${INSTR_SECONDS:-3}
PORT=${BENCH_PORT:-3150}
MOCK_PORT=$((PORT + 1))
out=bench-results/instr-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"

if [ "$PROFILE" = 1 ]; then
  swift build -c release --static-swift-stdlib --product event-service --scratch-path .build-profile \
    -Xswiftc -g -Xswiftc -dwarf-version=4 -Xcc -gdwarf-4 >/dev/null
  cp "$(swift build -c release --static-swift-stdlib --scratch-path .build-profile --show-bin-path)/event-service" "$out/event-service"
else
  swift build -c release --static-swift-stdlib --product event-service >/dev/null
  strip --strip-debug -o "$out/event-service" "$(swift build -c release --static-swift-stdlib --show-bin-path)/event-service"
fi
swift build -c release --static-swift-stdlib --product event-mock >/dev/null

# Every /addEvent fails upstream, so three of them open the breaker, which
# then stays OPEN for the whole run: the rejected path.
.build/release/event-mock --port "$MOCK_PORT" --error-rate 0 --event-delay-ms 5 \
  --ok-count 0 --fail-count 1000000000 --fail-delay-ms 1 >"$out/mock.log" 2>&1 &
mock=$!
env PORT=$PORT LOG_LEVEL=warning COALESCE_GETS=false BACKOFF_MS=3600000 BACKOFF_MAX_MS=3600000 \
  API_BASE=http://127.0.0.1:$MOCK_PORT MOCK='{"ENABLED":false}' \
  ${INSTR_ENV:-} valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out.%p" "$out/event-service" \
  >"$out/service.log" 2>&1 &
service=$!
trap 'kill $service $mock 2>/dev/null; wait $service $mock 2>/dev/null || true' EXIT
wait_http "http://127.0.0.1:$PORT/health" 120
for _ in 1 2 3; do
  curl -s -o /dev/null -X POST "localhost:$PORT/addEvent" -H 'Content-Type: application/json' \
    -d '{"name":"bench","userId":1}'
done

dumps=0
echo "| request | requests | instructions / request |"
echo "|---|---:|---:|"
measure() {
  local label=$1 slug=$2 path=$3 script=${4:-}
  local args=(-t1 -c16)
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" -d1s "http://127.0.0.1:$PORT$path" >/dev/null
  callgrind_control -z "$service" >/dev/null 2>&1
  wrk "${args[@]}" -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:$PORT$path" >"$out/$slug.txt"
  callgrind_control -d "$service" >/dev/null 2>&1
  dumps=$((dumps + 1))
  local dump="$out/callgrind.out.$service.$dumps"
  for _ in $(seq 50); do [ -s "$dump" ] && break; sleep 0.1; done
  local requests instructions
  requests=$(awk '/requests in/ {print $1}' "$out/$slug.txt")
  instructions=$(awk '/^summary:/ {print $2}' "$dump")
  printf '| %s | %s | %s |\n' "$label" "$requests" "$((instructions / requests))"
}
measure "GET /health" health /health
measure "POST /addEvent, 503 circuit_open" addevent /addEvent scripts/bench/addevent.lua
measure "GET /getUsers" users /getUsers
measure "GET /getEventsByUserId/1" events /getEventsByUserId/1
measure "GET /metrics" metrics /metrics
if [ "$PROFILE" = 1 ]; then
  echo "callgrind files: $out (callgrind_annotate $out/callgrind.out.$service.N)"
fi
