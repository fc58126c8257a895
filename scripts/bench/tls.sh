#!/usr/bin/env bash
# What TLS to the upstream costs, against plain HTTP to the same event-mock
# (run through `scripts/bench.sh tls`, or `scripts/bench.sh instr --tls` for
# the instruction counts alone).
#
# Instructions (callgrind, as scripts/bench/instr.sh counts them: the
# service process only, ÷ requests served):
#   - GET /getUsers on a warm keep-alive connection, plain and TLS;
#   - POST /addEvent, accepted: every one on a new upstream connection (a
#     write never reuses one), plain, TLS resuming a session, and TLS against
#     a mock that resumes none (every handshake full). The difference to
#     plain is the handshake's cost;
#   - GET /getEventsByUserId of a user with 1,000 events, once right after
#     start (cold: 1,000 new connections) and then warm (pooled), plain and TLS.
# Wall clock (unless INSTR_ONLY=1): /getUsers throughput with wrk, and the
# 1,000-event fan-out's latency cold and warm at 500 ms per event, plain and
# TLS. The service on CPU 0, the mock and wrk on CPU 1.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait.sh
. scripts/lib/bench.sh
./scripts/lib/ensure-deps.sh wrk curl valgrind openssl
SECONDS_PER_RUN=${INSTR_SECONDS:-3}
PORT=${BENCH_PORT:-3170}
out=bench-results/tls-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
swift build -c release --static-swift-stdlib --product event-service >/dev/null
swift build -c release --static-swift-stdlib --product event-mock >/dev/null
BIN=$(swift build -c release --static-swift-stdlib --show-bin-path)
strip --strip-debug -o "$out/event-service" "$BIN/event-service"
tls="$out/tls"
./scripts/dev/tls-demo.sh "$tls" >/dev/null
echo "machine: $(machine)"
echo "results: $out"

# mock NAME PORT DELAY_MS [flags]: an event-mock on CPU 1 whose writes all
# succeed, and which waits 10 minutes on its clients (under callgrind the
# service takes longer than the default 10 s to send its requests on a
# thousand new TLS connections, and the mock would close them).
mock() {
  local name=$1 port=$2 delay=$3
  shift 3
  taskset -c 1 "$BIN/event-mock" --port "$port" --error-rate 0 --event-delay-ms "$delay" \
    --ok-count 1000000000 --fail-count 0 --client-timeout-ms 600000 "$@" >"$out/mock-$name.log" 2>&1 &
  pids+=($!)
}
TLS_FLAGS=(--tls-cert "$tls/localhost.pem" --tls-key "$tls/localhost.key")
# The seed data (a small /getUsers) for the per-request counts; a user with
# 1,000 events, on mocks of their own, for the fan-out.
mock plain $((PORT + 1)) 5
mock tls $((PORT + 2)) 5 "${TLS_FLAGS[@]}"
mock full $((PORT + 3)) 5 "${TLS_FLAGS[@]}" --tls-no-resumption
mock plain-big $((PORT + 4)) 5 --extra-user big:1000
mock tls-big $((PORT + 5)) 5 "${TLS_FLAGS[@]}" --extra-user big:1000
for p in 1 4; do wait_http "http://127.0.0.1:$((PORT + p))/getUsers"; done
for p in 2 3 5; do wait_http "https://localhost:$((PORT + p))/getUsers"; done

# service API_BASE [VAR=value ...]: the service under callgrind on CPU 0;
# sets $service.
service() {
  local base=$1
  shift
  env PORT=$PORT LOG_LEVEL=warning COALESCE_GETS=false UPSTREAM_TIMEOUT_MS=120000 \
    API_BASE="$base" UPSTREAM_CA_FILE="$tls/ca.pem" MOCK='{"ENABLED":false}' "$@" \
    taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out.%p" \
    "$out/event-service" >>"$out/service.log" 2>&1 &
  service=$!
  pids+=($service)
  dumps=0
  wait_http "http://127.0.0.1:$PORT/health"
}
stop_service() {
  kill "$service"
  wait "$service" 2>/dev/null || true
}

# TLS handshakes so far, "full resumed", from /metrics.
handshakes() {
  curl -s "http://127.0.0.1:$PORT/metrics" | awk '
    /tls_handshakes_total\{session="full"\}/ { full = $2 }
    /tls_handshakes_total\{session="resumed"\}/ { resumed = $2 }
    END { printf "%d %d", full, resumed }'
}

# count LABEL WARMUP COMMAND...: instructions per request of the service
# while COMMAND runs (it prints the number of requests it made), after
# WARMUP (a command, or ""), and the new TLS connections COMMAND took.
count() {
  local label=$1 warmup=$2
  shift 2
  [ -n "$warmup" ] && $warmup >/dev/null
  local requests before after
  before=$(handshakes)
  callgrind_control -z "$service" >/dev/null 2>&1
  requests=$("$@")
  callgrind_control -d "$service" >/dev/null 2>&1
  after=$(handshakes)
  dumps=$((dumps + 1))
  local dump="$out/callgrind.out.$service.$dumps"
  for _ in $(seq 100); do [ -s "$dump" ] && break; sleep 0.1; done
  local instructions
  instructions=$(awk '/^summary:/ {print $2}' "$dump")
  results["$label"]=$((instructions / requests))
  read -r f0 r0 <<<"$before"
  read -r f1 r1 <<<"$after"
  printf '| %s | %s | %s | %s / %s |\n' "$label" "$requests" "${results[$label]}" $((f1 - f0)) $((r1 - r0))
}
wrk_args() { # PATH [script]
  local args=(-t1 "-c${WRK_CONNECTIONS:-16}")
  [ -n "${2:-}" ] && args+=(-s "$2")
  echo "${args[@]}"
}
wrk_warm() { # PATH [script]
  # shellcheck disable=SC2046
  wrk $(wrk_args "$@") -d2s "http://127.0.0.1:$PORT$1"
}
wrk_requests() { # PATH [script]
  # shellcheck disable=SC2046
  wrk $(wrk_args "$@") -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:$PORT$1" >"$out/wrk.txt"
  awk '/requests in/ {print $1}' "$out/wrk.txt"
}
one_request() { # PATH
  curl -s -o /dev/null -m 600 "http://127.0.0.1:$PORT$1"
  echo 1
}

declare -A results
echo
echo "| instructions per request | requests | instructions | new TLS connections, full / resumed |"
echo "|---|---:|---:|---:|"
for kind in plain tls full; do
  case $kind in
    plain) base="http://127.0.0.1:$((PORT + 1))" ;;
    tls) base="https://localhost:$((PORT + 2))" ;;
    full) base="https://localhost:$((PORT + 3))" ;;
  esac
  # At most 16 upstream connections, all opened by a warm-up with more
  # clients than that: the measured run (16 clients) opens none.
  service "$base" UPSTREAM_MAX_CONNECTIONS=16
  [ "$kind" != full ] && WRK_CONNECTIONS=32 wrk_warm /getUsers >/dev/null
  [ "$kind" != full ] && count "$kind: GET /getUsers, keep-alive" "wrk_warm /getUsers" wrk_requests /getUsers
  # One at a time: every POST opens a new upstream connection, which
  # resumes the session the one before it left.
  WRK_CONNECTIONS=1 count "$kind: POST /addEvent, new connection" \
    "wrk_warm /addEvent scripts/bench/addevent.lua" wrk_requests /addEvent scripts/bench/addevent.lua
  stop_service
done
for kind in plain tls; do
  if [ $kind = plain ]; then base="http://127.0.0.1:$((PORT + 4))"; else base="https://localhost:$((PORT + 5))"; fi
  service "$base"
  count "$kind: fan-out 1,000 events, cold" "" one_request /getEventsByUserId/big
  count "$kind: fan-out 1,000 events, warm" "" one_request /getEventsByUserId/big
  stop_service
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo
echo "| TLS against plain | value |"
echo "|---|---:|"
echo "| /getUsers keep-alive, TLS ÷ plain | $(ratio "${results[tls: GET /getUsers, keep-alive]}" "${results[plain: GET /getUsers, keep-alive]}") |"
echo "| resumed handshake (POST on a new connection, TLS − plain) | $((results[tls: POST /addEvent, new connection] - results[plain: POST /addEvent, new connection])) |"
echo "| full handshake (the same, against a mock that resumes nothing) | $((results[full: POST /addEvent, new connection] - results[plain: POST /addEvent, new connection])) |"
echo "| 1,000-event fan-out warm, TLS ÷ plain | $(ratio "${results[tls: fan-out 1,000 events, warm]}" "${results[plain: fan-out 1,000 events, warm]}") |"
echo "| 1,000-event fan-out cold, TLS ÷ plain | $(ratio "${results[tls: fan-out 1,000 events, cold]}" "${results[plain: fan-out 1,000 events, cold]}") |"
[ "${INSTR_ONLY:-0}" = 1 ] && exit 0

# Wall clock, natively: /getUsers throughput against the seed data, and the
# fan-out against mocks with the real 500 ms per event.
cleanup
pids=()
mock plain-seed $((PORT + 1)) 500
mock tls-seed $((PORT + 2)) 500 "${TLS_FLAGS[@]}"
mock plain-500 $((PORT + 6)) 500 --extra-user big:1000
mock tls-500 $((PORT + 7)) 500 "${TLS_FLAGS[@]}" --extra-user big:1000
for p in 1 6; do wait_http "http://127.0.0.1:$((PORT + p))/getUsers"; done
for p in 2 7; do wait_http "https://localhost:$((PORT + p))/getUsers"; done
native() { # API_BASE
  env PORT=$PORT LOG_LEVEL=warning COALESCE_GETS=false API_BASE="$1" UPSTREAM_CA_FILE="$tls/ca.pem" \
    MOCK='{"ENABLED":false}' taskset -c 0 "$BIN/event-service" >>"$out/service.log" 2>&1 &
  service=$!
  pids+=($service)
  wait_http "http://127.0.0.1:$PORT/health"
}
echo
echo "| wall clock | plain | TLS |"
echo "|---|---:|---:|"
declare -A wall
for kind in plain tls; do
  if [ $kind = plain ]; then base="http://127.0.0.1"; seed=1; big=6; else base="https://localhost"; seed=2; big=7; fi
  native "$base:$((PORT + seed))"
  taskset -c 1 wrk -t1 -c64 -d"${DURATION:-10}s" "http://127.0.0.1:$PORT/getUsers" >"$out/wrk-$kind.txt"
  wall["$kind rps"]=$(awk '/Requests\/sec/ {print $2}' "$out/wrk-$kind.txt")
  stop_service
  native "$base:$((PORT + big))"
  wall["$kind cold"]=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/getEventsByUserId/big")
  wall["$kind warm"]=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/getEventsByUserId/big")
  stop_service
done
echo "| GET /getUsers, requests/s (wrk -c64) | ${wall[plain rps]} | ${wall[tls rps]} |"
echo "| 1,000-event fan-out, cold (s) | ${wall[plain cold]} | ${wall[tls cold]} |"
echo "| 1,000-event fan-out, warm (s) | ${wall[plain warm]} | ${wall[tls warm]} |"
