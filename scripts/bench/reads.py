#!/usr/bin/env python3
"""Load clients for scripts/bench/reads.sh (SPEC §7: reads through outages and
overload). Standard library only; prints one JSON object.

  bench-reads.py outage SERVICE_PORT MOCK_PORT WARM_S OUTAGE_S AFTER_S CLIENTS
      Clients loop over GET /getUsers and GET /getEventsByUserId/1 while the
      mock fails every request for OUTAGE_S (POST /_mock/outage). Reports the
      answers in each phase, the upstream requests during the outage (the
      mock's count), and when the first fresh answer came after it ended.
  bench-reads.py latency SERVICE_PORT PATH CLIENTS ROUNDS
      CLIENTS requests at once, ROUNDS times: status counts, p50 and p100.
  bench-reads.py blackhole PORT
      An upstream that accepts connections and never answers (until killed).
  bench-reads.py overload SERVICE_PORT PATH CLIENTS SECONDS
      CLIENTS keep-alive connections ask for PATH again and again, each
      waiting the Retry-After of a shed answer (the admitted answers'
      latencies come from here). Meanwhile a separate probe
      thread on its own connection times PATH and /health every 20 ms: its
      latencies are the service's, not this process's event loop's.
"""
import asyncio, http.client, json, sys, threading, time


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))], 1)


async def request(reader, writer, path):
    """One GET on a keep-alive connection: (status, headers, body)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def mock_call(port, method, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return json.loads(body) if body else None


async def outage(port, mock_port, warm, length, after, clients):
    records = []  # (time, path, status, cache-status)
    start = time.monotonic()
    end = start + warm + length + after

    async def client(n):
        paths = ["/getUsers", "/getEventsByUserId/1"]
        i = n
        reader = writer = None
        while time.monotonic() < end:
            path = paths[i % 2]
            i += 1
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                status, headers, _ = await request(reader, writer, path)
                records.append((time.monotonic() - start, path, status,
                                headers.get("cache-status", "")))
            except (OSError, asyncio.IncompleteReadError):
                records.append((time.monotonic() - start, path, None, ""))
                writer = None
            await asyncio.sleep(0.05)

    async def drill():
        await asyncio.sleep(warm)
        mock_call(mock_port, "POST", "/_mock/stats/reset")
        mock_call(mock_port, "POST", f"/_mock/outage?ms={int(length * 1000)}")
        await asyncio.sleep(length)
        return mock_call(mock_port, "GET", "/_mock/stats")["received"]

    tasks = [asyncio.create_task(client(n)) for n in range(clients)]
    upstream_during = await drill()
    await asyncio.gather(*tasks)

    def phase(lo, hi):
        rows = [r for r in records if lo <= r[0] < hi]
        ok = [r for r in rows if r[2] is not None and 200 <= r[2] < 300]
        return {"requests": len(rows), "ok": len(ok),
                "stale": sum(1 for r in ok if "detail=stale" in r[3]),
                "ok_percent": round(100 * len(ok) / len(rows), 2) if rows else None,
                "statuses": {str(s): sum(1 for r in rows if r[2] == s)
                             for s in sorted({r[2] for r in rows}, key=str)}}

    outage_end = warm + length
    fresh = [r[0] for r in records if r[0] >= outage_end and r[2] == 200
             and "detail=stale" not in r[3]]
    return {"before": phase(0, warm), "outage": phase(warm, outage_end),
            "after": phase(outage_end, end),
            "upstream_requests_during_outage": upstream_during,
            "first_fresh_after_s": round(fresh[0] - outage_end, 3) if fresh else None}


async def latency(port, path, clients, rounds):
    times, statuses = [], {}

    async def one():
        started = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        status, _, _ = await request(reader, writer, path)
        writer.close()
        times.append((time.monotonic() - started) * 1000)
        statuses[str(status)] = statuses.get(str(status), 0) + 1

    for _ in range(rounds):
        await asyncio.gather(*(one() for _ in range(clients)))
    return {"requests": len(times), "statuses": statuses, "p50_ms": percentile(times, 50),
            "p100_ms": round(max(times), 1)}


def probe(port, path, stop, out):
    """Sequential requests on one connection every 20 ms, timed here."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        for target, key in ((path, "probe"), ("/health", "health")):
            started = time.monotonic()
            try:
                conn.request("GET", target)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            out.setdefault(f"{key}_{status}", []).append((time.monotonic() - started) * 1000)
        time.sleep(0.02)


async def overload(port, path, clients, seconds):
    latencies = {}  # status -> [ms]
    end = time.monotonic() + seconds

    async def client():
        reader = writer = None
        while time.monotonic() < end:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                started = time.monotonic()
                status, headers, _ = await request(reader, writer, path)
                latencies.setdefault(status, []).append((time.monotonic() - started) * 1000)
                if status == 503:
                    await asyncio.sleep(float(headers.get("retry-after", "1")))
            except (OSError, asyncio.IncompleteReadError):
                latencies.setdefault("error", []).append(0)
                writer = None
                await asyncio.sleep(0.1)

    tasks = []
    for n in range(clients):
        tasks.append(asyncio.create_task(client()))
        if n % 500 == 499:
            await asyncio.sleep(0.1)
    await asyncio.gather(*tasks)

    return {str(k): summary(v) for k, v in latencies.items()}


def summary(values):
    return {"count": len(values), "p50_ms": percentile(values, 50),
            "p99_ms": percentile(values, 99), "max_ms": round(max(values), 1) if values else None}


def run_probe(port, path, seconds):
    out, stop = {}, threading.Event()
    threading.Timer(seconds, stop.set).start()
    probe(port, path, stop, out)
    return {k: summary(v) for k, v in out.items()}


async def blackhole(port):
    async def hold(reader, writer):
        while await reader.read(65536):
            pass
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def main():
    kind, args = sys.argv[1], sys.argv[2:]
    if kind == "blackhole":
        asyncio.run(blackhole(int(args[0])))
        return
    if kind == "outage":
        result = asyncio.run(outage(int(args[0]), int(args[1]), float(args[2]), float(args[3]),
                                    float(args[4]), int(args[5])))
    elif kind == "latency":
        result = asyncio.run(latency(int(args[0]), args[1], int(args[2]), int(args[3])))
    elif kind == "probe":
        result = run_probe(int(args[0]), args[1], float(args[2]))
    elif kind == "overload":
        result = asyncio.run(overload(int(args[0]), args[1], int(args[2]), float(args[3])))
    else:
        sys.exit(f"unknown kind {kind}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
