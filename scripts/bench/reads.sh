#!/usr/bin/env bash
# Reads through outages and overload (SPEC §7), on the release build with an
# external event-mock: `scripts/bench.sh outage blackhole overload fanlimit`
# (all four by default). Prints a markdown table per section and writes the
# raw numbers to bench-results/reads-<time>/.
#
#   outage     10 s of /getUsers and /getEventsByUserId/1 load, then the mock
#              fails every request for 30 s, then 10 s more: with
#              STALE_IF_ERROR_MS and READ_BREAKER_ENABLED on, then both off
#   blackhole  an upstream that accepts and never answers: /getUsers with the
#              default deadline and with REQUEST_TIMEOUT_MS 1000
#   overload   MAX_INFLIGHT 1000 and 5,000 clients asking for a slow user,
#              honouring Retry-After (4,800 of them wrk); shed and admitted
#              latencies, peak RSS, /health meanwhile
#   fanlimit   a 1,000-event user (50 ms lookups) with FANOUT_CONCURRENCY 0,
#              100 and 10: answer time and the mock's peak concurrent requests
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait.sh
. scripts/lib/bench.sh
./scripts/lib/ensure-deps.sh curl
swift build -c release --static-swift-stdlib --product event-service >/dev/null
swift build -c release --static-swift-stdlib --product event-mock >/dev/null
BIN=$(swift build -c release --static-swift-stdlib --show-bin-path)
PORT=${BENCH_PORT:-3300}
SECTIONS=${*:-outage blackhole overload fanlimit}
out=bench-results/reads-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
echo "machine: $(machine)"
echo "results: $out"
ulimit -n 65536 2>/dev/null || true

# start_mock [event-mock flags]: sets $mock and $mock_port.
start_mock() {
  mock_port=$((PORT + 1))
  taskset -c 1 "$BIN/event-mock" --port "$mock_port" --error-rate 0 "$@" >>"$out/mock.log" 2>&1 &
  mock=$!
  pids+=($mock)
  wait_http "http://127.0.0.1:$mock_port/getUsers"
}

# start_service NAME [VAR=value ...]: sets $service; API_BASE defaults to the mock.
start_service() {
  local name=$1
  shift
  env PORT="$PORT" LOG_LEVEL=warning MOCK='{"ENABLED":false}' \
    API_BASE="http://127.0.0.1:${mock_port}" "$@" \
    taskset -c 0 "$BIN/event-service" >"$out/service-$name.log" 2>&1 &
  service=$!
  pids+=($service)
  wait_http "http://127.0.0.1:$PORT/health"
}

stop() { for p in "$@"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

outage() {
  echo
  echo "### Outage drill: 10 s of load, the upstream failing every request for 30 s, 10 s after (16 clients, 20 requests/s each)"
  echo
  echo "| stale + read breaker | before: ok | outage: ok (stale) | upstream requests in the outage | after: ok | first fresh answer after recovery |"
  echo "|---|---:|---:|---:|---:|---:|"
  start_mock
  for mode in on off; do
    if [ $mode = on ]; then
      start_service outage-on STALE_IF_ERROR_MS=60000 READ_BREAKER_ENABLED=true
    else
      start_service outage-off
    fi
    python3 scripts/bench/reads.py outage "$PORT" "$mock_port" 10 30 10 16 >"$out/outage-$mode.json"
    stop "$service"
    json "$out/outage-$mode.json" "'| $mode | %s %% | %s %% (%d) | %d | %s %% | %s s |' % (d['before']['ok_percent'], d['outage']['ok_percent'], d['outage']['stale'], d['upstream_requests_during_outage'], d['after']['ok_percent'], d['first_fresh_after_s'])"
  done
  stop "$mock"
}

blackhole() {
  echo
  echo "### Black hole: an upstream that accepts and never answers; 20 x /getUsers at once, 3 rounds"
  echo
  echo "| REQUEST_TIMEOUT_MS | statuses | p50 | p100 |"
  echo "|---|---|---:|---:|"
  mock_port=$((PORT + 1))
  python3 scripts/bench/reads.py blackhole "$mock_port" &
  local hole=$!
  pids+=($hole)
  sleep 0.5
  for deadline in 10000 1000; do
    start_service "blackhole-$deadline" REQUEST_TIMEOUT_MS=$deadline
    python3 scripts/bench/reads.py latency "$PORT" /getUsers 20 3 >"$out/blackhole-$deadline.json"
    stop "$service"
    json "$out/blackhole-$deadline.json" "'| $deadline | %s | %s ms | %s ms |' % (d['statuses'], d['p50_ms'], d['p100_ms'])"
  done
  stop "$hole"
}

overload() {
  echo
  echo "### Overload: MAX_INFLIGHT 1000; 5,000 clients ask for /getEventsByUserId/1 (about 500 ms) for 15 s"
  echo
  echo "Every client honours Retry-After (a shed client waits 1 s): 4,800 are wrk connections,"
  echo "200 are Python clients whose answers are timed one by one; a probe, a process of"
  echo "its own on its own connection, times the same path and /health every 20 ms."
  echo
  ./scripts/lib/ensure-deps.sh wrk
  start_mock
  start_service unloaded
  python3 scripts/bench/reads.py latency "$PORT" /getEventsByUserId/1 1 5 >"$out/overload-unloaded.json"
  stop "$service"
  start_service overload MAX_INFLIGHT=1000 ${OVERLOAD_ENV:-}
  local cpu_before started
  cpu_before=$(cut -d' ' -f1 "/proc/$service/schedstat")
  started=$(date +%s%N)
  taskset -c 1 wrk -t 2 -c 4800 -d 16s --timeout 10s -s scripts/bench/retry-after.lua \
    "http://127.0.0.1:$PORT/getEventsByUserId/1" \
    >"$out/overload-wrk.txt" 2>&1 &
  local load=$!
  pids+=($load)
  sleep 1
  taskset -c 1 nice -n -15 python3 scripts/bench/reads.py probe "$PORT" /getEventsByUserId/1 13 >"$out/overload-probe.json" &
  local probe=$!
  python3 scripts/bench/reads.py overload "$PORT" /getEventsByUserId/1 200 14 >"$out/overload.json"
  wait "$load" "$probe" || true
  local rss shed busy
  busy=$(( ($(cut -d' ' -f1 "/proc/$service/schedstat") - cpu_before) * 100 / ($(date +%s%N) - started) ))
  rss=$(awk '/^VmHWM:/ {printf "%.0f", $2/1024}' "/proc/$service/status")
  shed=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^event_service_requests_shed_total/ {print $2}')
  stop "$service" "$mock"
  echo "| answers | count | p50 | p99 | max |"
  echo "|---|---:|---:|---:|---:|"
  json "$out/overload-unloaded.json" "'| unloaded, one at a time | %d | %s ms | — | %s ms |' % (d['requests'], d['p50_ms'], d['p100_ms'])"
  python3 - "$out/overload.json" "$out/overload-probe.json" <<'PY'
import json, sys
d = {"load": json.load(open(sys.argv[1])), "probe": json.load(open(sys.argv[2]))}
names = {"200": "admitted (200), Python clients", "503": "shed (503), Python clients",
         "probe_200": "admitted (200), probe", "probe_503": "shed (503), probe",
         "health_200": "/health meanwhile, probe"}
for group in ("load", "probe"):
    for key, s in sorted(d[group].items()):
        print(f"| {names.get(key, key)} | {s['count']} | {s['p50_ms']} ms | {s['p99_ms']} ms | {s['max_ms']} ms |")
PY
  echo
  echo "wrk (all its answers): $(grep -E 'requests in|Non-2xx' "$out/overload-wrk.txt" | tr -s ' ' | tr '\n' ';')"
  echo "shed in all (event_service_requests_shed_total): $shed; peak RSS of the service: $rss MiB;"
  echo "the service's CPU (one core) busy $busy % of the run"
}

fanlimit() {
  echo
  echo "### Fan-out limit: a user with 1,000 events, 50 ms per lookup"
  echo
  echo "| FANOUT_CONCURRENCY | status | answer time | the mock's peak concurrent requests |"
  echo "|---:|---|---:|---:|"
  start_mock --event-delay-ms 50 --extra-user big:1000
  for limit in 0 100 10; do
    start_service "fanlimit-$limit" FANOUT_CONCURRENCY=$limit
    curl -s -X POST "http://127.0.0.1:$mock_port/_mock/stats/reset" >/dev/null
    local line
    line=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "http://127.0.0.1:$PORT/getEventsByUserId/big")
    local peak
    peak=$(curl -s "http://127.0.0.1:$mock_port/_mock/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["peakInFlight"])')
    stop "$service"
    echo "| $limit | ${line% *} | $(awk -v t="${line#* }" 'BEGIN {printf "%.0f ms", t * 1000}') | $peak |"
  done
  stop "$mock"
}

for section in $SECTIONS; do
  case $section in
  outage | blackhole | overload | fanlimit) $section ;;
  *)
    echo "unknown section $section" >&2
    exit 2
    ;;
  esac
done
