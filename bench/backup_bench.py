"""Benchmark: backup, verify and restore of an N-record store, and ingest throughput
while backups run, on SQLite and PostgreSQL, against the bare copy in the same run.

Per backend, a store is filled with N raw orders (`ingestry ingest`, bench.yaml's raw
`orders` source), then:
  backup     `Store.backup(out.tar)`: consistent snapshot + content digest + manifest
  bare       the same copy without ingestry: SQLite `VACUUM INTO` + gzip -1 (Python's
             zlib, as ingestry), PostgreSQL `pg_dump -Fc -Z1` of the schema: the floor
             a backup of this data can reach (ingestry adds the digest and the hashes)
  verify     `Store.verify_backup`: sha256 of the files, scratch restore, digest
  restore    `Store.restore(replace=True)`: checks, restore, digest
  copy       (--copy, PostgreSQL) backup, verify and restore again with ingestry's own
             COPY dump (`backup --method copy`, for machines without pg_dump)
  ingest     M = N/5 new orders by `ingestry ingest`, alone, then M more while backups
             run back to back in this process: records/s with and without a backup
No peer is compared: dlt, pandas, pyarrow and DuckDB make no backups of a store; the
bare copy is the comparison.

    python bench/backup_bench.py [--n 100000] [--backend sqlite|postgres|both] [--repeat 1]
                                 [--copy] [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from itertools import islice
from pathlib import Path
from typing import Any

import psutil

import generate

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get(
    "INGESTRY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    env["INGESTRY_DATABASE_URL"] = url
    env["INGESTRY_CONFIG"] = str(HERE / "bench.yaml")
    return env


def _ingest(url: str, path: Path) -> float:
    """Seconds of one `ingestry ingest orders PATH` (the CLI, a child process)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ingestry", "ingest", "orders", str(path), "--json"],
        env=_env(url),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _split(source: Path, work: Path, n: int, m: int) -> tuple[Path, Path, Path]:
    """The first N lines, the next M, the M after: streamed (reading the 1M file into a
    list held 1.1 GB in this process for the whole run and hid the backup's own peak)."""
    paths = tuple(work / f"part{i}.jsonl" for i in range(3))
    ends = (n, n + m, n + 2 * m)
    with source.open("rb") as src:
        for path, end, start in zip(paths, ends, (0, *ends), strict=False):
            with path.open("wb") as out:
                out.writelines(islice(src, end - start))
    return paths  # type: ignore[return-value]


class _Live(dict[str, Any]):
    """Results that print each figure to stderr as it is measured: a 1M run takes an hour
    and a run cut short still leaves its figures in the log."""

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        print(f"  {self.get('backend', '?')} {key} = {value}", file=sys.stderr, flush=True)


def _peak_mb() -> float:
    """Peak RSS of this process so far, MB (Linux ru_maxrss is KiB): a backup or restore
    whose memory grew with N would show here."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.iterdir())


def _bare_sqlite(db: Path, work: Path) -> tuple[float, int]:
    out = work / "bare.sqlite"
    started = time.perf_counter()
    with sqlite3.connect(db) as conn:
        conn.execute("VACUUM INTO ?", (str(out),))
    with out.open("rb") as src, gzip.open(work / "bare.sqlite.gz", "wb", 1) as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    seconds = time.perf_counter() - started
    out.unlink()
    return seconds, (work / "bare.sqlite.gz").stat().st_size


def _bare_postgres(url: str, work: Path) -> tuple[float, int]:
    out = work / "bare.pgdump"
    started = time.perf_counter()
    schema = url.rsplit("search_path%3D", 1)[-1]
    subprocess.run(
        ["pg_dump", "-Fc", "-Z1", f"--schema={schema}", f"--file={out}", f"--dbname={url}"],
        check=True,
    )
    return time.perf_counter() - started, out.stat().st_size


def run_backend(
    backend: str, n: int, source: Path, work: Path, copy: bool = False
) -> dict[str, Any]:
    import ingestry
    from ingestry.config import load_settings

    m = max(1, n // 5)
    base, alone, during = _split(source, work, n, m)
    schema = f"bench_backup_{os.getpid()}"
    if backend == "sqlite":
        db = work / "store.db"
        url = f"sqlite:///{db}"
    else:
        subprocess.run(["psql", PG_URL, "-qc", f'CREATE SCHEMA "{schema}"'], check=True)
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    try:
        results: dict[str, Any] = _Live(backend=backend, n=n, m=m)
        psutil.cpu_percent(interval=None)  # machine-wide busy CPU from here on
        results["load_seconds"] = round(_ingest(url, base), 2)
        settings = load_settings(HERE / "bench.yaml", env={"INGESTRY_DATABASE_URL": url})
        with ingestry.open(settings) as store:
            made = store.backup(work / "b.tar")
            results["backup_seconds"] = made.seconds
            results["backup_bytes"] = made.bytes
            results["peak_rss_mb_after_backup"] = _peak_mb()
            results["content"] = made.manifest.content.describe()
            bare = _bare_sqlite(db, work) if backend == "sqlite" else _bare_postgres(url, work)
            results["bare_seconds"], results["bare_bytes"] = round(bare[0], 3), bare[1]
            results["verify_seconds"] = store.verify_backup(work / "b.tar").seconds
            results["restore_seconds"] = store.restore(work / "b.tar", replace=True).seconds
            results["peak_rss_mb_after_restore"] = _peak_mb()
            if copy and backend == "postgres":  # ingestry's own COPY dump, same data
                made = store.backup(work / "c.tar", method="copy")
                results["copy_backup_seconds"] = made.seconds
                results["copy_backup_bytes"] = made.bytes
                results["copy_verify_seconds"] = store.verify_backup(work / "c.tar").seconds
                restored = store.restore(work / "c.tar", replace=True)
                results["copy_restore_seconds"] = restored.seconds
                results["peak_rss_mb_after_copy"] = _peak_mb()
            results["ingest_alone_rps"] = round(m / _ingest(url, alone))
            stop = threading.Event()
            count = [0]

            def loop() -> None:
                with ingestry.open(settings) as other:
                    while not stop.is_set():
                        target = work / f"during-{count[0]}.tar"
                        other.backup(target)
                        target.unlink()
                        count[0] += 1

            thread = threading.Thread(target=loop)
            thread.start()
            try:
                results["ingest_during_backup_rps"] = round(m / _ingest(url, during))
            finally:
                stop.set()
                thread.join()
            results["backups_during_ingest"] = count[0]
        # % of all cores busy during the whole run (this run's own work included)
        results["machine_cpu_pct"] = psutil.cpu_percent(interval=None)
        return results
    finally:
        if backend == "postgres":
            subprocess.run(["psql", PG_URL, "-qc", f'DROP SCHEMA "{schema}" CASCADE'], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--copy", action="store_true", help="PostgreSQL: also the COPY dump (backup --method copy)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    total = args.n + 2 * max(1, args.n // 5)
    source = generate.ensure(total, args.seed)
    rows = []
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="ingestry-backup-bench-") as work:
            result = run_backend(backend, args.n, source, Path(work), args.copy)
            rows.append(result)
            print(json.dumps(result), file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        print(
            f"{r['backend']:9} N={r['n']:,}: backup {r['backup_seconds']}s "
            f"({r['backup_bytes'] / 1e6:.1f} MB) vs bare {r['bare_seconds']}s "
            f"({r['bare_bytes'] / 1e6:.1f} MB); verify {r['verify_seconds']}s; restore "
            f"{r['restore_seconds']}s; ingest {r['ingest_alone_rps']:,} rec/s alone, "
            f"{r['ingest_during_backup_rps']:,} rec/s during backups "
            f"({r['backups_during_ingest']} backups)"
        )
        if "copy_backup_seconds" in r:
            print(
                f"{'':9} COPY dump: backup {r['copy_backup_seconds']}s "
                f"({r['copy_backup_bytes'] / 1e6:.1f} MB); verify {r['copy_verify_seconds']}s; "
                f"restore {r['copy_restore_seconds']}s"
            )


if __name__ == "__main__":
    main()
