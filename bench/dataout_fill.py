"""Fill a kept store for the data-out benchmarks at large N (issue 17's 1M figures).

A 1M first ingest takes minutes; the data-out benches (`export_bench.py`,
`query_bench.py`, `query.py`) each filled their own store. This fills one store per
backend once (the `orders_simple` source of bench.yaml: records only), keeps it, and
writes its URL and the first ingest's wall and CPU seconds to
`bench/out/dataout-<backend>-<n>.json`; the benches take `--url` to read it instead
of filling their own (`query_bench.py --fill-json` also takes the ingest time from it).

  SQLite      bench/out/dataout-<n>/store.db
  PostgreSQL  database `ingestry_dataout_<n>` on the bench server (pgdb.admin_url)

    python bench/dataout_fill.py --n 1000000 --backend sqlite|postgres [--drop]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

import orjson

import generate
import pgdb

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"


def url_for(backend: str, n: int) -> str:
    if backend == "sqlite":
        return f"sqlite:///{OUT / f'dataout-{n}' / 'store.db'}"
    return pgdb.database_url(pgdb.admin_url(), f"ingestry_dataout_{n}")


def reset(backend: str, n: int) -> None:
    """An empty store at the URL (the old one removed)."""
    if backend == "sqlite":
        folder = OUT / f"dataout-{n}"
        folder.mkdir(parents=True, exist_ok=True)
        for path in folder.iterdir():
            if path.is_file():
                path.unlink()
        return
    import psycopg

    with psycopg.connect(pgdb.admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "ingestry_dataout_{n}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "ingestry_dataout_{n}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], required=True)
    args = parser.parse_args()
    data = generate.ensure(args.n, args.seed)
    reset(args.backend, args.n)
    url = url_for(args.backend, args.n)
    os.environ["INGESTRY_DATABASE_URL"] = url
    import ingestry

    load = os.getloadavg()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    with ingestry.open(BENCH / "bench.yaml") as store:
        started = time.perf_counter()
        summary = store.ingest_files("orders_simple", [data])
        seconds = time.perf_counter() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    result = {
        "backend": args.backend,
        "n": args.n,
        "url": url,
        "records": summary.records_created,
        "ingest_s": round(seconds, 2),
        "ingest_client_cpu_s": round(cpu, 2),
        "load_before": [round(x, 1) for x in load],
        "load_after": [round(x, 1) for x in os.getloadavg()],
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path = OUT / f"dataout-{args.backend}-{args.n}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
