#!/usr/bin/env bash
# Measures the service (release build) with wrk, the service pinned to CPU 0
# and wrk to CPU 1. Prints a summary; raw output goes to bench-results/.
#
#   scripts/bench.sh            # all sections
#   DURATION=5 scripts/bench.sh # shorter wrk runs
#
# Sections:
#   fanout  one request each for users with 1, 100 and 1000 events at the
#           mock's default 500 ms delay: wall time and the service's peak RSS
#   health  GET /health (no upstream): the service's own per-request cost
#   users   GET /getUsers (one upstream call per request, pooled keep-alive)
#   events  GET /getEventsByUserId/1 (two 500 ms event fetches, coalesced)
#   addevent POST /addEvent against the default mock cycle: once the breaker
#           is OPEN nearly every answer is an immediate 503 circuit_open
#   bigbody POST /addEvent with a 180 KB mostly-multibyte body, every one
#           accepted and forwarded to an external event-mock: the service's
#           CPU per request (from /proc/PID/schedstat, nanoseconds)
#   instr   instructions per request under callgrind (scripts/bench-instr.sh);
#           run it alone: scripts/bench.sh instr [--profile]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = instr ] && exec ./scripts/bench-instr.sh "${@:2}"
./scripts/ensure-deps.sh wrk curl bc
swift build -c release --product event-service >/dev/null
swift build -c release --product event-mock >/dev/null

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${BENCH_PORT:-3100}
MOCK_PORT=${BENCH_MOCK_PORT:-3101}
SECTIONS=${*:-fanout health users events addevent bigbody}
mkdir -p bench-results
out=bench-results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results: $out"

PORT=$PORT LOG_LEVEL=${LOG_LEVEL:-warning} API_BASE=http://127.0.0.1:$MOCK_PORT \
  MOCK="{\"PORT\":$MOCK_PORT,\"ERROR_RATE\":0,\"EXTRA_USERS\":[{\"id\":\"u100\",\"events\":100},{\"id\":\"u1000\",\"events\":1000}]}" \
  taskset -c 0 .build/release/event-service >"$out/service.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "localhost:$PORT/health" >/dev/null && break; sleep 0.05; done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
cpu_ns() { cut -d' ' -f1 "/proc/$1/schedstat"; }

# POST bodies of 180 KB to a second service whose upstream is an external
# event-mock that accepts every event, so only the service's own work counts.
bigbody() {
  local port=$((PORT + 10)) mock_port=$((PORT + 11)) mock_pid big_pid
  taskset -c 1 .build/release/event-mock --port "$mock_port" --ok-count 1000000000 --fail-count 0 \
    >"$out/bigbody-mock.log" 2>&1 &
  mock_pid=$!
  PORT=$port LOG_LEVEL=warning MAX_BODY_BYTES=262144 API_BASE=http://127.0.0.1:$mock_port \
    MOCK='{"ENABLED":false}' taskset -c 0 .build/release/event-service >"$out/bigbody.log" 2>&1 &
  big_pid=$!
  for _ in $(seq 100); do curl -sf "localhost:$port/health" >/dev/null && break; sleep 0.05; done
  local wrk_args=(-t1 -c4 -s scripts/bench-bigbody.lua "http://127.0.0.1:$port/addEvent")
  taskset -c 1 wrk -d1s "${wrk_args[@]}" >/dev/null
  local before after requests
  before=$(cpu_ns $big_pid)
  taskset -c 1 wrk -d"${DURATION}s" --latency "${wrk_args[@]}" >"$out/bigbody.txt"
  after=$(cpu_ns $big_pid)
  requests=$(awk '/requests in/ {print $1}' "$out/bigbody.txt")
  printf '== bigbody POST /addEvent, 180 KB multibyte: %s requests, %s µs service CPU/request  %s\n' \
    "$requests" "$(echo "scale=1; ($after - $before) / 1000 / $requests" | bc)" \
    "$(grep -E "Non-2xx|Socket errors" "$out/bigbody.txt" | tr '\n' ' ' || true)"
  kill "$big_pid" "$mock_pid"
  wait "$big_pid" "$mock_pid" 2>/dev/null || true
}
rss_kib() { awk "/^$1:/ {print \$2}" "/proc/$pid/status"; }

for section in $SECTIONS; do
  case $section in
  fanout)
    echo "== fanout: /getEventsByUserId at EVENT_DELAY_MS 500 (cold, then warm pool)"
    for user in 1 u100 u1000; do
      for run in cold warm; do
        t=$(curl -s -o "$out/fanout-$user.json" -w '%{time_total}' "localhost:$PORT/getEventsByUserId/$user")
        n=$(grep -o '"name"' "$out/fanout-$user.json" | wc -l)
        printf '  user %-6s %-5s %4d events  %6.0f ms\n' "$user" "$run" "$n" "$(echo "$t * 1000" | bc)"
      done
    done
    echo "  service RSS now $(( $(rss_kib VmRSS) / 1024 )) MiB, peak $(( $(rss_kib VmHWM) / 1024 )) MiB"
    ;;
  bigbody) bigbody ;;
  health | users | events | addevent)
    script=()
    case $section in
      health) path=/health ;;
      users) path=/getUsers ;;
      events) path=/getEventsByUserId/1 ;;
      addevent) path=/addEvent; script=(-s scripts/bench-addevent.lua) ;;
    esac
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s "${script[@]}" "http://127.0.0.1:$PORT$path" >/dev/null
    before=$(cpu_ticks)
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${script[@]}" "http://127.0.0.1:$PORT$path" >"$out/$section.txt"
    after=$(cpu_ticks)
    requests=$(awk '/requests in/ {print $1}' "$out/$section.txt")
    rps=$(awk '/Requests\/sec/ {print $2}' "$out/$section.txt")
    p50=$(awk '/ 50%/ {print $2}' "$out/$section.txt")
    p99=$(awk '/ 99%/ {print $2}' "$out/$section.txt")
    errors=$(grep -E "Non-2xx|Socket errors" "$out/$section.txt" | tr '\n' ' ' || true)
    cpu_us=$(echo "scale=1; ($after - $before) * 10000 / $requests" | bc)
    printf '== %-6s %-22s %10s req/s  p50 %-8s p99 %-8s  %s µs CPU/request  %s\n' \
      "$section" "$path" "$rps" "$p50" "$p99" "$cpu_us" "$errors"
    ;;
  *) echo "unknown section $section" >&2; exit 2 ;;
  esac
done
echo "service peak RSS $(( $(rss_kib VmHWM) / 1024 )) MiB"
