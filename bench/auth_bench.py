#!/usr/bin/env python3
"""N concurrent IMAP logins over IMAPS: each client connects and completes TLS first, then all
send LOGIN at the same moment; the latency of one login is from its LOGIN to its tagged reply.

    auth_bench.py HOST PORT CA N USER_FORMAT PASSWORD LABEL

USER_FORMAT holds one %d (the client's number, 0..N-1). Prints one JSON line with p50, p95, p99,
max (seconds), how many logins succeeded, and the wall time of the whole burst.
"""
import asyncio
import json
import ssl
import sys
import time


async def client(i, host, port, ctx, user_format, password, start, ready):
    reader, writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname="localhost")
    await reader.readline()  # greeting
    ready.release()
    await start.wait()
    t0 = time.perf_counter()
    writer.write(b'a LOGIN "%s" "%s"\r\n' % ((user_format % i).encode(), password.encode()))
    await writer.drain()
    while True:
        line = await reader.readline()
        if not line or line.startswith(b"a "):
            break
    took = time.perf_counter() - t0
    writer.write(b"b LOGOUT\r\n")
    await writer.drain()
    writer.close()
    return took, line.startswith(b"a OK")


async def main():
    host, port, ca, n, user_format, password, label = sys.argv[1:8]
    port, n = int(port), int(n)
    ctx = ssl.create_default_context(cafile=ca)
    start = asyncio.Event()
    ready = asyncio.Semaphore(0)
    tasks = [
        asyncio.create_task(client(i, host, port, ctx, user_format, password, start, ready))
        for i in range(n)
    ]
    for _ in range(n):
        await ready.acquire()
    t0 = time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks)
    wall = time.perf_counter() - t0
    times = sorted(t for t, _ in results)
    ok = sum(1 for _, good in results if good)

    def pct(p):
        return times[min(len(times) - 1, int(round(p / 100 * len(times) + 0.5)) - 1)]

    print(json.dumps({
        "label": label, "n": n, "ok": ok, "wall": round(wall, 3),
        "p50": round(pct(50), 4), "p95": round(pct(95), 4), "p99": round(pct(99), 4),
        "max": round(times[-1], 4),
    }))


asyncio.run(main())
