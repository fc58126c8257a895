#!/usr/bin/env bash
# Three instances behind HAProxy under load (scripts/cluster/load.py: GET
# /getUsers, GET /getEventsByUserId/1 and POST /addEvent on keep-alive
# connections), through two events:
#   rolling  scripts/cluster.sh restart replaces every instance in turn
#   sigkill  one instance is killed with SIGKILL, mid-load
# Prints a table per phase and fails unless:
#   rolling: no failed request of any kind (non-2xx, connection error, or a
#            GET the client had to retry)
#   sigkill: no failed GET (a GET whose answer was cut off mid-body by the
#            kill is retried once by the client, as HAProxy cannot, and
#            counted); every POST answered (2xx, or 502/503 for those in
#            flight on the killed instance), none hanging or cut off
#   keys     KEYED_POSTS keyed POST /addEvent (scripts/cluster/keys.py),
#            each client retrying with its key after any failure, while one
#            instance is killed with SIGKILL; the mock acknowledges each new
#            event 300 ms after storing it, so writes are in flight at the
#            kill. With the keys in Redis the mock must hold exactly one
#            event per key (no duplicate, none lost); the same run with each
#            instance's keys in its own memory is shown for comparison
#            (duplicates expected, not failed on).
# The mock never fails here (ERROR_RATE 0, every write accepted, 50 ms event
# delay), so every failure counted is the cluster's.
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/lib/ensure-deps.sh haproxy socat curl python3
export CLUSTER_PORT=${CLUSTER_PORT:-8080}
export MOCK_ARGS="--error-rate 0 --event-delay-ms 50 --ok-count 1000000 --fail-count 0"
out=$(mktemp -d)
trap './scripts/cluster.sh stop >/dev/null; rm -rf "$out"' EXIT
./scripts/cluster.sh stop >/dev/null
./scripts/cluster.sh 3

# run_phase NAME COMMAND: load for 2 s, COMMAND, 2 s more, then the numbers.
run_phase() {
  local name=$1
  shift
  rm -f "$out/stop"
  python3 scripts/cluster/load.py 127.0.0.1 "$CLUSTER_PORT" "$out/stop" 12 >"$out/$name.json" &
  local load=$!
  sleep 2
  "$@"
  sleep 2
  touch "$out/stop"
  wait "$load"
}

kill_one() {
  local pid
  pid=$(cat .cluster/service-2.pid)
  kill -KILL "$pid"
  echo "s2 (pid $pid) killed with SIGKILL"
}

run_phase rolling ./scripts/cluster.sh restart
run_phase sigkill kill_one

# keys_phase STORE: a fresh cluster with its keys in STORE, the keyed load,
# a SIGKILL 1.5 s in, then the mock's events counted per key.
keys_phase() {
  local store=$1 mock=${CLUSTER_MOCK_PORT:-3790}
  ./scripts/cluster.sh stop >/dev/null
  CLUSTER_KEYS=$store SERVICE_ENV="IDEMPOTENCY_LEASE_MS=2000" ./scripts/cluster.sh 3
  curl -s -X POST "http://127.0.0.1:$mock/_mock/write-delay?ms=300"
  python3 scripts/cluster/keys.py 127.0.0.1 "$CLUSTER_PORT" "${KEYED_POSTS:-300}" 16 "$store" \
    >"$out/keys-$store.json" &
  local load=$!
  sleep 1.5
  kill_one
  wait "$load"
  curl -s -X POST "http://127.0.0.1:$mock/_mock/write-delay?ms=0"
  curl -s "http://127.0.0.1:$mock/getEvents" >"$out/events-$store.json"
  curl -s "http://127.0.0.1:$mock/_mock/stats" >"$out/stats-$store.json"
}
keys_phase redis
keys_phase memory

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
failed = False
for phase in ("rolling", "sigkill"):
    stats = json.load(open(f"{out}/{phase}.json"))
    print(f"\n### {phase}\n")
    print("| request | requests | 2xx | other statuses | connection errors | GETs retried by the client | p99 ms |")
    print("|---|---:|---:|---|---:|---:|---:|")
    for path, s in stats.items():
        other = ", ".join(f"{k}: {v}" for k, v in sorted(s["statuses"].items())) or "–"
        print(f"| {path} | {s['requests']} | {s['ok']} | {other} | {s['connection_errors']} | {s['retried']} | {s['p99_ms']} |")
    for path, s in stats.items():
        for error in s["errors"]:
            print(f"  {path}: {error}")
    for path, s in stats.items():
        bad = s["requests"] - s["ok"]
        if phase == "rolling" and (bad or s["retried"]):
            print(f"FAIL: {bad} failed, {s['retried']} retried {path} during the rolling restart"); failed = True
        if phase == "sigkill" and path != "/addEvent" and bad:
            print(f"FAIL: {bad} failed {path} after SIGKILL"); failed = True
        if phase == "sigkill" and path == "/addEvent":
            unclean = s["connection_errors"] + sum(v for k, v in s["statuses"].items() if k not in ("502", "503"))
            if unclean:
                print(f"FAIL: {unclean} POST /addEvent neither 2xx nor a clean 502/503"); failed = True
        if s["requests"] == 0:
            print(f"FAIL: no {path} requests in {phase}"); failed = True

print("\n### keys: keyed POST /addEvent across a SIGKILL, clients retrying with their keys\n")
print("| keys in | keys | answers (all attempts) | retries | final 2xx | gave up | events in the mock | keys stored once | duplicated | lost | sent again with a stored id |")
print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for store in ("redis", "memory"):
    keys = json.load(open(f"{out}/keys-{store}.json"))
    events = json.load(open(f"{out}/events-{store}.json"))
    stats = json.load(open(f"{out}/stats-{store}.json"))
    per_key = {}
    for event in events:
        name = event.get("name", "")
        if name.startswith(store + "-"):
            per_key[name] = per_key.get(name, 0) + 1
    ok = [k for k, v in keys["final"].items() if 200 <= v < 300]
    once = sum(1 for k in ok if per_key.get(k, 0) == 1)
    duplicated = sum(1 for n in per_key.values() if n > 1)
    lost = sum(1 for k in ok if per_key.get(k, 0) == 0)
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(keys["statuses"].items()))
    print(f"| {store} | {keys['keys']} | {answers} | {keys['retries']} | {len(ok)} | {keys['gave_up']} | {sum(per_key.values())} | {once} | {duplicated} | {lost} | {stats.get('repeatedIds', 0)} |")
    if store == "redis":
        if duplicated or lost or keys["gave_up"] or len(ok) != keys["keys"] or once != keys["keys"]:
            print("FAIL: with the keys in Redis every key must end 2xx with exactly one event"); failed = True
        if keys["retries"] == 0:
            print("FAIL: no client had to retry: the kill hit no write in flight"); failed = True
sys.exit(1 if failed else 0)
PY
