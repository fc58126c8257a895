#!/usr/bin/env python3
"""Load for scripts/cluster/test.sh: threads on keep-alive connections send
GET /getUsers, GET /getEventsByUserId/1 and POST /addEvent in turn until the
stop file appears, then print per request kind: requests, 2xx, other
statuses, connection errors (including requests that hung past the timeout)
and p99 latency, as JSON."""
import http.client, json, os, sys, threading, time

host, port = sys.argv[1], int(sys.argv[2])
stop_file, threads = sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 12
KINDS = [("GET", "/getUsers", None), ("GET", "/getEventsByUserId/1", None),
         ("POST", "/addEvent", b'{"name":"cluster test","userId":1}')]
lock = threading.Lock()
stats = {path: {"requests": 0, "ok": 0, "statuses": {}, "connection_errors": 0, "retried": 0,
                "errors": [], "latencies": []}
         for _, path, _ in KINDS}

def worker(offset):
    conn, i = None, offset
    while not os.path.exists(stop_file):
        method, path, body = KINDS[i % len(KINDS)]
        i += 1
        started = time.monotonic()
        # A GET's answer cut off mid-body (its instance killed while writing
        # it) cannot be retried by HAProxy, which already sent the head on:
        # the client retries an idempotent GET once, as HTTP clients do, and
        # the retry is counted.
        for attempt in (1, 2):
            status, conn = send(conn, method, path, body)
            if status is not None or method != "GET" or attempt == 2:
                break
            with lock:
                stats[path]["retried"] += 1
        elapsed = (time.monotonic() - started) * 1000
        with lock:
            s = stats[path]
            s["requests"] += 1
            if status is None:
                s["connection_errors"] += 1
            elif 200 <= status < 300:
                s["ok"] += 1
            else:
                s["statuses"][str(status)] = s["statuses"].get(str(status), 0) + 1
            s["latencies"].append(elapsed)

def send(conn, method, path, body):
    """One request; its status (None on a connection error) and the
    connection to use next."""
    try:
        # A POST goes on a connection of its own, as the service sends its
        # own writes upstream: on a reused keep-alive connection, a close
        # by the other end is indistinguishable from an unanswered
        # request, and HAProxy closes a reused client connection whose
        # server died mid-request without a status.
        if conn is not None and method == "POST":
            conn.close()
            conn = None
        if conn is None:
            conn = http.client.HTTPConnection(host, port, timeout=10)
        headers = {"Content-Type": "application/json"} if body else {}
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        status = response.status
        if response.getheader("Connection", "").lower() == "close":
            conn.close(); conn = None
        return status, conn
    except Exception as error:
        with lock:
            if len(stats[path]["errors"]) < 3:
                stats[path]["errors"].append(f"{type(error).__name__}: {error}")
        if conn is not None:
            conn.close()
        return None, None

workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
for s in stats.values():
    lat = sorted(s.pop("latencies"))
    s["p99_ms"] = round(lat[int(len(lat) * 0.99)] if lat else 0, 1)
print(json.dumps(stats))
