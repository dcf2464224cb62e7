"""Benchmark: ingestry's SQLite ingest against the bare-driver limit and against dlt.

Steps, each a child process on a fresh database in a temp dir (see bench/README.md):
  a   ingestry ingest orders FILE --json          raw source, first ingest
  a2  the same command again, same database        every row a duplicate, records unchanged
  a3  ingestry ingest orders_simple FILE --json   simple source, fresh database
  b   bench/bare_sqlite.py                        orjson + sqlite3.executemany, one txn
  c   bench/dlt_duckdb.py                         dlt merge pipeline into duckdb

    python bench/run.py [--n 100000] [--seed 42] [--skip-dlt] [--quick] [--json] [--rev REV]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

import generate
import report
import revision
from measure import Measurement, run_child

BENCH = Path(__file__).resolve().parent
CONFIG = BENCH / "bench.yaml"
QUICK_N = 2_000
PASS_THROUGH = {"INGESTRY_WORKERS"}  # lets `INGESTRY_WORKERS=0 ./dev bench` compare inline


@dataclass(frozen=True)
class Run:
    """One benchmark run: the data file, its temp dir, and which ingestry to import."""

    data: Path
    tmp: Path
    pythonpath: str | None

    def env(self, database: Path | None = None) -> dict[str, str]:
        """The caller's environment minus INGESTRY_* settings (but the INGESTRY_WORKERS
        tuning knob), plus this step's database."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("INGESTRY_") or k in PASS_THROUGH
        }
        env["RUNTIME__DLT_TELEMETRY"] = "false"
        if self.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [self.pythonpath, env.get("PYTHONPATH")])
            )
        if database is not None:
            env["INGESTRY_DATABASE_URL"] = f"sqlite:///{database}"
        return env


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; --quick wins over --n."""
    parser = argparse.ArgumentParser(description="ingestry ingest benchmark")
    parser.add_argument("--n", type=int, default=100_000, help="orders to ingest")
    parser.add_argument("--seed", type=int, default=42, help="generator seed")
    parser.add_argument("--skip-dlt", action="store_true", help="skip the (slow) dlt step")
    parser.add_argument("--quick", action="store_true", help=f"N={QUICK_N}, a CI smoke run")
    parser.add_argument("--json", action="store_true", help="print results as JSON only")
    parser.add_argument("--rev", help="measure src/ at this git revision, not the working tree")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run every step R times, report the fastest"
    )
    parser.add_argument(
        "--dlt-format",
        default="jsonl",
        choices=["jsonl", "insert_values", "parquet"],
        help="dlt loader file format (default jsonl; insert_values is dlt's duckdb default)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n = QUICK_N
    return args


def ingestry_argv(source: str, data: Path) -> list[str]:
    """The real CLI: the console script next to this interpreter, else `python -m`."""
    script = Path(sys.executable).parent / "ingestry"
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "ingestry"]
    return [*cli, "--config", str(CONFIG), "ingest", source, str(data), "--json"]


def ingest_step(run: Run, key: str, label: str, source: str, db_dir: str) -> Measurement:
    """Time one `ingestry ingest` into tmp/db_dir/ingestry.db (a2 reuses a's)."""
    run_dir = run.tmp / db_dir / key
    run_dir.mkdir(parents=True)
    env = run.env(run.tmp / db_dir / "ingestry.db")
    child = run_child(ingestry_argv(source, run.data), run_dir, env)
    return Measurement.of(key, label, child, inner_seconds=float(child.output["seconds"]))


def script_step(run: Run, key: str, label: str, script: str, *extra: str) -> Measurement:
    """Time a comparison script in its own dir; it prints {"received", "seconds"}."""
    workdir = run.tmp / key
    workdir.mkdir()
    argv = [sys.executable, str(BENCH / script), str(run.data), *extra]
    child = run_child(argv, workdir, run.env())
    return Measurement.of(key, label, child, inner_seconds=float(child.output["seconds"]))


def plan(args: argparse.Namespace, run: Run) -> list[Callable[[], Measurement]]:
    """The steps in run order; a2 must follow a, since it re-ingests into a's database."""
    steps: list[Callable[[], Measurement]] = [
        lambda: ingest_step(run, "a", "ingestry raw ingest", "orders", "raw"),
        lambda: ingest_step(run, "a2", "ingestry re-ingest (raw)", "orders", "raw"),
        lambda: ingest_step(run, "a3", "ingestry simple ingest", "orders_simple", "simple"),
        lambda: script_step(run, "b", "bare sqlite3 limit", "bare_sqlite.py", "bare.db"),
    ]
    if not args.skip_dlt:
        label = f"dlt merge -> duckdb ({args.dlt_format})"
        steps.append(lambda: script_step(run, "c", label, "dlt_duckdb.py", ".", args.dlt_format))
    return steps


def measure_all(args: argparse.Namespace, data: Path) -> tuple[dict[str, Measurement], Any]:
    """Run the plan --repeat times, each round in a fresh temp dir; keep each step's best.

    On a shared 2-core VM other work only ever adds time (it moved single steps by up to
    50%), so the fastest round is the best estimate of what the code costs; every
    round's wall time and competing CPU are kept in the results.
    """
    rounds: dict[str, list[Measurement]] = {}
    code: dict[str, Any] = {}
    for number in range(1, max(args.repeat, 1) + 1):
        with tempfile.TemporaryDirectory(prefix="ingestry-bench-") as name:
            tmp = Path(name)
            src = str(revision.export(args.rev, tmp / "code")) if args.rev else None
            run = Run(data, tmp, src)
            code = code or revision.describe(run.env(), args.rev)
            log(f"bench: round {number}, ingestry from {code['package']}")
            for step in plan(args, run):
                result = step()
                rounds.setdefault(result.key, []).append(result)
                log(f"  {result.key:<3} {result.label:<32} {result.wall_seconds:8.2f} s")
    return {key: fastest(runs) for key, runs in rounds.items()}, code


def fastest(runs: list[Measurement]) -> Measurement:
    """The round with the least wall time, carrying every round's wall and busy figures."""
    best = min(runs, key=lambda m: m.wall_seconds)
    return replace(
        best,
        all_wall_seconds=tuple(m.wall_seconds for m in runs),
        all_other_cpu_cores=tuple(m.other_cpu_cores for m in runs),
    )


def prepare(n: int, seed: int) -> tuple[Path, float | None]:
    """The cached data file, plus generation seconds when it had to be made."""
    path = generate.cached_path(n, seed)
    if path.exists():
        return path, None
    start = time.perf_counter()
    generate.ensure(n, seed)
    return path, round(time.perf_counter() - start, 2)


def collect(args: argparse.Namespace, data: Path, gen_seconds: float | None) -> dict[str, Any]:
    """Measure, then gather everything worth keeping from the run as a JSON-ready dict."""
    results, code = measure_all(args, data)
    ratio = report.ratios(results)
    return {
        "n": args.n,
        "seed": args.seed,
        "file": str(data),
        "file_bytes": data.stat().st_size,
        "generate_seconds": gen_seconds,
        "machine": report.machine(),
        "code": code,
        "measurements": {k: m.as_dict() for k, m in results.items()},
        "ratios": ratio,
        "targets": report.targets(ratio, results),
        "check_failures": report.checks(args.n, results),
    }


def log(message: str) -> None:
    """Progress on stderr, so --json keeps stdout clean."""
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if any correctness check failed."""
    args = parse_args(argv)
    data, gen_seconds = prepare(args.n, args.seed)
    log(f"bench: N={args.n:,} seed={args.seed} file={data}")
    result = collect(args, data, gen_seconds)
    text = orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n"
    out = BENCH / "out" / f"results-{args.n}.json"
    out.write_bytes(text)
    if args.json:
        sys.stdout.buffer.write(text)
    else:
        print(report.table(result))
        print(f"results: {out}")
    return 1 if result["check_failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
