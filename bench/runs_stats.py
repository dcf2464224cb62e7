"""Counts over time: `stats --every hour|day|week` and `runs list` over many runs.

One real ingest writes a run; its row is copied R times (one run every 5 minutes, so
R=100,000 spans about a year), then `Store.stats_over_time` per hour, day and week and
`Store.runs(limit=100)` run 5 times each on each backend; the table shows the fastest.
The buckets sum the runs' summaries in one GROUP BY (no rollup table to keep in step).

    python bench/runs_stats.py [--runs 100000] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import pgdb
from measure import fastest

BENCH = Path(__file__).resolve().parent
ORDERS = BENCH.parent / "examples" / "data" / "samples" / "orders.jsonl"


def copy_runs(url: str, n: int) -> None:
    """n copies of the one run, 5 minutes apart (set-based: one statement)."""
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(
                "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?) "
                "INSERT INTO ingest_runs SELECT srn || '-' || i, source, "
                "strftime('%Y-%m-%dT%H:%M:%S.000000+00:00', '2026-01-01', '+' || (i * 5) || "
                "' minutes'), finished_at, status, origins, summary FROM ingest_runs, k",
                (n,),
            )
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO ingest_runs SELECT srn || '-' || i, source, "
            "timestamptz '2026-01-01 00:00+00' + i * interval '5 minutes', finished_at, "
            "status, origins, summary FROM ingest_runs, generate_series(1, %s) AS i",
            (n,),
        )


def measure(url: str, n: int) -> dict[str, float]:
    import ingestry

    os.environ["INGESTRY_DATABASE_URL"] = url
    with ingestry.open(BENCH / "bench.yaml") as store:
        store.ingest_files("orders_simple", [ORDERS])
        copy_runs(url, n)
        out = {
            every: fastest(lambda e=every: store.stats_over_time(e), 5) * 1000  # type: ignore[misc]
            for every in ("hour", "day", "week")
        }
        out["runs list"] = fastest(lambda: store.runs(limit=100), 5) * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ingestry-bench-runs-") as tmp:
        if args.backend in ("sqlite", "both"):
            results["sqlite"] = measure(f"sqlite:///{tmp}/r.db", args.runs)
        if args.backend in ("postgres", "both"):
            databases = pgdb.Databases(pgdb.admin_url(), 0)
            try:
                results["postgres"] = measure(databases.url("runs"), args.runs)
            finally:
                databases.close()
    print(f"{args.runs + 1:,} runs; fastest of 5, ms")
    print(f"{'backend':<10}" + "".join(f"{k:>11}" for k in ("hour", "day", "week", "runs list")))
    for backend, row in results.items():
        print(f"{backend:<10}" + "".join(f"{v:>11.1f}" for v in row.values()))


if __name__ == "__main__":
    main()
