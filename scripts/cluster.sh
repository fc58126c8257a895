#!/usr/bin/env bash
# Several event-service instances behind HAProxy on one machine: one
# event-mock, one redis-server for the idempotency keys, N services
# (embedded mock off, all pointing at that mock and that Redis), and
# HAProxy on :8080 in front of them.
#
#   scripts/cluster.sh 3          # start (release build; installs haproxy)
#   scripts/cluster.sh restart    # rolling restart, one instance at a time
#   scripts/cluster.sh status     # HAProxy's view of the instances
#   scripts/cluster.sh stop       # stop everything it started, by PID
#
# Ports: HAProxy CLUSTER_PORT (8080); instances 3711, 3712, …; mock 3790;
# Redis 3791. MOCK_ARGS passes flags to event-mock (for example
# "--error-rate 0"); CLUSTER_KEYS=memory keeps each instance's keys in its
# own memory instead of Redis (no redis-server); SERVICE_ENV adds
# environment to every instance (for example "IDEMPOTENCY_LEASE_MS=2000").
# State (PIDs, haproxy.cfg, the admin socket, logs) lives in .cluster/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/wait.sh
STATE=.cluster
FRONT=${CLUSTER_PORT:-8080}
MOCK_PORT=${CLUSTER_MOCK_PORT:-3790}
BASE_PORT=${CLUSTER_BASE_PORT:-3710}
REDIS_PORT=${CLUSTER_REDIS_PORT:-3791}
KEYS=${CLUSTER_KEYS:-redis}
SOCKET=$PWD/$STATE/haproxy.sock

admin() { echo "$1" | socat stdio "unix-connect:$SOCKET"; }

instance_port() { echo $((BASE_PORT + $1)); }


# HAProxy's status for server sN in a backend (reads by default): UP, DOWN,
# DRAIN, MAINT…
server_status() {
  admin "show stat" | awk -F, -v b="${2:-reads}" -v s="s$1" '$1 == b && $2 == s {print $18}'
}

# Sessions HAProxy has open to sN, across both backends.
server_sessions() {
  admin "show stat" | awk -F, -v s="s$1" '$2 == s {n += $5} END {print n + 0}'
}

start_instance() {
  local i=$1 port
  port=$(instance_port "$i")
  local store=memory
  [ "$KEYS" = redis ] && store="redis://127.0.0.1:$REDIS_PORT"
  # shellcheck disable=SC2086
  env PORT=$port LOG_LEVEL=${LOG_LEVEL:-warning} API_BASE="http://127.0.0.1:$MOCK_PORT" \
    MOCK='{"ENABLED":false}' SHUTDOWN_GRACE_MS=${SHUTDOWN_GRACE_MS:-10000} \
    DRAIN_DELAY_MS=${DRAIN_DELAY_MS:-2000} IDEMPOTENCY_STORE="$store" ${SERVICE_ENV:-} \
    "$BIN/event-service" >>"$STATE/service-$i.log" 2>&1 &
  echo $! >"$STATE/service-$i.pid"
  wait_http "http://127.0.0.1:$port/health" 10
}

write_config() {
  local n=$1
  {
    cat <<EOF
global
  stats socket $SOCKET mode 600 level admin
  # Two descriptors per connection (client and server side) must fit the
  # open-file limit.
  maxconn 8000
  log stdout format raw local0 ${CLUSTER_LOG_LEVEL:-err}

defaults
  mode http
  log global
  option dontlognull
  option httplog
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout queue 5s
  # Up to 3 retries, each to another server (redispatch) when it can.
  retries 3
  option redispatch 1

frontend events
  bind 127.0.0.1:$FRONT
  # POST /addEvent is not idempotent: it gets a backend that never resends
  # a request the instance may have received.
  use_backend writes if { method POST } { path /addEvent }
  default_backend reads

backend reads
  balance leastconn
  option httpchk GET /ready
  http-check expect status 200
  # A GET may be sent again, to another instance, when the connection
  # failed, the instance closed it without answering (killed), or it did
  # not answer in time.
  retry-on conn-failure empty-response response-timeout
  http-reuse safe
  default-server check inter 500ms fall 2 rise 2 slowstart 0s
EOF
    for i in $(seq "$n"); do echo "  server s$i 127.0.0.1:$(instance_port "$i")"; done
    cat <<EOF

backend writes
  # A key meets the same instance while it lives (with CLUSTER_KEYS=memory
  # the only one that knows it; with Redis any instance would do);
  # requests without one are spread round-robin.
  balance hdr(Idempotency-Key)
  hash-type consistent
  option httpchk GET /ready
  http-check expect status 200
  # Only a failed connect is retried: then the request was never sent.
  # An instance that dies with the request in flight answers the client
  # 502 (via HAProxy) rather than risk storing the event twice.
  retry-on conn-failure
  # Each POST on a connection of its own, as the service itself does
  # upstream: a reused connection the instance closed could fail a request
  # it never saw, and HAProxy answers that case by closing the client's
  # connection without a status.
  http-reuse never
  default-server check inter 500ms fall 2 rise 2
EOF
    for i in $(seq "$n"); do echo "  server s$i 127.0.0.1:$(instance_port "$i")"; done
  } >"$STATE/haproxy.cfg"
}

start() {
  local n=${1:-3}
  [ -f "$STATE/haproxy.pid" ] && kill -0 "$(cat "$STATE/haproxy.pid")" 2>/dev/null && {
    echo "already running (scripts/cluster.sh stop first)" >&2
    exit 1
  }
  ./scripts/lib/ensure-deps.sh haproxy socat curl redis-server
  swift build -c release --static-swift-stdlib --product event-service >/dev/null
  swift build -c release --static-swift-stdlib --product event-mock >/dev/null
  mkdir -p "$STATE"
  rm -f "$STATE"/*.pid "$STATE"/*.log
  echo "$n" >"$STATE/size"
  # shellcheck disable=SC2086
  "$BIN/event-mock" --port "$MOCK_PORT" ${MOCK_ARGS:-} >"$STATE/mock.log" 2>&1 &
  echo $! >"$STATE/mock.pid"
  wait_http "http://127.0.0.1:$MOCK_PORT/getUsers" 10
  if [ "$KEYS" = redis ]; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
      --daemonize no --loglevel warning >"$STATE/redis.log" 2>&1 &
    echo $! >"$STATE/redis.pid"
    for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
  fi
  for i in $(seq "$n"); do start_instance "$i"; done
  write_config "$n"
  haproxy -W -db -f "$STATE/haproxy.cfg" >"$STATE/haproxy.log" 2>&1 &
  echo $! >"$STATE/haproxy.pid"
  wait_http "http://127.0.0.1:$FRONT/health" 10
  for i in $(seq "$n"); do
    for backend in reads writes; do
      for _ in $(seq 100); do [ "$(server_status "$i" "$backend")" = UP ] && break; sleep 0.1; done
    done
  done
  echo "cluster up: HAProxy on :$FRONT, $n instances on $(instance_port 1)…$(instance_port "$n"), mock on :$MOCK_PORT, keys in $KEYS$([ "$KEYS" = redis ] && echo " :$REDIS_PORT")"
}

# SIGTERM sN: it becomes a lame duck (DRAIN_DELAY_MS, 2 s here): /ready says
# 503, so HAProxy's health check (every 500 ms, down after 2) takes it out
# of rotation by itself while it still serves what it is sent; then it
# closes its listener and drains its own requests in flight. Start a new
# one, and wait until HAProxy's health check sees it UP.
restart_one() {
  local i=$1 pid
  pid=$(cat "$STATE/service-$i.pid")
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  start_instance "$i"
  for backend in reads writes; do
    for _ in $(seq 100); do [ "$(server_status "$i" "$backend")" = UP ] && break; sleep 0.05; done
  done
  echo "s$i restarted (pid $(cat "$STATE/service-$i.pid")), $(server_status "$i")"
}

restart() {
  local n
  n=$(cat "$STATE/size")
  for i in $(seq "$n"); do restart_one "$i"; done
}

stop() {
  [ -d "$STATE" ] || return 0
  for file in "$STATE"/haproxy.pid "$STATE"/service-*.pid "$STATE"/mock.pid "$STATE"/redis.pid; do
    [ -f "$file" ] || continue
    pid=$(cat "$file")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    rm -f "$file"
  done
  echo "cluster stopped"
}

BIN=$(swift build -c release --static-swift-stdlib --show-bin-path)
case ${1:-3} in
  stop) stop ;;
  restart) restart ;;
  status) admin "show stat" | awk -F, '$2 ~ /^s[0-9]+$/ {print $1 "/" $2, $18, "sessions=" $5}' ;;
  *[!0-9]*) echo "usage: scripts/cluster.sh N | restart | status | stop" >&2; exit 2 ;;
  *) start "$1" ;;
esac
