"""Server time per /ui page on a big store (issue 20: 1M records, 10,000 quarantine
entries, target < 200 ms per page).

    .venv/bin/python bench/dashboard_bench.py [--records 1000000] [--quarantine 10000]
        [--dir bench/.data/dashboard] [--database URL] [--repeat 5]

The store is built once per (records, quarantine) in `--dir` (kept: building 1M takes
minutes on a shared machine) through the fastest ingest path: one JSON Lines file per
source through `Store.ingest_files`, the records in a *simple* source (no raw layer to
write), the quarantine in a raw source (10,000 rows missing a required column, in
three reasons, plus non-UTF-8 ones). Then a real `ingestry serve` answers each page
`--repeat` times over loopback; the figure is the best and the median round trip (an
upper bound of the server time: loopback HTTP adds well under a millisecond).

The bare-driver limit in the same run: the same page's questions asked of the database
directly (sqlite3 / psycopg, no ingestry, no HTML), best of `--repeat`.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import fastest

CONFIG = """\
database: {database}
conventions:
  order:
    columns:
      order_number: {{path: order_number, type: text}}
      created_at:   {{path: created_at, type: timestamp, required: true}}
      total:        {{path: total_price, type: decimal}}
      email:        {{path: customer.email, type: text, index: true}}
sources:
  bulk:
    strategy: simple
    convention: order
    rationale: re-fetchable bulk copy (the 1M records)
    format: jsonl
    id: id
  uploads:
    strategy: raw
    convention: order
    rationale: customer uploads (the quarantine)
    retention_days: 90
    format: jsonl
    id: id
"""

REASONS = ("missing created_at", "bad timestamp", "not JSON")


def write_inputs(directory: Path, records: int, quarantine: int) -> tuple[Path, Path]:
    bulk = directory / "bulk.jsonl"
    with bulk.open("wb") as out:
        for i in range(records):
            day = 1 + i % 28
            out.write(
                orjson.dumps(
                    {
                        "id": f"O{i:08d}",
                        "order_number": f"#{i}",
                        "created_at": f"2026-11-{day:02d}T10:00:00Z",
                        "total_price": f"{i % 1000}.{i % 100:02d}",
                        "customer": {"email": f"c{i % 5000}@example.com"},
                    }
                )
                + b"\n"
            )
    uploads = directory / "uploads.jsonl"
    with uploads.open("wb") as out:
        for i in range(quarantine):
            kind = i % 4
            if kind == 0:
                out.write(b'{"id": "Q%d", "order_number": "#%d"}\n' % (i, i))
            elif kind == 1:
                out.write(b'{"id": "Q%d", "created_at": "last tuesday %d"}\n' % (i, i))
            elif kind == 2:
                out.write(b'{"id": "Q%d", "order_number": "caf\xe9 %d"}\n' % (i, i))
            else:
                out.write(b'{"id": "Q%d", "order_nu\n' % i)
        for i in range(100):
            out.write(b'{"id": "G%d", "created_at": "2026-11-02T01:00:00Z"}\n' % i)
    return bulk, uploads


def build(directory: Path, database: str, records: int, quarantine: int) -> None:
    marker = directory / f".built-{records}-{quarantine}"
    if marker.exists():
        print(f"store exists: {directory}", file=sys.stderr)
        return
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ingestry.yaml").write_text(CONFIG.format(database=database))
    bulk, uploads = write_inputs(directory, records, quarantine)
    import ingestry

    start = time.perf_counter()
    with ingestry.open(directory / "ingestry.yaml") as store:
        one = store.ingest_files("bulk", [str(bulk)])
        two = store.ingest_files("uploads", [str(uploads)])
        _, token = store.create_api_key("bench", [], admin=True)
    (directory / "token").write_text(token)
    took = time.perf_counter() - start
    print(
        f"built in {took:.0f} s: {one.records_created:,} records, {two.quarantined:,} quarantined",
        file=sys.stderr,
    )
    marker.write_text(f"{took:.1f}\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bare(directory: Path, database: str) -> dict[str, Callable[[], object]]:
    """The page's own questions, straight to the database (the floor for the UI)."""
    if database.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(directory / database.removeprefix("sqlite:///"))
        run: Callable[[str], object] = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
    else:
        import psycopg

        pg = psycopg.connect(database, autocommit=True)
        run = lambda sql: pg.execute(sql).fetchall()  # noqa: E731
    page = (
        "SELECT id, source, sha256, payload, line, origin, reason, received_at, status"
        " FROM quarantine WHERE source = 'uploads' AND status = 'open' ORDER BY id LIMIT 51"
    )
    groups = (
        "SELECT source, reason, count(*) n FROM quarantine WHERE source = 'uploads'"
        " AND status = 'open' GROUP BY source, reason ORDER BY n DESC LIMIT 50"
    )
    return {
        "quarantine page + reason counts": lambda: (run(page), run(groups)),
        "records page (51 rows by srn)": lambda: run(
            'SELECT * FROM "records_order" ORDER BY source_type, upstream, source_id LIMIT 51'
        ),
        "overview counts (records per source)": lambda: run(
            'SELECT data_source, count(*) FROM "records_order" GROUP BY data_source'
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--quarantine", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=Path("bench/.data/dashboard"))
    parser.add_argument("--database", default="sqlite:///data/ingestry.db")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--build-only", action="store_true", help="build the store, then stop")
    args = parser.parse_args()
    directory = args.dir.resolve()
    build(directory, args.database, args.records, args.quarantine)
    if args.build_only:
        return
    token = (directory / "token").read_text().strip()
    port = free_port()
    log = (directory / "serve.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingestry", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=directory,
        env={k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    rows: list[tuple[str, float, float, int]] = []
    counted = float("nan")
    try:
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": token}, timeout=120
        )
        for _ in range(600):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        start = time.perf_counter()
        cold = client.get("/ui")
        assert cold.status_code == 200, cold.text[:300]
        took = time.perf_counter() - start
        rows.append(("/ui (first after start; counts begin)", took, took, len(cold.content)))
        counting = time.perf_counter()
        while "Counting rows for the first time" in client.get("/ui").text:
            time.sleep(0.5)
        counted = time.perf_counter() - counting
        print(f"whole-store counts ready {counted:.1f} s after the first overview", file=sys.stderr)
        mid = f"O{args.records // 2:08d}"
        deep = f"srn:ingestry:record:order:harvest:bulk:{mid}"
        first = client.get("/ui/quarantine?source=uploads").text
        entry = first.split('href="/ui/quarantine/')[1].split('"')[0]
        pages = [
            "/ui",
            "/ui?every=hour",
            "/ui/sources/bulk",
            "/ui/sources/uploads",
            "/ui/quarantine",
            "/ui/quarantine?source=uploads",
            "/ui/quarantine?source=uploads&reason="
            + "required%20column%20%27created_at%27%20is%20missing%20%28path%20created_at%29",
            f"/ui/quarantine?source=uploads&after={int(entry) + args.quarantine // 2}",
            f"/ui/quarantine/{entry}",
            "/ui/records?convention=order",
            f"/ui/records?convention=order&after={deep}",
            f"/ui/records/{deep}",
            "/ui/jobs",
        ]
        for path in pages:
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - start)
                assert response.status_code == 200, (
                    path,
                    response.status_code,
                    response.text[:300],
                )
            rows.append((path, min(times), statistics.median(times), len(response.content)))
        floor = {
            name: fastest(fn, args.repeat) for name, fn in bare(directory, args.database).items()
        }
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    load = os.getloadavg()
    print(
        f"N records={args.records:,}, quarantine={args.quarantine:,}, "
        f"database={args.database.split(':')[0]}, best of {args.repeat}, "
        f"load average {load[0]:.2f}/{load[1]:.2f} on {os.cpu_count()} cores"
    )
    print(f"the overview's whole-store counts (background) were ready after {counted:.1f} s")
    print("| page | best ms | median ms | bytes | < 200 ms |")
    print("|---|---:|---:|---:|---|")
    for path, best, median, size in rows:
        ok = "yes" if median < 0.2 else "**no**"
        print(f"| `{path[:70]}` | {best * 1000:.1f} | {median * 1000:.1f} | {size:,} | {ok} |")
    print("\n| bare driver, same questions | best ms |\n|---|---:|")
    for name, seconds in floor.items():
        print(f"| {name} | {seconds * 1000:.1f} |")


if __name__ == "__main__":
    main()
