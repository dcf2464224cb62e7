"""Benchmark: `Store.export(format="parquet")` against a bare pyarrow + sqlite3 script
reading the same rows from the same database, with peak RSS at two sizes (SQLite).

For each size (N and N/10) a store is filled once (simple source: records only), then
each step runs in a fresh child process (so its peak RSS is its own):
  ingestry   Store.export("orders_simple", format="parquet") (typed columns, decimal128,
             JSON-text metadata, 10k-row row groups, atomic file)
  bare       sqlite3 + pyarrow: SELECT 12 of the columns in identity order, fetchmany(10k),
             typed (decimal128 from the text, timestamps parsed), one row group per
             batch: the floor a Python exporter can reach (the first bench's baseline)
  bare-same  the same, writing the export's own 19 columns (srn, envelope, provenance
             and metadata text): equal work, the fair limit

    python bench/export_bench.py [--n 100000] [--seed 42] [--repeat 1] [--json]

`--url URL` exports a store filled already (bench/dataout_fill.py: SQLite file or
PostgreSQL database) at its one size instead of filling two; `--before-src DIR` adds the
step `before`: the ingestry step run with `PYTHONPATH=DIR` (an older commit's `src/`,
e.g. `git archive REV src | tar -x -C DIR/..`), interleaved with the others in every
round (before, ingestry, bare... then again), for an A/B in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import generate

BENCH = Path(__file__).resolve().parent
CONFIG = BENCH / "bench.yaml"
BATCH = 10_000
COLUMNS = ("order_number", "created_at", "total", "currency", "email", "item_count", "paid")


def config_text(url: str) -> str:
    """bench.yaml pointed at `url`."""
    text = CONFIG.read_text(encoding="utf-8")
    return text.replace("sqlite:///out/bench-manual.db", url)


def fill(root: Path, n: int, seed: int, url: str | None = None) -> Path:
    """A store of n orders in the simple source (SQLite beside the config unless `url`
    names a PostgreSQL database); returns its config path."""
    import ingestry

    data = generate.ensure(n, seed)
    path = root / "ingestry.yaml"
    path.write_text(config_text(url or f"sqlite:///{root / 'bench.db'}"), encoding="utf-8")
    with ingestry.open(path) as store:
        store.ingest_files("orders_simple", [data])
    return path


def step_ingestry(config: Path, out: Path) -> int:
    import ingestry

    with ingestry.open(config) as store:
        return store.export("orders_simple", format="parquet", out=out).records


def _sqlite_path(config: Path) -> str:
    import yaml

    url: str = yaml.safe_load(config.read_text(encoding="utf-8"))["database"]
    return url.removeprefix("sqlite:///")


def step_bare(config: Path, out: Path) -> int:
    import sqlite3

    import pyarrow as pa
    import pyarrow.parquet as pq

    # the widest total in the data, as the export finds it (one read ahead)
    conn = sqlite3.connect(_sqlite_path(config))
    schema = pa.schema(
        [("srn_source", pa.string()), ("data_source", pa.string()), ("version", pa.int64()),
         ("published_at", pa.timestamp("us", tz="UTC")), ("metadata", pa.string()),
         ("order_number", pa.string()), ("created_at", pa.timestamp("us", tz="UTC")),
         ("total", pa.decimal128(12, 2)), ("currency", pa.string()), ("email", pa.string()),
         ("item_count", pa.int64()), ("paid", pa.bool_())]
    )  # fmt: skip
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    cursor = conn.execute(
        f"SELECT source, data_source, version, published_at, metadata, {cols}"
        " FROM records_order ORDER BY source_type, upstream, source_id"
    )
    total = 0
    with pq.ParquetWriter(out / "bare.parquet", schema, compression="zstd") as writer:
        while rows := cursor.fetchmany(BATCH):
            c = list(zip(*rows, strict=True))
            arrays = [
                pa.array(c[0], pa.string()), pa.array(c[1], pa.string()),
                pa.array(c[2], pa.int64()),
                pa.array([datetime.fromisoformat(v) for v in c[3]], schema[3].type),
                pa.array(c[4], pa.string()), pa.array(c[5], pa.string()),
                pa.array([datetime.fromisoformat(v) for v in c[6]], schema[6].type),
                pa.array([None if v is None else Decimal(v) for v in c[7]], schema[7].type),
                pa.array(c[8], pa.string()), pa.array(c[9], pa.string()),
                pa.array(c[10], pa.int64()),
                pa.array([None if v is None else bool(v) for v in c[11]], pa.bool_()),
            ]  # fmt: skip
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            total += len(rows)
    return total


def step_bare_same(config: Path, out: Path) -> int:
    """The bare script writing the file the export writes: the same 19 columns (srn
    spelled from the identity, the envelope, provenance and metadata JSON text as
    stored), so the ratio compares equal work."""
    import sqlite3

    import pyarrow as pa
    import pyarrow.parquet as pq

    conn = sqlite3.connect(_sqlite_path(config))
    ts = pa.timestamp("us", tz="UTC")
    schema = pa.schema(
        [("srn", pa.string()), ("convention", pa.string()), ("version", pa.int64()),
         ("published_at", ts), ("updated_at", ts), ("data_source", pa.string()),
         ("extractor_version", pa.string()), ("raw_sha256", pa.string()),
         ("source", pa.string()), ("order_number", pa.string()), ("created_at", ts),
         ("total", pa.decimal128(12, 2)), ("currency", pa.string()), ("email", pa.string()),
         ("item_count", pa.int64()), ("paid", pa.bool_()), ("metadata", pa.string())]
    )  # fmt: skip
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    cursor = conn.execute(
        "SELECT source_type, upstream, source_id, version, published_at, updated_at,"
        f" data_source, extractor_version, raw_sha256, source, {cols}, metadata"
        " FROM records_order ORDER BY source_type, upstream, source_id"
    )
    total = 0
    parse = datetime.fromisoformat
    with pq.ParquetWriter(out / "bare.parquet", schema, compression="zstd") as writer:
        while rows := cursor.fetchmany(BATCH):
            c = list(zip(*rows, strict=True))
            srn = [f"srn:ingestry:record:order:{t}:{u}:{i}" for t, u, i in zip(*c[:3], strict=True)]
            arrays = [
                pa.array(srn, pa.string()), pa.array(["order"] * len(rows), pa.string()),
                pa.array(c[3], pa.int64()), pa.array([parse(v) for v in c[4]], ts),
                pa.array([parse(v) for v in c[5]], ts), pa.array(c[6], pa.string()),
                pa.array(c[7], pa.string()),
                pa.array([None if v is None else v.hex() for v in c[8]], pa.string()),
                pa.array(c[9], pa.string()), pa.array(c[10], pa.string()),
                pa.array([parse(v) for v in c[11]], ts),
                pa.array([None if v is None else Decimal(v) for v in c[12]], schema[11].type),
                pa.array(c[13], pa.string()), pa.array(c[14], pa.string()),
                pa.array(c[15], pa.int64()),
                pa.array([None if v is None else bool(v) for v in c[16]], pa.bool_()),
                pa.array(c[17], pa.string()),
            ]  # fmt: skip
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            total += len(rows)
    return total


def step_bare_postgres(config: Path, out: Path) -> int:
    """bare-same on PostgreSQL: psycopg (server-side cursor, fetchmany 10k) + pyarrow,
    writing the export's 19 columns; jsonb as text, as stored."""
    import psycopg
    import pyarrow as pa
    import pyarrow.parquet as pq
    import yaml

    url = yaml.safe_load(config.read_text(encoding="utf-8"))["database"]
    ts = pa.timestamp("us", tz="UTC")
    schema = pa.schema(
        [("srn", pa.string()), ("convention", pa.string()), ("version", pa.int64()),
         ("published_at", ts), ("updated_at", ts), ("data_source", pa.string()),
         ("extractor_version", pa.string()), ("raw_sha256", pa.string()),
         ("source", pa.string()), ("order_number", pa.string()), ("created_at", ts),
         ("total", pa.decimal128(12, 2)), ("currency", pa.string()), ("email", pa.string()),
         ("item_count", pa.int64()), ("paid", pa.bool_()), ("metadata", pa.string())]
    )  # fmt: skip
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    total = 0
    with (
        psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn,
        conn.cursor(name="bare") as cursor,
        pq.ParquetWriter(out / "bare.parquet", schema, compression="zstd") as writer,
    ):
        cursor.execute(
            "SELECT source_type, upstream, source_id, version, published_at, updated_at,"
            f" data_source, extractor_version, raw_sha256, source::text, {cols},"
            " metadata::text FROM records_order ORDER BY source_type, upstream, source_id"
        )
        while rows := cursor.fetchmany(BATCH):
            c = list(zip(*rows, strict=True))
            srn = [f"srn:ingestry:record:order:{t}:{u}:{i}" for t, u, i in zip(*c[:3], strict=True)]
            arrays = [pa.array(srn, pa.string()), pa.array(["order"] * len(rows), pa.string())]
            arrays += [pa.array(c[k], schema[k - 1].type) for k in range(3, 8)]
            arrays.append(pa.array([None if v is None else bytes(v).hex() for v in c[8]]))
            arrays += [pa.array(c[k], schema[k - 1].type) for k in range(9, 18)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            total += len(rows)
    return total


STEPS = {"ingestry": step_ingestry, "bare": step_bare, "bare-same": step_bare_same}
PG_STEPS = {"ingestry": step_ingestry, "bare-same": step_bare_postgres}
#: `--before-src`: the ingestry step of an older `src/` (same child, other PYTHONPATH)
BEFORE = "before"


def child(step: str, config: Path, out: Path) -> None:
    started = time.perf_counter()
    steps = PG_STEPS if "postgresql" in config.read_text(encoding="utf-8") else STEPS
    rows = step_ingestry(config, out) if step == BEFORE else steps[step](config, out)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024
    cpu = round(usage.ru_utime + usage.ru_stime, 2)  # the client's; the server's is apart
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": round(peak_mb, 1),
                      "cpu_s": cpu}))  # fmt: skip


def measure(step: str, config: Path, out: Path, before: str | None = None) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, __file__, "--child", step, str(config), str(out)]
    env = dict(os.environ)
    if step == BEFORE and before:
        env["PYTHONPATH"] = before
    load = os.getloadavg()[0]
    done = subprocess.run(args, capture_output=True, text=True, check=False, env=env)
    shutil.rmtree(out, ignore_errors=True)  # a 1M export is ~100 MB
    if done.returncode != 0:
        raise SystemExit(f"{step} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    result["rows_per_s"] = round(result["rows"] / result["seconds"])
    result["seconds"] = round(result["seconds"], 2)
    result["load"] = load
    return result


def run_kept(url: str, repeat: int, before: str | None) -> dict[str, Any]:
    """Every step `repeat` times, interleaved, on the store at `url` (filled already);
    each step's rounds kept (`rounds`) and their median as the step's figures."""
    with tempfile.TemporaryDirectory(prefix="ingestry-export-bench-") as tmp:
        root = Path(tmp)
        config = root / "ingestry.yaml"
        config.write_text(config_text(url), encoding="utf-8")
        steps = list(PG_STEPS if url.startswith("postgresql") else STEPS)
        if before:
            steps.insert(0, BEFORE)
        rounds: dict[str, list[dict[str, Any]]] = {step: [] for step in steps}
        for round_ in range(repeat):
            for step in steps:
                got = measure(step, config, root / f"{step}-{round_}", before)
                rounds[step].append(got)
                print(f"  round {round_} {step:<9} {got['seconds']:>8.2f} s"
                      f"  CPU {got['cpu_s']:>7.2f} s  RSS {got['peak_rss_mb']:>6.1f} MB"
                      f"  load {got['load']:.1f}", file=sys.stderr, flush=True)  # fmt: skip
    row: dict[str, Any] = {"url": url.split("@")[-1], "rounds": rounds}
    for step, got in rounds.items():
        row[step] = {
            key: statistics.median(g[key] for g in got)
            for key in ("rows", "seconds", "rows_per_s", "cpu_s", "peak_rss_mb", "load")
        }
    base = row["bare-same"]
    for step in ("ingestry", BEFORE):
        if step in row:
            row[f"{step}_over_bare_same"] = round(row[step]["rows_per_s"] / base["rows_per_s"], 2)
            row[f"{step}_cpu_over_bare_same"] = round(base["cpu_s"] / row[step]["cpu_s"], 2)
            # per round, each against the bare-same of the same round
            row[f"{step}_ratios"] = [
                round(b["seconds"] / a["seconds"], 2)
                for a, b in zip(rounds[step], rounds["bare-same"], strict=True)
            ]
    return row


def run(n: int, seed: int, repeat: int = 1, backend: str = "sqlite") -> list[dict[str, Any]]:
    sizes = sorted({max(n // 10, 1), n})
    results = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="ingestry-export-bench-") as tmp:
            root = Path(tmp)
            databases = None
            url = None
            if backend == "postgres":
                import pgdb

                databases = pgdb.Databases(pgdb.admin_url(), 0)
                url = databases.url(f"export{size}")
            try:
                config = fill(root, size, seed, url)
                steps = PG_STEPS if url else STEPS
                row: dict[str, Any] = {"n": size, "backend": backend}
                for round_ in range(repeat):
                    for step in steps:
                        got = measure(step, config, root / f"{step}-{round_}")
                        if step not in row or got["seconds"] < row[step]["seconds"]:
                            row[step] = got
            finally:
                if databases is not None:
                    databases.close()
            rate = row["ingestry"]["rows_per_s"]
            if "bare" in row:
                row["ratio"] = round(rate / row["bare"]["rows_per_s"], 2)
            row["ratio_same"] = round(rate / row["bare-same"]["rows_per_s"], 2)
            results.append(row)
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the fastest is kept")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--url", help="a store filled already (bench/dataout_fill.py)")
    parser.add_argument("--before-src", help="with --url: also the ingestry step of this src/")
    args = parser.parse_args()
    if args.url:
        print(json.dumps(run_kept(args.url, args.repeat, args.before_src), indent=1))
        return
    results = run(args.n, args.seed, args.repeat, args.backend)
    if args.json:
        print(json.dumps(results))
        return
    print(f"export bench (Parquet, {args.backend}): ingestry vs bare driver + pyarrow")
    for r in results:
        for step in PG_STEPS if args.backend == "postgres" else STEPS:
            m = r[step]
            print(f"  n={r['n']:>9,} {step:<9} {m['seconds']:>7.2f} s {m['rows_per_s']:>9,}/s"
                  f"  client CPU {m['cpu_s']:>6.2f} s"
                  f"  peak RSS {m['peak_rss_mb']:>6.1f} MB")  # fmt: skip
        bare = f"ingestry/bare = {r['ratio']:.2f}, " if "ratio" in r else ""
        print(f"  n={r['n']:>9,} {bare}ingestry/bare-same = {r['ratio_same']:.2f}")


if __name__ == "__main__":
    main()
