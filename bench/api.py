"""Benchmark: HTTP ingest against file ingest of the same data, in the same run, and
single-payload POST latency at a fixed request rate. SQLite, loopback only, bounded.

Steps (each on a fresh database in a temp dir):
  file   ingestry ingest orders FILE --json                        (rec/s, wall clock)
  http   ingestry serve; POST the same FILE as JSON Lines batches   (rec/s, wall clock)
  lat    single-payload POSTs at --rate req/s for --seconds         (p50 / p99, ms,
         measured from each request's scheduled send time: a slow server cannot
         hide its queueing by slowing the load generator down)

    python bench/api.py [--n 100000] [--batch 1000] [--rate 200] [--seconds 10] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
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

import generate

BENCH = Path(__file__).resolve().parent
CONFIG = BENCH / "bench.yaml"
SOURCE = "orders"
LEAD = 0.5  # seconds between opening the connections and the first scheduled request


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="orders to ingest")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--batch", type=int, default=1000, help="orders per HTTP request")
    parser.add_argument("--rate", type=float, default=200.0, help="single POSTs per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the latency run")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser.parse_args(argv)


def env_for(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    env["INGESTRY_DATABASE_URL"] = f"sqlite:///{database}"
    env["INGESTRY_API_RATE_LIMIT"] = "1000000"  # measure the server, not the limiter
    env["INGESTRY_API_RATE_BURST"] = "1000000"
    env["INGESTRY_API_MAX_BODY_BYTES"] = str(64 << 20)
    if "INGESTRY_WORKERS" in os.environ:
        env["INGESTRY_WORKERS"] = os.environ["INGESTRY_WORKERS"]
    return env


def cli(*args: str, env: dict[str, str]) -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "ingestry", "--config", str(CONFIG), *args],
        env=env,
        capture_output=True,
        check=False,
        timeout=3600,
    )
    if done.returncode != 0:
        raise SystemExit(f"ingestry {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
    return done.stdout


def file_ingest(data: Path, tmp: Path) -> dict[str, Any]:
    """Rate over the ingest's own clock (the CLI's `seconds`: no interpreter start-up),
    the fair match for the HTTP client's clock; the process wall time is kept too."""
    env = env_for(tmp / "file.db")
    cli("db", "upgrade", env=env)
    started = time.perf_counter()
    summary = orjson.loads(cli("ingest", SOURCE, str(data), "--json", env=env))
    wall = time.perf_counter() - started
    return {
        "records": summary["records_created"],
        "seconds": summary["seconds"],
        "process_seconds": round(wall, 3),
        "rec_per_s": round(summary["received"] / summary["seconds"]),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(database: Path, log: Path) -> Iterator[tuple[str, str]]:
    env = env_for(database)
    cli("db", "upgrade", env=env)
    token = cli("keys", "create", "--name", "bench", "--sources", SOURCE, env=env).decode().strip()
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ingestry", "--config", str(CONFIG), "serve", "--port",
             str(port), "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield base, token
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def batches(data: Path, size: int) -> Iterator[bytes]:
    chunk: list[bytes] = []
    with data.open("rb") as lines:
        for line in lines:
            chunk.append(line)
            if len(chunk) == size:
                yield b"".join(chunk)
                chunk = []
    if chunk:
        yield b"".join(chunk)


def http_ingest(data: Path, tmp: Path, size: int) -> dict[str, Any]:
    bodies = list(batches(data, size))  # read before the clock starts, like a client would
    with served(tmp / "http.db", tmp / "http.log") as (base, token):
        headers = {"X-API-Key": token, "Content-Type": "application/x-ndjson"}
        created = received = 0
        with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
            started = time.perf_counter()
            for body in bodies:
                response = client.post(f"/v1/sources/{SOURCE}/payloads", content=body)
                response.raise_for_status()
                summary = response.json()
                created += summary["records_created"]
                received += summary["received"]
            wall = time.perf_counter() - started
    return {"records": created, "requests": len(bodies), "seconds": round(wall, 3),
            "rec_per_s": round(received / wall)}  # fmt: skip


async def _connection(
    port: int, token: str, work: asyncio.Queue[tuple[float, bytes] | None], out: list[float]
) -> None:
    """One keep-alive connection: send each request at its due time, read the reply.
    Plain asyncio streams: a load generator this cheap leaves the CPU to the server."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST /v1/sources/{SOURCE}/payloads HTTP/1.1\r\nHost: bench\r\nX-API-Key: {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    try:
        while (item := await work.get()) is not None:
            due, body = item
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
            status_and_headers = await reader.readuntil(b"\r\n\r\n")
            if not status_and_headers.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"POST failed: {status_and_headers[:200]!r}")
            length = next(
                int(line.split(b":", 1)[1])
                for line in status_and_headers.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            out.append(time.perf_counter() - due)
    finally:
        writer.close()


async def _latency_run(port: int, token: str, payloads: list[bytes], rate: float) -> list[float]:
    connections = 32
    queues: list[asyncio.Queue[tuple[float, bytes] | None]] = [
        asyncio.Queue() for _ in range(connections)
    ]
    start = time.perf_counter() + LEAD
    for i, body in enumerate(payloads):
        queues[i % connections].put_nowait((start + i / rate, body))
    for q in queues:
        q.put_nowait(None)
    latencies: list[float] = []
    await asyncio.gather(*(_connection(port, token, q, latencies) for q in queues))
    return latencies


def latency(data: Path, tmp: Path, rate: float, seconds: float) -> dict[str, Any]:
    count = int(rate * seconds)
    payloads = [line.rstrip(b"\n") for line, _ in zip(data.open("rb"), range(count), strict=False)]
    with served(tmp / "lat.db", tmp / "lat.log") as (base, token):
        started = time.perf_counter()
        port = int(base.rsplit(":", 1)[1])
        found = sorted(asyncio.run(_latency_run(port, token, payloads, rate)))
        wall = time.perf_counter() - started - LEAD

    def pct(p: float) -> float:
        return round(found[min(len(found) - 1, int(p * len(found)))] * 1000, 2)

    return {
        "requests": len(found),
        "rate": rate,
        "achieved_rate": round(len(found) / wall, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(found[-1] * 1000, 2),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = generate.ensure(args.n, args.seed)
    with tempfile.TemporaryDirectory(prefix="ingestry-bench-api-") as name:
        tmp = Path(name)
        file = file_ingest(data, tmp)
        http = http_ingest(data, tmp, args.batch)
        lat = latency(data, tmp, args.rate, args.seconds)
    results = {
        "n": args.n,
        "batch": args.batch,
        "file": file,
        "http": http,
        "http_vs_file": round(http["rec_per_s"] / file["rec_per_s"], 3),
        "latency": lat,
    }
    out = BENCH / "out" / "api.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    if args.json:
        print(orjson.dumps(results).decode())
    else:
        print(f"file ingest : {file['rec_per_s']:>9,} rec/s ({file['seconds']} s)")
        share = f"{results['http_vs_file']:.1%}"
        print(f"HTTP ingest : {http['rec_per_s']:>9,} rec/s ({http['seconds']} s, "
              f"{http['requests']} requests of {args.batch}) = {share} of file")  # fmt: skip
        print(f"single POST : p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms at "
              f"{lat['achieved_rate']} req/s ({lat['requests']} requests)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
