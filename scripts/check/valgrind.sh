#!/usr/bin/env bash
# Runs the service under valgrind (memcheck sees inside libevent, ASan does not)
# and drives it through the paths that own C contexts: pooled GETs with dropped
# connections and retries, a 300-event fan-out, the breaker opening, malformed
# and truncated requests, a client that hangs up, status stream viewers (one
# that leaves, one still watching at shutdown), and SIGTERM with a request in
# flight. A second run puts a hostile upstream (scripts/check/hostile-upstream.py:
# interim 1xx answers, a body that never ends) and hostile clients (trickled
# headers, an oversized announced body, smuggling framing, a chunked body) in
# front of it. A third run serves the mock over TLS and the service calls it
# over HTTPS (full and resumed handshakes, a 40-event fan-out on new TLS
# connections, POSTs on fresh ones, verification failures, SIGTERM with TLS
# fetches in flight). A fourth keeps idempotency keys in Redis (hiredis on
# the loop) and kills and restarts Redis under it. Exits non-zero if
# valgrind reports an error or a definite leak.
#
# It runs the release binary (what users run), or the binary given as $1.
# The binary links mimalloc; memcheck's preloaded malloc and free still come
# first, so every allocation is tracked (the heap summary counts them all).
set -u
cd "$(dirname "$0")/../.."
. scripts/lib/wait.sh
./scripts/lib/ensure-deps.sh valgrind netcat-openbsd curl python3 redis-server
if [ -n "${1:-}" ]; then
  BIN=$1
else
  swift build -c release --static-swift-stdlib --product event-service >/dev/null
  # valgrind 3.19 cannot read Swift's default DWARF 5: run a copy without the
  # debug sections (function names stay, from the symbol table).
  mkdir -p .build-valgrind
  BIN=.build-valgrind/event-service
  strip --strip-debug -o "$BIN" "$(swift build -c release --static-swift-stdlib --show-bin-path)/event-service"
fi
PORT=3400 API_BASE=http://127.0.0.1:3401 MOCK='{"PORT":3401,"EVENT_DELAY_MS":50,"FAIL_DELAY_MS":10,"ERROR_RATE":0.3,"EXTRA_USERS":[{"id":"big","events":300}]}' BACKOFF_MS=300 UPSTREAM_TIMEOUT_MS=1000 \
  valgrind --suppressions=scripts/check/valgrind.supp --error-exitcode=9 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite -q $BIN > /tmp/valgrind-service.out 2> /tmp/valgrind-service.err &
pid=$!
wait_http http://127.0.0.1:3400/health 60
for i in $(seq 10); do curl -s -o /dev/null localhost:3400/getUsers; curl -s -o /dev/null localhost:3400/getEvents; done
curl -s -o /dev/null -w "fanout %{http_code} %{time_total}\n" localhost:3400/getEventsByUserId/big
for i in $(seq 25); do curl -s -o /dev/null -w "%{http_code} " -X POST localhost:3400/addEvent -H 'Content-Type: application/json' -d '{"name":"x","userId":1}'; sleep 0.05; done; echo
curl -s -X POST localhost:3400/addEvent -H 'Content-Type: application/json' -d '{"name":'; echo
printf 'GARBAGE\r\n\r\n' | timeout 2 nc -q1 127.0.0.1 3400 | head -1
printf 'GET /getUsers HTTP/1.1\r\nHost: x\r\n' | timeout 1 nc -q0 127.0.0.1 3400 | head -1
curl -s -m 0.1 localhost:3400/getEventsByUserId/big > /dev/null; echo "aborted client rc=$?"
curl -s -o /dev/null localhost:3400/metrics
# The status view: the page, a viewer that leaves, and one still watching
# at shutdown (its stream ends with the last chunk).
curl -s -o /dev/null -w "status page %{http_code}\n" localhost:3400/status
curl -sN -m 1.5 localhost:3400/status/stream | grep -c '^event: status' | sed 's/^/events seen by a viewer that left: /'
(curl -sN localhost:3400/status/stream > /tmp/valgrind-stream-at-shutdown.txt &) ; sleep 0.5
(curl -s -o /dev/null -w "inflight-at-shutdown %{http_code}\n" localhost:3400/getEventsByUserId/1 &) ; sleep 0.05
kill -TERM $pid; wait $pid; status=$?
grep -v "^### unhandled" /tmp/valgrind-service.err | head -60
echo "service exit status under valgrind: $status (0 = clean; 9 = valgrind found errors)"

echo "== hostile peers"
python3 scripts/check/hostile-upstream.py 3411 &
hostile=$!
PORT=3410 API_BASE=http://127.0.0.1:3411 MOCK='{"ENABLED":false}' MAX_UPSTREAM_BODY_BYTES=1048576 \
  CLIENT_HEADER_TIMEOUT_MS=500 CLIENT_BODY_TIMEOUT_MS=500 COALESCE_GETS=false \
  valgrind --suppressions=scripts/check/valgrind.supp --error-exitcode=9 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite -q $BIN > /tmp/valgrind-hostile.out 2> /tmp/valgrind-hostile.err &
pid=$!
wait_http http://127.0.0.1:3410/health 60
for i in $(seq 8); do curl -s localhost:3410/getEventsByUserId/u$i; echo; done
for i in 1 2 3; do curl -s -o /dev/null -w "endless body %{http_code}\n" localhost:3410/getUsers; done
(printf 'GET /health HTTP/1.1\r\nHost: x\r\n'; sleep 2) | timeout 4 nc -q1 127.0.0.1 3410 | head -1
printf 'POST /addEvent HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n' | timeout 3 nc -q1 127.0.0.1 3410 | head -1
printf 'POST /addEvent HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 9\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n' | timeout 3 nc -q1 127.0.0.1 3410 | head -1
printf 'POST /addEvent HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n' | timeout 3 nc -q1 127.0.0.1 3410 | head -1
kill -TERM $pid; wait $pid; hostile_status=$?
kill $hostile 2>/dev/null; wait $hostile 2>/dev/null
grep -v "^### unhandled" /tmp/valgrind-hostile.err | head -60
echo "hostile-peers service exit status under valgrind: $hostile_status (0 = clean; 9 = valgrind found errors)"
[ "$status" -eq 0 ] && status=$hostile_status

echo "== TLS"
config=$(./scripts/dev/tls-demo.sh .build-valgrind/tls)
# 40 events: every new connection does an ECDHE key exchange, even resumed,
# and under valgrind each takes tens of milliseconds.
PORT=3420 API_BASE=https://localhost:3421 MOCK='{"PORT":3421,"EVENT_DELAY_MS":50,"FAIL_DELAY_MS":10,"ERROR_RATE":0.2,"EXTRA_USERS":[{"id":"big","events":40}]}' BACKOFF_MS=300 UPSTREAM_TIMEOUT_MS=5000 \
  valgrind --suppressions=scripts/check/valgrind.supp --error-exitcode=9 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite -q $BIN --config "$config" > /tmp/valgrind-tls.out 2> /tmp/valgrind-tls.err &
pid=$!
# The same mock, but a service that does not trust its CA: every handshake fails verification.
PORT=3422 API_BASE=https://localhost:3421 MOCK='{"ENABLED":false}' GET_RETRIES=1 \
  valgrind --suppressions=scripts/check/valgrind.supp --error-exitcode=9 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite -q $BIN > /tmp/valgrind-untrusted.out 2> /tmp/valgrind-untrusted.err &
untrusted=$!
wait_http http://127.0.0.1:3420/health 60
wait_http http://127.0.0.1:3422/health 60
for i in $(seq 10); do curl -s -o /dev/null localhost:3420/getUsers; curl -s -o /dev/null localhost:3420/getEvents; done
curl -s -o /dev/null -w "tls fanout %{http_code} %{time_total}\n" localhost:3420/getEventsByUserId/big
for i in $(seq 12); do curl -s -o /dev/null -w "%{http_code} " -X POST localhost:3420/addEvent -H 'Content-Type: application/json' -d '{"name":"x","userId":1}'; sleep 0.05; done; echo
for i in 1 2 3; do curl -s -o /dev/null -w "untrusted %{http_code}\n" localhost:3422/getUsers; done
curl -s localhost:3420/metrics | grep -E "tls_handshakes_total\{"
curl -s localhost:3422/metrics | grep -E 'outcome="tls_error"'
(curl -s -o /dev/null -w "tls inflight-at-shutdown %{http_code}\n" localhost:3420/getEventsByUserId/1 &) ; sleep 0.05
kill -TERM $pid $untrusted; wait $pid; tls_status=$?; wait $untrusted; untrusted_status=$?
grep -v "^### unhandled" /tmp/valgrind-tls.err /tmp/valgrind-untrusted.err | head -60
echo "TLS service exit status under valgrind: $tls_status, untrusted: $untrusted_status (0 = clean; 9 = valgrind found errors)"
[ "$status" -eq 0 ] && status=$tls_status
[ "$status" -eq 0 ] && status=$untrusted_status

echo "== Redis"
# Keys in Redis (hiredis on the loop): new, replayed and mismatched keys,
# Redis hung (a command timed out, the connection freed), Redis killed
# (keyed writes 503, the connection retried) and started again, and SIGTERM
# with a keyed write in flight.
redis_port=3431
redis() {
  redis-server --port $redis_port --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
    --loglevel warning >/dev/null 2>&1 &
  redis_pid=$!
  for _ in $(seq 100); do redis-cli -p $redis_port ping >/dev/null 2>&1 && break; sleep 0.05; done
}
redis
PORT=3430 API_BASE=http://127.0.0.1:3432 MOCK='{"PORT":3432,"OK_COUNT":1000000,"FAIL_COUNT":0}' \
  IDEMPOTENCY_STORE=redis://127.0.0.1:$redis_port \
  valgrind --suppressions=scripts/check/valgrind.supp --error-exitcode=9 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite -q $BIN > /tmp/valgrind-redis.out 2> /tmp/valgrind-redis.err &
pid=$!
wait_http http://127.0.0.1:3430/health 60
keyed() { curl -s -o /dev/null -w "%{http_code} " -X POST localhost:3430/addEvent -H 'Content-Type: application/json' -H "Idempotency-Key: $1" -d "$2"; }
for i in $(seq 10); do keyed "k$i" '{"name":"x","userId":1}'; keyed "k$i" '{"name":"x","userId":1}'; done
keyed k1 '{"name":"other","userId":1}'; echo
# Redis hung (SIGSTOP): the command times out and the connection is freed.
kill -STOP $redis_pid
keyed hung '{"name":"x","userId":1}'; echo "(Redis hung)"
kill -CONT $redis_pid
for _ in $(seq 100); do [ "$(keyed again '{"name":"x","userId":1}')" = "200 " ] && break; sleep 0.1; done
kill -9 $redis_pid; wait $redis_pid 2>/dev/null
for i in $(seq 5); do keyed "down$i" '{"name":"x","userId":1}'; sleep 0.2; done; echo "(Redis down)"
redis
for _ in $(seq 100); do [ "$(keyed back '{"name":"x","userId":1}')" = "200 " ] && break; sleep 0.1; done
keyed back '{"name":"x","userId":1}'; echo "(Redis back)"
(curl -s -o /dev/null -w "keyed inflight-at-shutdown %{http_code}\n" -X POST localhost:3430/addEvent -H 'Content-Type: application/json' -H "Idempotency-Key: last" -d '{"name":"x","userId":1}' &) ; sleep 0.05
kill -TERM $pid; wait $pid; redis_status=$?
kill $redis_pid 2>/dev/null; wait $redis_pid 2>/dev/null
grep -v "^### unhandled" /tmp/valgrind-redis.err | head -60
echo "Redis-store service exit status under valgrind: $redis_status (0 = clean; 9 = valgrind found errors)"
[ "$status" -eq 0 ] && status=$redis_status
exit $status
