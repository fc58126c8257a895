#!/usr/bin/env bash
# What following /status/stream costs the service, per connected viewer:
# instructions per second (callgrind, over STATUS_SECONDS of idle service
# with 0, 1 and 20 viewers) and resident memory (the release binary with 0
# and 64 viewers, the most it serves). Run through `scripts/bench.sh status`.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait.sh
./scripts/lib/ensure-deps.sh curl valgrind
PORT=${BENCH_PORT:-3170}
MOCK_PORT=$((PORT + 1))
SECONDS_PER_RUN=${STATUS_SECONDS:-10}
out=bench-results/status-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
swift build -c release --static-swift-stdlib --product event-service >/dev/null
swift build -c release --static-swift-stdlib --product event-mock >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)"
strip --strip-debug -o "$out/event-service" "$bin/event-service"
"$bin/event-mock" --port "$MOCK_PORT" >"$out/mock.log" 2>&1 &
mock=$!
viewers=()
service=
cleanup() {
  kill "${viewers[@]}" $service $mock 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
run_service() {
  env PORT=$PORT LOG_LEVEL=warning API_BASE=http://127.0.0.1:$MOCK_PORT MOCK='{"ENABLED":false}' "$@" \
    >"$out/service.log" 2>&1 &
  service=$!
  wait_http "http://127.0.0.1:$PORT/health" 120
}
watch() { # N: connect N viewers that read everything
  for _ in $(seq "$1"); do
    curl -sN "http://127.0.0.1:$PORT/status/stream" >/dev/null &
    viewers+=($!)
  done
  sleep 1
}
stop_viewers() {
  [ ${#viewers[@]} -eq 0 ] || kill "${viewers[@]}" 2>/dev/null || true
  viewers=()
  sleep 1
}

# Instructions: the same service under callgrind, idle but for the viewers.
run_service valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out.%p" "$out/event-service"
dumps=0
counted=0
count() { # instructions in the next SECONDS_PER_RUN seconds, into $counted
  callgrind_control -z "$service" >/dev/null 2>&1
  sleep "$SECONDS_PER_RUN"
  callgrind_control -d "$service" >/dev/null 2>&1
  dumps=$((dumps + 1))
  local dump="$out/callgrind.out.$service.$dumps"
  for _ in $(seq 50); do [ -s "$dump" ] && break; sleep 0.1; done
  counted=$(awk '/^summary:/ {print $2}' "$dump")
}
count
none=$counted
watch 1
count
one=$counted
stop_viewers
watch 20
count
twenty=$counted
stop_viewers
kill $service
wait $service 2>/dev/null || true
per_viewer=$(((twenty - one) / 19 / SECONDS_PER_RUN))
snapshot=$(((one - none) / SECONDS_PER_RUN - per_viewer))
echo "| viewers | instructions / s |"
echo "|---:|---:|"
echo "| 0 | $((none / SECONDS_PER_RUN)) |"
echo "| 1 | $((one / SECONDS_PER_RUN)) |"
echo "| 20 | $((twenty / SECONDS_PER_RUN)) |"
echo
echo "per viewer: $per_viewer instructions / s; the snapshot built once a second for all: $snapshot instructions / s"

# Memory: the release binary itself.
rss() { awk '/^VmRSS/ {print $2}' "/proc/$service/status"; }
run_service "$bin/event-service"
watch 1
stop_viewers
before=$(rss)
watch 64
after=$(rss)
echo "resident memory: $before KiB with no viewer, $after KiB with 64: $(((after - before) / 64)) KiB per viewer"
