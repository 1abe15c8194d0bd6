"""A constant-rate (open-loop) HTTP load generator, run in its own process.

    python benchmarks/_open_loop.py --host 127.0.0.1 --port 8000 --rate 200 \
        --duration 60 --paths FILE

Request i is sent at t0 + i / rate whatever the server's speed (an open loop: a slow
answer does not delay the next requests, unlike a closed loop of N clients), over a
new connection each (HTTP/1.1, ``Connection: close``, as gunicorn's sync workers do).
Latency is measured from the request's *scheduled* time, so time spent waiting for
the server (or for this process) counts: no coordinated omission. The paths are read
from FILE (one a line, used in turn). Prints one JSON line. Plain asyncio, no HTTP
library: a request costs this process little CPU on a shared machine.
"""

import argparse
import asyncio
import json
import os
import time


async def one(host: str, port: int, path: str, timeout: float) -> tuple[int, int]:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
                     "Accept: application/json\r\n\r\n".encode())
        await writer.drain()
        body = await asyncio.wait_for(reader.read(), timeout)  # until the server closes
    finally:
        writer.close()
    status = int(body.split(b" ", 2)[1]) if body.startswith(b"HTTP/") else 0
    return status, len(body)


async def run(args, paths: list[str]) -> dict:
    total = int(args.rate * args.duration)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    late_starts = 0
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.2

    async def fire(i: int) -> None:
        nonlocal late_starts
        scheduled = t0 + i / args.rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            late_starts += 1
        try:
            status, _ = await one(args.host, args.port, paths[i % len(paths)], args.timeout)
            key = str(status)
        except (TimeoutError, OSError) as e:
            key = type(e).__name__
        statuses[key] = statuses.get(key, 0) + 1
        latencies.append((loop.time() - scheduled) * 1000)

    cpu = time.process_time()
    await asyncio.gather(*(fire(i) for i in range(total)))
    elapsed = loop.time() - t0
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 1)

    return {
        "requests": total,
        "target_rate": args.rate,
        "achieved_rate": round(total / elapsed, 1),
        "duration_s": round(elapsed, 1),
        "statuses": statuses,
        "p50_ms": pct(50), "p90_ms": pct(90), "p99_ms": pct(99), "p999_ms": pct(99.9),
        "max_ms": round(latencies[-1], 1),
        "late_starts": late_starts,  # sends this process itself started > 5 ms late
        "generator_cpu_s": round(time.process_time() - cpu, 1),
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--paths", required=True)
    args = parser.parse_args()
    with open(args.paths) as f:
        paths = [line.strip() for line in f if line.strip()]
    print(json.dumps(asyncio.run(run(args, paths))), flush=True)


if __name__ == "__main__":
    main()
