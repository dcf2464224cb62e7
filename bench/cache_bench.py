"""Benchmark: record reads through the cache against uncached, in the same run.

Steps (one SQLite database, ingested once, served in turn by three `ingestry serve`
processes that differ only in INGESTRY_CACHE_URL):
  http   GET /v1/records/{srn} at --rate req/s for --seconds, open loop, over --hot
         records chosen at random (the same sequence for each server); latency from
         each request's scheduled send time (a slow server cannot hide its queueing):
         p50 / p99 / max for `cache: none`, `cache: memory`, `cache: redis://…`
  get    in-process reads of the same records, microseconds each (best of --repeat):
         the bare driver (sqlite3 SELECT of the row by identity, no decoding),
         Store.get uncached, Store.get through the memory cache, through Redis

    python bench/cache_bench.py [--n 20000] [--hot 1000] [--rate 500] [--seconds 10]
                                [--redis redis://127.0.0.1:6379/4] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

import api
import generate
import ingestry
from api import CONFIG, LEAD, cli, env_for
from ingestry.config import load_settings
from ingestry.domain.records import record_srn

SOURCE = "orders"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="orders in the store")
    parser.add_argument("--hot", type=int, default=1000, help="distinct records read")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rate", type=float, default=500.0, help="GETs per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of in-process reads")
    parser.add_argument("--redis", default=os.environ.get("INGESTRY_BENCH_REDIS_URL", ""),
                        help="a Redis URL to add the Redis cache (default: skip)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser.parse_args(argv)


def srns(n: int, hot: int, seed: int) -> list[str]:
    chosen = random.Random(seed).sample(range(1, n + 1), min(hot, n))
    return [record_srn("order", "harvest", SOURCE, f"ORD-{i}") for i in chosen]


async def _connection(
    port: int, token: str, work: asyncio.Queue[tuple[float, str] | None], out: list[float]
) -> None:
    """One keep-alive connection, plain asyncio streams (cheap: the CPU is the server's)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (item := await work.get()) is not None:
            due, srn = item
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            request = f"GET /v1/records/{srn} HTTP/1.1\r\nHost: b\r\nX-API-Key: {token}\r\n\r\n"
            writer.write(request.encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"GET failed: {head[:200]!r}")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            out.append(time.perf_counter() - due)
    finally:
        writer.close()


async def _run(port: int, token: str, plan: list[str], rate: float) -> list[float]:
    connections = 32
    queues: list[asyncio.Queue[tuple[float, str] | None]] = [
        asyncio.Queue() for _ in range(connections)
    ]
    start = time.perf_counter() + LEAD
    for i, srn in enumerate(plan):
        queues[i % connections].put_nowait((start + i / rate, srn))
    for q in queues:
        q.put_nowait(None)
    latencies: list[float] = []
    await asyncio.gather(*(_connection(port, token, q, latencies) for q in queues))
    return latencies


def http_run(
    db: Path, log: Path, cache: str, hot: list[str], plan: list[str], rate: float
) -> dict[str, Any]:
    with served_with(db, log, cache, log.stem) as (port, token):
        asyncio.run(_run(port, token, hot, rate * 2))  # warm: every hot record read once
        started = time.perf_counter()
        found = sorted(asyncio.run(_run(port, token, plan, rate)))
        wall = time.perf_counter() - started - LEAD

    def pct(p: float) -> float:
        return round(found[min(len(found) - 1, int(p * len(found)))] * 1000, 2)

    return {"cache": cache.split("@")[-1], "requests": len(found),
            "achieved_rate": round(len(found) / wall, 1), "p50_ms": pct(0.5),
            "p99_ms": pct(0.99), "max_ms": round(found[-1] * 1000, 2)}  # fmt: skip


@contextmanager
def served_with(db: Path, log: Path, cache: str, name: str) -> Iterator[tuple[int, str]]:
    """`ingestry serve` on `db` with INGESTRY_CACHE_URL=`cache`: (port, API key)."""
    env = {**env_for(db), "INGESTRY_CACHE_URL": cache}
    token = cli("keys", "create", "--name", name, "--sources", SOURCE, env=env).decode().strip()
    port = api.free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ingestry", "--config", str(CONFIG), "serve", "--port",
             str(port), "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield port, token
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def in_process(db: Path, hot: list[str], cache: str, repeat: int) -> float:
    """Microseconds per Store.get over `hot` (after one warming pass), best of `repeat`."""
    env = {"INGESTRY_DATABASE_URL": f"sqlite:///{db}", "INGESTRY_CACHE_URL": cache}
    best = float("inf")
    with ingestry.open(load_settings(CONFIG, env=env)) as store:
        for srn in hot:
            store.get(srn)
        for _ in range(repeat):
            started = time.perf_counter()
            for srn in hot:
                store.get(srn)
            best = min(best, time.perf_counter() - started)
    return round(best / len(hot) * 1e6, 1)


def bare(db: Path, hot: list[str], repeat: int) -> float:
    """The driver's floor: the row by identity, fetched, not decoded."""
    ids = [s.rsplit(":", 1)[1] for s in hot]
    conn = sqlite3.connect(db)
    best = float("inf")
    sql = (
        "SELECT * FROM records_order"
        " WHERE source_type = 'harvest' AND upstream = ? AND source_id = ?"
    )
    for _ in range(repeat):
        started = time.perf_counter()
        for i in ids:
            conn.execute(sql, (SOURCE, i)).fetchone()
        best = min(best, time.perf_counter() - started)
    conn.close()
    return round(best / len(ids) * 1e6, 1)


def bare_redis(url: str, hot: list[str], repeat: int) -> float:
    """The Redis floor: one GET of a record-sized value per read (a cached read makes two:
    the pointer, then the version)."""
    from ingestry.bootstrap.redis import redis_client

    client = redis_client(url)
    key = "ingestry:bench:floor"
    client.set(key, b"x" * 1500, px=60_000)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for _srn in hot:
            client.get(key)
        best = min(best, time.perf_counter() - started)
    client.delete(key)
    client.close()
    return round(best / len(hot) * 1e6, 1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = generate.ensure(args.n, args.seed)
    hot = srns(args.n, args.hot, args.seed)
    count = int(args.rate * args.seconds)
    plan = [random.Random(args.seed + 1).choice(hot) for _ in range(count)]
    caches = ["none", "memory", *([args.redis] if args.redis else [])]
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ingestry-bench-cache-") as name:
        tmp = Path(name)
        db = tmp / "cache.db"
        env = env_for(db)
        cli("db", "upgrade", env=env)
        cli("ingest", SOURCE, str(data), "--json", env=env)
        http = [
            http_run(db, tmp / f"{i}.log", c, hot, plan, args.rate) for i, c in enumerate(caches)
        ]
        get = {"bare_sqlite3": bare(db, hot, args.repeat)}
        if args.redis:
            get["bare_redis_get"] = bare_redis(args.redis, hot, args.repeat)
        for cache in caches:
            get[cache.split("@")[-1]] = in_process(db, hot, cache, args.repeat)
    results = {
        "n": args.n, "hot": len(hot), "rate": args.rate, "seconds": args.seconds,
        "loadavg_before": [round(x, 2) for x in load], "http": http, "get_us": get,
    }  # fmt: skip
    out = Path(__file__).resolve().parent / "out" / "cache.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    if args.json:
        print(orjson.dumps(results).decode())
        return 0
    for row in http:
        print(
            f"GET {row['cache']:<28} p50 {row['p50_ms']:>7} ms  p99 {row['p99_ms']:>7} ms  "
            f"max {row['max_ms']:>7} ms at {row['achieved_rate']} req/s ({row['requests']})"
        )
    for key, value in get.items():
        print(f"in-process get, {key:<28} {value:>8} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
