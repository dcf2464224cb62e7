"""`ingestry query --copy` count-by-day against DuckDB over a Parquet file of the same
rows (issue 17 item 3), interleaved in one process, fastest and median of R rounds.

The store must be filled already (bench/dataout_fill.py keeps one per backend and size).
The first `--copy` query builds the copy (timed: "cold"); the Parquet file DuckDB reads
directly is the copy's rows rewritten by `pyarrow.parquet.write_table` with its defaults,
as bench/query_bench.py writes it.

    python bench/copy_vs_parquet.py URL [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

BENCH = Path(__file__).resolve().parent
QUERY = 'SELECT CAST(created_at AS DATE) AS day, count(*) AS n FROM "order" GROUP BY 1 ORDER BY 1'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the filled store's database URL")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    os.environ["INGESTRY_DATABASE_URL"] = args.url
    import ingestry

    with ingestry.open(BENCH / "bench.yaml") as store, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store.query(QUERY, copy=True)
        cold = time.perf_counter() - started
        copy = next((store.settings.data_dir / "query_copies" / "order").glob("copy-*.parquet"))
        direct_file = Path(tmp) / "orders.parquet"
        pq.write_table(pq.read_table(copy), direct_file)
        con = duckdb.connect()
        direct = QUERY.replace('"order"', f"'{direct_file}'")
        assert [tuple(r.values()) for r in store.query(QUERY, copy=True)] == con.execute(
            direct
        ).fetchall()
        warm: list[float] = []
        parquet: list[float] = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            store.query(QUERY, copy=True)
            warm.append(time.perf_counter() - started)
            started = time.perf_counter()
            con.execute(direct).fetchall()
            parquet.append(time.perf_counter() - started)
    med = sorted(warm)[len(warm) // 2], sorted(parquet)[len(parquet) // 2]
    print(
        f"cold copy {cold:.1f} s; warm min {min(warm):.3f} median {med[0]:.3f} s;"
        f" parquet min {min(parquet):.3f} median {med[1]:.3f} s;"
        f" ratio min {min(warm) / min(parquet):.2f} median {med[0] / med[1]:.2f};"
        f" load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
