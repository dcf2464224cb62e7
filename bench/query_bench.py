"""Data out: `ingestry query` count-by-day against DuckDB over Parquet, and import rate
against first-ingest rate, in one run.

N orders (bench/generate.py, the `orders_simple` source of bench/bench.yaml) go into a
fresh store per backend (first ingest, timed). Then, each the fastest of R rounds:

  query           `Store.query` count-by-day over the `order` view: keyset pages from
                  storage -> Arrow RecordBatchReader -> DuckDB (what `ingestry query` does)
  query-table     the same with the view materialized as an Arrow table first
  parquet         DuckDB alone, count-by-day over a Parquet file of the same rows
                  (written once from the view, not timed)
  copy-cold       `Store.query(copy=True)` with no copy yet: the Parquet copy of the
                  convention is built (store -> Parquet), then queried (once)
  copy-warm       the same with the copy fresh: the store's change mark is checked,
                  DuckDB reads the copy

and once: export (records as `records list --json` lines, not timed) and `import` of
those lines into a fresh store of the same backend (timed), as records/s against the
first ingest's records/s.

    python bench/query_bench.py [--n 100000] [--repeat 3] [--backend sqlite|postgres|both]

`--import-only EXPORT` measures only the import step, on SQLite, `--repeat` times: each
round imports EXPORT (made once from N orders if missing) into a fresh store and
reports the CPU seconds of this process (the writer) and of its parsing workers
separately. Under load, wall time is noise and the writer's CPU is the critical path;
put an exported tree first on PYTHONPATH (`git archive REV src | tar -x -C DIR`) and
alternate runs to compare two revisions.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow.parquet as pq

import generate
import pgdb
from measure import fastest

BENCH = Path(__file__).resolve().parent
COUNT_BY_DAY = (
    'SELECT CAST(created_at AS DATE) AS day, count(*) AS n FROM "order" GROUP BY 1 ORDER BY 1'
)


def _cpu() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its joined children."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def measure(
    url: str, other_url: str, data: Path, tmp: Path, repeat: int, filled: dict[str, Any]
) -> dict[str, Any]:
    """`filled`: the store at `url` is filled already (bench/dataout_fill.py's JSON: its
    first ingest's seconds and records), so no ingest here; else `data` is ingested."""
    import ingestry
    from ingestry.bootstrap import build_sql_engine
    from ingestry.services.export import record_line
    from ingestry.services.query_sql import SqlQueryService

    os.environ["INGESTRY_DATABASE_URL"] = url
    with ingestry.open(BENCH / "bench.yaml") as store:
        if filled:
            ingest_s, n = filled["ingest_s"], filled["records"]
        else:
            cpu, started = _cpu(), time.perf_counter()
            summary = store.ingest_files("orders_simple", [data])
            ingest_s = time.perf_counter() - started
            ingest_cpu = [b - a for a, b in zip(cpu, _cpu(), strict=True)]
            n = summary.records_created
        service = SqlQueryService(store.storage, store.settings.conventions, build_sql_engine())
        views = service.views(COUNT_BY_DAY)
        tables = [dataclasses.replace(v, reread=True) for v in views]
        parquet = tmp / "orders.parquet"
        pq.write_table(service.arrow('SELECT * FROM "order"'), parquet)
        con = duckdb.connect()
        direct = COUNT_BY_DAY.replace('"order"', f"'{parquet}'")
        want = con.execute(direct).fetchall()
        assert [tuple(r.values()) for r in store.query(COUNT_BY_DAY)] == want
        out: dict[str, Any] = {
            "records": n,
            # process, children (preparation workers); none when the store was filled
            "ingest_cpu_s": None if filled else ingest_cpu,
            "ingest_s": ingest_s,
            "query_s": fastest(lambda: store.query(COUNT_BY_DAY), repeat),
            "query_table_s": fastest(lambda: service.engine.run(COUNT_BY_DAY, tables), repeat),
            "parquet_s": fastest(lambda: con.execute(direct).fetchall(), repeat),
        }
        copies = store.settings.data_dir / "query_copies"
        shutil.rmtree(copies, ignore_errors=True)
        cpu, started = time.process_time(), time.perf_counter()
        assert [tuple(r.values()) for r in store.query(COUNT_BY_DAY, copy=True)] == want
        out["copy_cold_s"] = time.perf_counter() - started
        out["copy_cold_cpu_s"] = time.process_time() - cpu
        out["copy_warm_s"] = fastest(lambda: store.query(COUNT_BY_DAY, copy=True), repeat)
        out["copy_bytes"] = sum(f.stat().st_size for f in copies.rglob("*.parquet"))
        shutil.rmtree(copies, ignore_errors=True)
        export = tmp / "export.jsonl"
        with export.open("wb") as sink:
            for record in store.records("order"):
                sink.write(record_line(record))
    os.environ["INGESTRY_DATABASE_URL"] = other_url
    with ingestry.open(BENCH / "bench.yaml") as target:
        cpu, started = _cpu(), time.perf_counter()
        done = target.import_export(str(export))
        out["import_s"] = time.perf_counter() - started
        # the writer (this process) and its parsing workers (children, once joined)
        out["import_client_cpu_s"], out["import_workers_cpu_s"] = (
            b - a for a, b in zip(cpu, _cpu(), strict=True)
        )
        out["load_after_import"] = os.getloadavg()
        assert done.records_created == n, done.as_dict()
    out["query_over_parquet"] = out["query_s"] / out["parquet_s"]
    out["copy_warm_over_parquet"] = out["copy_warm_s"] / out["parquet_s"]
    out["copy_cold_over_parquet"] = out["copy_cold_s"] / out["parquet_s"]
    out["import_over_ingest_rate"] = out["ingest_s"] / out["import_s"]
    return out


def write_export(data: Path, export: Path, tmp: Path) -> None:
    """Ingest `data` into a fresh SQLite store and write its records export to `export`."""
    import ingestry
    from ingestry.services.export import record_line

    os.environ["INGESTRY_DATABASE_URL"] = f"sqlite:///{tmp}/source.db"
    with ingestry.open(BENCH / "bench.yaml") as store:
        store.ingest_files("orders_simple", [data])
        part = export.with_suffix(".part")
        with part.open("wb") as sink:
            for record in store.records("order"):
                sink.write(record_line(record))
        part.replace(export)


def _written() -> int:
    """Bytes this process has written so far (`wchar` of /proc/self/io; 0 elsewhere)."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return 0
    return next(
        int(v) for k, _, v in (x.partition(": ") for x in text.splitlines()) if k == "wchar"
    )


def import_only(export: Path, tmp: Path, round_: int) -> dict[str, Any]:
    """One import of `export` into a fresh SQLite store: wall, writer and workers CPU."""
    import ingestry

    os.environ["INGESTRY_DATABASE_URL"] = f"sqlite:///{tmp}/import-{round_}.db"
    load = os.getloadavg()
    with ingestry.open(BENCH / "bench.yaml") as target:
        cpu, started, wrote = _cpu(), time.perf_counter(), _written()
        done = target.import_export(str(export))
        wall = time.perf_counter() - started
        writer, workers = (b - a for a, b in zip(cpu, _cpu(), strict=True))
        wrote = _written() - wrote
    return {
        "import_s": round(wall, 3),
        "writer_cpu_s": round(writer, 3),
        "workers_cpu_s": round(workers, 3),
        # bytes this process wrote (WAL frames, checkpoint copies): what commits cost
        "writer_wrote_mb": round(wrote / 1e6, 1),
        "records_created": done.records_created,
        "rejected": done.rejected,
        "load_before": load,
        "load_after": os.getloadavg(),
    }


def main_import_only(args: argparse.Namespace) -> None:
    import ingestry

    export: Path = args.import_only
    with tempfile.TemporaryDirectory(prefix="ingestry-bench-import-") as name:
        tmp = Path(name)
        if not export.exists():
            write_export(generate.ensure(args.n, args.seed), export, tmp)
        rounds = [import_only(export, tmp, r) for r in range(args.repeat)]
    print(
        orjson.dumps({"code": ingestry.__file__, "export": str(export), "rounds": rounds}).decode()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--fill-json",
        type=Path,
        help="a store filled already (bench/dataout_fill.py's JSON): its URL and first"
        " ingest time are used, no ingest here; one backend",
    )
    parser.add_argument(
        "--import-only",
        type=Path,
        help="only import this records export (made from N orders if missing) into fresh"
        " SQLite stores, --repeat times; writer and workers CPU reported apart",
    )
    args = parser.parse_args()
    if args.import_only:
        main_import_only(args)
        return
    filled: dict[str, Any] = orjson.loads(args.fill_json.read_bytes()) if args.fill_json else {}
    if filled:
        args.backend, args.n = filled["backend"], filled["n"]
    data = generate.ensure(args.n, args.seed)
    results: dict[str, Any] = {"n": args.n, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="ingestry-bench-dataout-") as name:
        tmp = Path(name)
        if args.backend in ("sqlite", "both"):
            first = filled.get("url") or f"sqlite:///{tmp}/a.db"
            results["sqlite"] = measure(
                first, f"sqlite:///{tmp}/b.db", data, tmp, args.repeat, filled
            )
        if args.backend in ("postgres", "both"):
            databases = pgdb.Databases(pgdb.admin_url(), 0)
            try:
                first = filled.get("url") or databases.url("dataout_a")
                other = databases.url("dataout_b")
                results["postgres"] = measure(first, other, data, tmp, args.repeat, filled)
            finally:
                databases.close()
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
