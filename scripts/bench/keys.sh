#!/usr/bin/env bash
# What keeping idempotency keys in Redis costs and how it behaves when Redis
# goes away (run through `scripts/bench.sh keys`):
#   1. instructions per keyed POST /addEvent (each with a new key), the
#      service under callgrind, keys in memory and in Redis;
#   2. wall clock of the same (wrk -c8, 5 s, the service on CPU 0): p50, p99;
#   3. Redis killed: what keyed and unkeyed writes get, and how fast;
#   4. Redis started again: how long until a keyed write is accepted.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/wait.sh
./scripts/lib/ensure-deps.sh wrk curl valgrind redis-server
PORT=${BENCH_PORT:-3180}
MOCK_PORT=$((PORT + 1))
REDIS_PORT=$((PORT + 2))
out=bench-results/keys-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
swift build -c release --static-swift-stdlib --product event-service >/dev/null
swift build -c release --static-swift-stdlib --product event-mock >/dev/null
bin="$(swift build -c release --static-swift-stdlib --show-bin-path)"
strip --strip-debug -o "$out/event-service" "$bin/event-service"
"$bin/event-mock" --port "$MOCK_PORT" --ok-count 1000000000 --fail-count 0 >"$out/mock.log" 2>&1 &
mock=$!
redis_pid=
start_redis() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
    --loglevel warning >>"$out/redis.log" 2>&1 &
  redis_pid=$!
  for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.02; done
}
service=
cleanup() { kill $service $mock $redis_pid 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
start_redis
run_service() { # STORE [command prefix...]
  local store=$1
  shift
  env PORT=$PORT LOG_LEVEL=warning API_BASE=http://127.0.0.1:$MOCK_PORT MOCK='{"ENABLED":false}' \
    IDEMPOTENCY_STORE="$store" "$@" >"$out/service.log" 2>&1 &
  service=$!
  wait_http "http://127.0.0.1:$PORT/health" 120
}
stop_service() { kill $service; wait $service 2>/dev/null || true; service=; }

echo "| keys in | instructions / keyed POST | instructions / unkeyed POST |"
echo "|---|---:|---:|"
for store in memory "redis://127.0.0.1:$REDIS_PORT"; do
  run_service "$store" valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out.%p" "$out/event-service"
  dumps=0
  row=()
  for script in scripts/bench/keyed.lua scripts/bench/addevent.lua; do
    wrk -t1 -c8 -d1s -s "$script" "http://127.0.0.1:$PORT/addEvent" >/dev/null
    callgrind_control -z "$service" >/dev/null 2>&1
    wrk -t1 -c8 -d3s -s "$script" "http://127.0.0.1:$PORT/addEvent" >"$out/wrk.txt"
    callgrind_control -d "$service" >/dev/null 2>&1
    dumps=$((dumps + 1))
    dump="$out/callgrind.out.$service.$dumps"
    for _ in $(seq 50); do [ -s "$dump" ] && break; sleep 0.1; done
    requests=$(awk '/requests in/ {print $1}' "$out/wrk.txt")
    row+=("$(($(awk '/^summary:/ {print $2}' "$dump") / requests))")
  done
  echo "| ${store%%:*} | ${row[0]} | ${row[1]} |"
  stop_service
done

echo
echo "| keys in | keyed POSTs / s | p50 ms | p99 ms |"
echo "|---|---:|---:|---:|"
for store in memory "redis://127.0.0.1:$REDIS_PORT"; do
  run_service "$store" taskset -c 0 "$bin/event-service"
  taskset -c 1 wrk -t1 -c8 -d1s -s scripts/bench/keyed.lua "http://127.0.0.1:$PORT/addEvent" >/dev/null
  taskset -c 1 wrk -t1 -c8 -d5s --latency -s scripts/bench/keyed.lua "http://127.0.0.1:$PORT/addEvent" >"$out/wrk.txt"
  rate=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$out/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$out/wrk.txt")
  echo "| ${store%%:*} | $rate | $p50 | $p99 |"
  [ "${store%%:*}" = redis ] || stop_service
done

# Redis away, with the Redis-backed service still running.
keyed() {
  curl -s -o /dev/null -w "%{http_code} %{time_total}\n" -X POST "http://127.0.0.1:$PORT/addEvent" \
    -H 'Content-Type: application/json' -H "Idempotency-Key: $1" -d '{"name":"bench","userId":1}'
}
unkeyed() {
  curl -s -o /dev/null -w "%{http_code} %{time_total}\n" -X POST "http://127.0.0.1:$PORT/addEvent" \
    -H 'Content-Type: application/json' -d '{"name":"bench","userId":1}'
}
kill -KILL $redis_pid
wait $redis_pid 2>/dev/null || true
sleep 0.5
echo
echo "Redis killed; 20 of each, 50 ms apart:"
for i in $(seq 20); do keyed "down-$i"; sleep 0.05; done >"$out/down-keyed.txt"
for i in $(seq 20); do unkeyed; sleep 0.05; done >"$out/down-unkeyed.txt"
summary() { awk '{n[$1]++; t += $2} END {for (s in n) printf "%s x%d ", s, n[s]; printf "(mean %.2f ms)\n", t / NR * 1000}' "$1"; }
echo "  keyed:   $(summary "$out/down-keyed.txt")"
echo "  unkeyed: $(summary "$out/down-unkeyed.txt")"
curl -s "http://127.0.0.1:$PORT/health" | grep -o '"idempotencyStore":{[^}]*}' | sed 's/^/  \/health: /'

# Back: from Redis answering PING to the first keyed 200.
start_redis
back=$(date +%s%N)
for i in $(seq 1000); do
  [ "$(keyed "back-$i" | cut -d' ' -f1)" = 200 ] && break
  sleep 0.01
done
echo "Redis started again: the first keyed write accepted $((($(date +%s%N) - back) / 1000000)) ms after Redis answered"
echo "(the service reconnects with a backoff of 100 ms doubling to 1 s; Redis was away about 3 s)"
