#!/usr/bin/env bash
# Load-tests the release build with wrk: the service pinned to CPU 0, the
# event-mock (its own process, never the embedded one) and wrk on CPU 1, so the
# service's CPU figures are its own. Prints one markdown table per section and
# writes the raw numbers to bench-results/<time>/results.json.
#
#   scripts/bench.sh                      # every section but reference and instr
#   scripts/bench.sh health addevent      # just these
#   DURATION=5 CONNECTIONS=32 scripts/bench.sh
#   (the concurrent section runs CONCURRENT_DURATION, 20 s: its requests
#   finish in waves of 1,000 every ~505 ms, and a short run counts too few)
#   scripts/bench.sh instr [--profile]    # instructions per request (callgrind)
#   scripts/bench.sh tls                  # what TLS to the upstream costs
#
# Sections:
#   health      GET /health: the service's own cost, no upstream
#   addevent    POST /addEvent with the breaker OPEN: every answer an immediate
#               503 circuit_open (the rejected path)
#   users       GET /getUsers: one pooled upstream GET per request (COALESCE_GETS
#               off: with it on, concurrent requests share upstream GETs)
#   events      GET /getEventsByUserId/1: the user and 2 events, COALESCE_GETS off
#   bigbody     POST /addEvent with a 180 KB mostly multibyte body, every one
#               accepted upstream (a mock that never fails)
#   concurrent  1,000 connections of GET /getEventsByUserId/1 (2 x 500 ms),
#               COALESCE_GETS on, then off
#   fanout      latency against events per user (1, 10, 100, 1,000 at 500 ms
#               each), drawn with the one-after-another line N x 500 ms
#               (fanout.svg, gnuplot)
#   tail        hedged event fetches: users with 100 and 1,000 events against
#               a mock where 1 % of lookups take 5 s (SLOW_RATE 0.01), hedging
#               off, on, and on with a 10 % budget (warmed up first, so the
#               p95 is known): median and max latency, answers over 2 s, and
#               the extra upstream requests hedging cost
#   reference   nginx as a plain pass-through proxy to the same mock, and a
#               static /health: how far the service is from a C proxy's floor
#   tls         TLS to the upstream against plain HTTP: instructions per
#               request (keep-alive, full and resumed handshakes, a 1,000-event
#               fan-out cold and warm) and wall clock (scripts/bench/tls.sh)
#   instr       see scripts/bench/instr.sh (`instr --tls`: the TLS counts alone)
#   keys        idempotency keys in Redis against memory: instructions and
#               latency per keyed write, Redis killed and started again
#               (scripts/bench/keys.sh)
#   status      what following /status/stream costs per viewer: instructions
#               per second and resident memory (scripts/bench/status.sh)
#   outage, blackhole, overload, fanlimit
#               reads through outages and overload (scripts/bench/reads.sh):
#               stale answers and the read breaker in a 30 s outage, the
#               request deadline against a black hole, admission under 5,000
#               clients, the fan-out limit
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/wait.sh
. scripts/lib/bench.sh
if [ "${1:-}" = instr ] && [ "${2:-}" = --tls ]; then INSTR_ONLY=1 exec ./scripts/bench/tls.sh; fi
[ "${1:-}" = instr ] && exec ./scripts/bench/instr.sh "${@:2}"
if [ "${1:-}" = tls ]; then exec ./scripts/bench/tls.sh; fi
case "${1:-}" in outage | blackhole | overload | fanlimit) exec ./scripts/bench/reads.sh "$@" ;; esac
[ "${1:-}" = status ] && exec ./scripts/bench/status.sh
[ "${1:-}" = keys ] && exec ./scripts/bench/keys.sh
./scripts/lib/ensure-deps.sh wrk curl gnuplot-nox nginx-light
swift build -c release --static-swift-stdlib --product event-service >/dev/null
swift build -c release --static-swift-stdlib --product event-mock >/dev/null
BIN=$(swift build -c release --static-swift-stdlib --show-bin-path)

DURATION=${DURATION:-10}
CONCURRENT_DURATION=${CONCURRENT_DURATION:-20}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${BENCH_PORT:-3100}
SECTIONS=${*:-health addevent users events bigbody concurrent fanout}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=bench-results/$stamp
mkdir -p "$out"
machine=$(machine)
echo "machine: $machine"
echo "results: $out"


# The mock every service instance here talks to (unless a section starts its own).
MOCK_PORT=$((PORT + 1))
taskset -c 1 "$BIN/event-mock" --port "$MOCK_PORT" --error-rate 0 >"$out/mock.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$MOCK_PORT/getUsers"

# start_service NAME [VAR=value ...]: one service instance on CPU 0 with its
# embedded mock off; sets $service (PID) and $service_port.
instance=0
start_service() {
  local name=$1
  shift
  instance=$((instance + 1))
  service_port=$((PORT + 10 + instance))
  env PORT=$service_port LOG_LEVEL=warning MOCK='{"ENABLED":false}' \
    API_BASE="http://127.0.0.1:$MOCK_PORT" "$@" \
    taskset -c 0 "$BIN/event-service" >"$out/service-$name.log" 2>&1 &
  service=$!
  pids+=($service)
  wait_http "http://127.0.0.1:$service_port/health"
}

stop_service() { kill "$service" && wait "$service" 2>/dev/null || true; }

cpu_ns() { cut -d' ' -f1 "/proc/$1/schedstat"; }
peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# wrk's "526.03ms" / "1.02s" / "850.00us" in milliseconds.
to_ms() {
  awk -v t="$1" 'BEGIN {
    if (t ~ /us$/) { sub(/us$/, "", t); printf "%.2f", t / 1000 }
    else if (t ~ /ms$/) { sub(/ms$/, "", t); printf "%.2f", t }
    else if (t ~ /s$/) { sub(/s$/, "", t); printf "%.2f", t * 1000 }
    else printf "null" }'
}

rows=()
table_header() {
  echo
  echo "### $1"
  echo
  echo "| request | connections | req/s | p50 ms | p99 ms | non-2xx | socket errors | CPU µs/req | peak RSS MiB |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
}

# measure SECTION LABEL PID URL CONNECTIONS [wrk args...]: a 2 s warm-up,
# a pause for what it left in flight, then the measured run ($duration s).
declare -A rps_of
measure() {
  local section=$1 label=$2 pid=$3 url=$4 connections=$5
  shift 5
  taskset -c 1 wrk -t1 -c"$connections" -d2s "$@" "$url" >/dev/null
  sleep 1.5
  local before after file="$out/$section-$(echo "$label" | tr -c 'A-Za-z0-9' '-').txt"
  before=$(cpu_ns "$pid")
  taskset -c 1 wrk -t1 -c"$connections" -d"${duration:-$DURATION}s" --latency "$@" "$url" >"$file"
  after=$(cpu_ns "$pid")
  local requests rps p50 p99 non2xx socket cpu rss
  requests=$(awk '/requests in/ {print $1}' "$file")
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$file")
  p50=$(to_ms "$(awk '/ 50%/ {print $2}' "$file")")
  p99=$(to_ms "$(awk '/ 99%/ {print $2}' "$file")")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$file")
  socket=$(awk -F'[ ,]+' '/Socket errors/ {print $4 + $6 + $8 + $10}' "$file")
  cpu=$(awk -v a="$after" -v b="$before" -v n="$requests" 'BEGIN {printf "%.1f", (a - b) / 1000 / n}')
  rss=$(awk -v k="$(peak_rss_kib "$pid")" 'BEGIN {printf "%.1f", k / 1024}')
  rps_of[$section]=$rps
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$connections" "$rps" "$p50" \
    "$p99" "${non2xx:-0}" "${socket:-0}" "$cpu" "$rss"
  rows+=("{\"section\":\"$section\",\"request\":\"$label\",\"connections\":$connections,\"requests\":$requests,\"rps\":$rps,\"p50_ms\":$p50,\"p99_ms\":$p99,\"non_2xx\":${non2xx:-0},\"socket_errors\":${socket:-0},\"cpu_us_per_request\":$cpu,\"peak_rss_mib\":$rss}")
}

fanout() {
  # Users owning 1 to 1,000 events live on a mock of their own, so that
  # GET /getUsers elsewhere stays the seed data's small array.
  local fanout_mock_port=$((PORT + 3))
  taskset -c 1 "$BIN/event-mock" --port "$fanout_mock_port" --error-rate 0 \
    --extra-user u1:1 --extra-user u10:10 --extra-user u100:100 --extra-user u1000:1000 \
    >"$out/fanout-mock.log" 2>&1 &
  local fanout_mock=$!
  pids+=($fanout_mock)
  wait_http "http://127.0.0.1:$fanout_mock_port/getUsers"
  start_service fanout API_BASE="http://127.0.0.1:$fanout_mock_port"
  local data="$out/fanout.dat"
  echo
  echo "### fanout: GET /getEventsByUserId at 500 ms per event (median of 3, warm pool)"
  echo
  echo "| events | latency ms | one after another ms |"
  echo "|---:|---:|---:|"
  echo "# events measured_ms sequential_ms" >"$data"
  for n in 1 10 100 1000; do
    curl -s -o /dev/null "localhost:$service_port/getEventsByUserId/u$n"
    local times=()
    for _ in 1 2 3; do
      times+=("$(curl -s -o "$out/fanout-u$n.json" -w '%{time_total}' "localhost:$service_port/getEventsByUserId/u$n")")
    done
    local ms
    ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p | awk '{printf "%.0f", $1 * 1000}')
    printf '| %s | %s | %s |\n' "$n" "$ms" "$((n * 500))"
    echo "$n $ms $((n * 500))" >>"$data"
    rows+=("{\"section\":\"fanout\",\"events\":$n,\"latency_ms\":$ms,\"sequential_ms\":$((n * 500))}")
  done
  stop_service
  kill "$fanout_mock"
  wait "$fanout_mock" 2>/dev/null || true
  gnuplot <<EOF
set terminal svg size 720,420 font "sans,12" background rgb "white"
set output "$out/fanout.svg"
set title "GET /getEventsByUserId: latency against events per user (500 ms per event)"
set xlabel "events per user"
set ylabel "latency (ms)"
set logscale xy
set xrange [0.8:1300]
set yrange [100:1000000]
set grid
set key top left
plot "$data" using 1:3 with linespoints lw 2 pt 6 title "one after another (N x 500 ms)", \
     "$data" using 1:2 with linespoints lw 2 pt 7 title "event-service (concurrent fan-out)"
EOF
  echo
  echo "chart: $out/fanout.svg"
}

# "sent refused": the service's hedge counters.
hedge_counts() {
  curl -s "localhost:$service_port/metrics" | awk '
    /^event_service_upstream_hedges_total / {s = $2}
    /^event_service_upstream_hedges_refused_total / {r = $2}
    END {print s + 0, r + 0}'
}

tail_section() {
  local tail_mock_port=$((PORT + 4)) requests=${TAIL_REQUESTS:-10}
  taskset -c 1 "$BIN/event-mock" --port "$tail_mock_port" --error-rate 0 --slow-rate 0.01 \
    --slow-delay-ms 5000 --extra-user u100:100 --extra-user u1000:1000 \
    >"$out/tail-mock.log" 2>&1 &
  local tail_mock=$!
  pids+=($tail_mock)
  wait_http "http://127.0.0.1:$tail_mock_port/getUsers"
  echo
  echo "### tail: GET /getEventsByUserId, 1 % of event lookups take 5 s ($requests requests each)"
  echo
  echo "| events | hedging | median ms | max ms | answers over 2 s | hedges sent | extra requests | hedges refused |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|"
  # Hedging off, on at the default budget (5 %), and on with a budget of 10 %.
  local budget hedge label
  for budget in 0 5 10; do
    hedge=$([ "$budget" -gt 0 ] && echo true || echo false)
    label=$([ "$budget" -gt 0 ] && echo "on, budget $budget %" || echo off)
    start_service "tail-$budget" API_BASE="http://127.0.0.1:$tail_mock_port" COALESCE_GETS=false \
      HEDGE_ENABLED=$hedge HEDGE_BUDGET_PERCENT=$((budget > 0 ? budget : 5)) UPSTREAM_TIMEOUT_MS=8000
    # Warm-up: one fan-out of each size measured, the large one first. A
    # first 1,000-event burst opens 1,000 connections and answers some 40 ms
    # later than a 100-event one; sent before 100 fetches have been timed,
    # it is never hedged, instead of spending the hedge budget on fetches
    # that a p95 learned from 100-event users alone calls late.
    for warm in u1000 u100 u100; do
      curl -s -o /dev/null "localhost:$service_port/getEventsByUserId/$warm"
    done
    for n in 100 1000; do
      local times=() each=() before after
      # Hedges sent and refused per request, from /metrics: a cancelled loser
      # never reports an outcome, so the outcome counters would hide them.
      before=$(hedge_counts)
      for _ in $(seq "$requests"); do
        times+=("$(curl -s -o /dev/null -w '%{time_total}' "localhost:$service_port/getEventsByUserId/u$n")")
        after=$(hedge_counts)
        each+=("$(echo "${times[-1]} $before $after" | awk '{printf "{\"ms\":%.0f,\"hedges\":%d,\"refused\":%d}", $1 * 1000, $4 - $2, $5 - $3}')")
        before=$after
      done
      local sorted median max sent refused extra over
      sorted=$(printf '%s\n' "${times[@]}" | sort -n)
      median=$(echo "$sorted" | sed -n "$(((requests + 1) / 2))p" | awk '{printf "%.0f", $1 * 1000}')
      max=$(echo "$sorted" | tail -1 | awk '{printf "%.0f", $1 * 1000}')
      over=$(echo "$sorted" | awk '$1 > 2 {n++} END {print n + 0}')
      sent=$(printf '%s\n' "${each[@]}" | sed 's/.*"hedges":\([0-9]*\).*/\1/' | awk '{n += $1} END {print n + 0}')
      refused=$(printf '%s\n' "${each[@]}" | sed 's/.*"refused":\([0-9]*\).*/\1/' | awk '{n += $1} END {print n + 0}')
      extra=$(awk -v s="$sent" -v e=$((n * requests)) 'BEGIN {printf "%.1f", s * 100 / e}')
      printf '| %s | %s | %s | %s | %s of %s | %s | %s %% | %s |\n' \
        "$n" "$label" "$median" "$max" "$over" "$requests" "$sent" "$extra" "$refused"
      rows+=("{\"section\":\"tail\",\"events\":$n,\"hedging\":$hedge,\"budget_percent\":$budget,\"over_2s\":$over,\"median_ms\":$median,\"max_ms\":$max,\"hedges\":$sent,\"refused\":$refused,\"extra_percent\":$extra,\"each\":[$(IFS=,; echo "${each[*]}")]}")
    done
    stop_service
  done
  kill "$tail_mock"
  wait "$tail_mock" 2>/dev/null || true
}

reference() {
  local nginx_port=$((PORT + 5)) conf="$PWD/$out/nginx.conf"
  cat >"$conf" <<EOF
worker_processes 1;
daemon off;
error_log $PWD/$out/nginx-error.log;
pid $PWD/$out/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 256; }
  server {
    listen 127.0.0.1:$nginx_port;
    location = /health {
      default_type application/json;
      return 200 '{"status":"ok"}';
    }
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  taskset -c 0 nginx -c "$conf" >/dev/null 2>&1 &
  local nginx=$!
  pids+=($nginx)
  wait_http "http://127.0.0.1:$nginx_port/health"
  # nginx's worker is a child process: measure that one.
  local worker
  worker=$(pgrep -P "$nginx" | head -1)
  table_header "reference: nginx on CPU 0, the same mock"
  measure reference "nginx static /health" "$worker" "http://127.0.0.1:$nginx_port/health" "$CONNECTIONS"
  measure reference "nginx proxy GET /getUsers" "$worker" "http://127.0.0.1:$nginx_port/getUsers" "$CONNECTIONS"
  kill "$nginx"
  wait "$nginx" 2>/dev/null || true
}

for section in $SECTIONS; do
  case $section in
  health)
    start_service health
    table_header "health: GET /health"
    measure health "GET /health" "$service" "http://127.0.0.1:$service_port/health" "$CONNECTIONS"
    stop_service
    ;;
  addevent)
    # A breaker that, once OPEN, stays OPEN for the whole run.
    start_service addevent BACKOFF_MS=3600000 BACKOFF_MAX_MS=3600000
    for _ in $(seq 20); do
      curl -s -o /dev/null -X POST "localhost:$service_port/addEvent" \
        -H 'Content-Type: application/json' -d '{"name":"trip","userId":1}'
      curl -s "localhost:$service_port/health" | grep -q '"OPEN"' && break
    done
    table_header "addevent: POST /addEvent answered 503 circuit_open (breaker OPEN)"
    measure addevent "POST /addEvent (503)" "$service" "http://127.0.0.1:$service_port/addEvent" \
      "$CONNECTIONS" -s scripts/bench/addevent.lua
    stop_service
    ;;
  users)
    start_service users COALESCE_GETS=false
    table_header "users: GET /getUsers (one pooled upstream GET each, not coalesced)"
    measure users "GET /getUsers" "$service" "http://127.0.0.1:$service_port/getUsers" "$CONNECTIONS"
    stop_service
    ;;
  events)
    start_service events COALESCE_GETS=false
    table_header "events: GET /getEventsByUserId/1 (user + 2 events, 500 ms each, not coalesced)"
    measure events "GET /getEventsByUserId/1" "$service" \
      "http://127.0.0.1:$service_port/getEventsByUserId/1" "$CONNECTIONS"
    stop_service
    ;;
  bigbody)
    big_mock_port=$((PORT + 2))
    taskset -c 1 "$BIN/event-mock" --port "$big_mock_port" --ok-count 1000000000 --fail-count 0 \
      >"$out/bigbody-mock.log" 2>&1 &
    big_mock=$!
    pids+=($big_mock)
    wait_http "http://127.0.0.1:$big_mock_port/getUsers"
    start_service bigbody MAX_BODY_BYTES=262144 API_BASE="http://127.0.0.1:$big_mock_port"
    table_header "bigbody: POST /addEvent, 180 KB multibyte body, accepted"
    measure bigbody "POST /addEvent 180 KB" "$service" "http://127.0.0.1:$service_port/addEvent" 4 \
      -s scripts/bench/bigbody.lua
    stop_service
    kill "$big_mock"
    wait "$big_mock" 2>/dev/null || true
    ;;
  concurrent)
    table_header "concurrent: 1,000 connections of GET /getEventsByUserId/1 (2 x 500 ms)"
    for coalesce in true false; do
      start_service "concurrent-$coalesce" COALESCE_GETS=$coalesce
      duration=$CONCURRENT_DURATION measure concurrent "COALESCE_GETS=$coalesce" "$service" \
        "http://127.0.0.1:$service_port/getEventsByUserId/1" 1000
      stop_service
    done
    ;;
  fanout) fanout ;;
  tail) tail_section ;;
  reference) reference ;;
  *)
    echo "unknown section $section" >&2
    exit 2
    ;;
  esac
done

if [ -n "${rps_of[health]:-}" ] && [ -n "${rps_of[addevent]:-}" ]; then
  ratio=$(awk -v a="${rps_of[addevent]}" -v h="${rps_of[health]}" 'BEGIN {printf "%.2f", a / h}')
  echo
  echo "rejected /addEvent ÷ /health req/s, this run: $ratio"
  rows+=("{\"section\":\"ratio\",\"addevent_over_health\":$ratio}")
fi

{
  echo "{\"time\":\"$stamp\",\"machine\":\"$machine\",\"duration_s\":$DURATION,\"results\":["
  for i in "${!rows[@]}"; do
    [ "$i" -gt 0 ] && echo ","
    printf '%s' "${rows[$i]}"
  done
  echo
  echo "]}"
} >"$out/results.json"
echo
echo "raw numbers: $out/results.json"
