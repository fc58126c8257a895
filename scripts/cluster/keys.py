#!/usr/bin/env python3
"""Keyed writes for scripts/cluster/test.sh: COUNT clients (THREADS at a
time) each send POST /addEvent with an Idempotency-Key of their own and a
body naming it, and retry with the same key and body after any failure —
a connection error, a 5xx, or 409 (in flight elsewhere) — until a 2xx or
another 4xx, as a client of an idempotent API does. Prints, as JSON: keys,
answers by status, retries, and each key's final status.

Usage: keys.py HOST PORT COUNT THREADS RUN"""
import http.client, json, sys, threading, time

host, port, count, threads, run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
lock = threading.Lock()
result = {"keys": count, "retries": 0, "statuses": {}, "final": {}, "gave_up": 0}
next_key = [0]


def attempt(key):
    body = json.dumps({"name": key, "userId": 1}).encode()
    conn = http.client.HTTPConnection(host, port, timeout=15)
    try:
        conn.request("POST", "/addEvent", body=body,
                     headers={"Content-Type": "application/json", "Idempotency-Key": key})
        response = conn.getresponse()
        response.read()
        return response.status
    except Exception:
        return None
    finally:
        conn.close()


def worker():
    while True:
        with lock:
            if next_key[0] >= count:
                return
            n = next_key[0]
            next_key[0] += 1
        key = f"{run}-{n}"
        deadline = time.monotonic() + 60
        while True:
            status = attempt(key)
            with lock:
                label = str(status) if status is not None else "connection error"
                result["statuses"][label] = result["statuses"].get(label, 0) + 1
            if status is not None and 200 <= status < 500 and status != 409:
                with lock:
                    result["final"][key] = status
                break
            if time.monotonic() > deadline:
                with lock:
                    result["gave_up"] += 1
                break
            with lock:
                result["retries"] += 1
            time.sleep(0.1)


workers = [threading.Thread(target=worker) for _ in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
print(json.dumps(result))
