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
sys.exit(1 if failed else 0)
PY
