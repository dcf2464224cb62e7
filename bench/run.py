"""Benchmark: ingestry's SQLite ingest against the bare-driver limit and against dlt.

Steps, each a child process on a fresh database in a temp dir (see bench/README.md):
  a   ingestry ingest orders FILE --json          raw source, first ingest
  a2  the same command again, same database        every row a duplicate, records unchanged
  a3  ingestry ingest orders_simple FILE --json   simple source, fresh database
  b   bench/bare_sqlite.py                        orjson + sqlite3.executemany, one txn
  c   bench/dlt_duckdb.py                         dlt merge pipeline into duckdb

    python bench/run.py [--n 100000] [--seed 42] [--skip-dlt] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

import generate
from measure import Measurement, run_child

BENCH = Path(__file__).resolve().parent
CONFIG = BENCH / "bench.yaml"
QUICK_N = 2_000
TARGETS = {"fraction_of_bare": 0.60, "times_dlt": 10.0, "peak_rss_mb": 500.0}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; --quick wins over --n."""
    parser = argparse.ArgumentParser(description="ingestry ingest benchmark")
    parser.add_argument("--n", type=int, default=100_000, help="orders to ingest")
    parser.add_argument("--seed", type=int, default=42, help="generator seed")
    parser.add_argument("--skip-dlt", action="store_true", help="skip the (slow) dlt step")
    parser.add_argument("--quick", action="store_true", help=f"N={QUICK_N}, a CI smoke run")
    parser.add_argument("--json", action="store_true", help="print results as JSON only")
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


def child_env(database: Path | None = None) -> dict[str, str]:
    """The caller's environment minus any INGESTRY_* setting, plus this step's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    env["RUNTIME__DLT_TELEMETRY"] = "false"
    if database is not None:
        env["INGESTRY_DATABASE_URL"] = f"sqlite:///{database}"
    return env


def ingestry_argv(source: str, data: Path) -> list[str]:
    """The real CLI: the console script next to this interpreter, else `python -m`."""
    script = Path(sys.executable).parent / "ingestry"
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "ingestry"]
    return [*cli, "--config", str(CONFIG), "ingest", source, str(data), "--json"]


def ingest_step(key: str, label: str, source: str, data: Path, workdir: Path) -> Measurement:
    """Time one `ingestry ingest`; the database is workdir/ingestry.db (reused by a2)."""
    run_dir = workdir / key
    run_dir.mkdir()
    env = child_env(workdir / "ingestry.db")
    child = run_child(ingestry_argv(source, data), run_dir, env)
    summary = child.output
    return Measurement(
        key=key,
        label=label,
        records=int(summary["received"]),
        wall_seconds=child.wall_seconds,
        inner_seconds=float(summary["seconds"]),
        cpu_seconds=child.cpu_seconds,
        peak_rss_mb=child.peak_rss_mb,
        summary=summary,
    )


def script_step(key: str, label: str, argv: list[str], workdir: Path) -> Measurement:
    """Time one of the comparison scripts; they print {"received", "seconds"}."""
    workdir.mkdir()
    child = run_child(argv, workdir, child_env())
    return Measurement(
        key=key,
        label=label,
        records=int(child.output["received"]),
        wall_seconds=child.wall_seconds,
        inner_seconds=float(child.output["seconds"]),
        cpu_seconds=child.cpu_seconds,
        peak_rss_mb=child.peak_rss_mb,
        summary=child.output,
    )


def plan(args: argparse.Namespace, data: Path, tmp: Path) -> list[Callable[[], Measurement]]:
    """The steps in run order; a2 must follow a, since it re-ingests into a's database."""
    py = sys.executable
    steps: list[Callable[[], Measurement]] = [
        lambda: ingest_step("a", "ingestry raw ingest", "orders", data, tmp / "raw"),
        lambda: ingest_step("a2", "ingestry re-ingest (raw)", "orders", data, tmp / "raw"),
        lambda: ingest_step("a3", "ingestry simple ingest", "orders_simple", data, tmp / "simple"),
        lambda: script_step(
            "b",
            "bare sqlite3 limit",
            [py, str(BENCH / "bare_sqlite.py"), str(data), "bare.db"],
            tmp / "bare",
        ),
    ]
    if not args.skip_dlt:
        dlt_argv = [py, str(BENCH / "dlt_duckdb.py"), str(data), ".", args.dlt_format]
        steps.append(
            lambda: script_step(
                "c", f"dlt merge -> duckdb ({args.dlt_format})", dlt_argv, tmp / "dlt"
            )
        )
    return steps


def measure_all(args: argparse.Namespace, data: Path) -> dict[str, Measurement]:
    """Run every step in a fresh temp dir; progress goes to stderr."""
    results: dict[str, Measurement] = {}
    with tempfile.TemporaryDirectory(prefix="ingestry-bench-") as name:
        tmp = Path(name)
        for sub in ("raw", "simple"):
            (tmp / sub).mkdir()
        for step in plan(args, data, tmp):
            result = step()
            results[result.key] = result
            log(f"  {result.key:<3} {result.label:<32} {result.wall_seconds:8.2f} s")
    return results


def checks(n: int, results: dict[str, Measurement]) -> list[str]:
    """Correctness before speed: every step must have taken all N orders as expected."""
    failures = [
        f"{m.key}: {m.records} records, expected {n}" for m in results.values() if m.records != n
    ]
    expected = {
        "a": {"raw_stored": n, "records_created": n, "quarantined": 0},
        "a2": {
            "raw_duplicates": n,
            "records_unchanged": n,
            "raw_stored": 0,
            "records_created": 0,
            "records_updated": 0,
            "quarantined": 0,
        },
        "a3": {"records_created": n, "quarantined": 0},
    }
    for key, fields in expected.items():
        summary = results[key].summary
        failures += [
            f"{key}: {f}={summary.get(f)}, expected {want}"
            for f, want in fields.items()
            if summary.get(f) != want
        ]
    return failures


def ratios(results: dict[str, Measurement]) -> dict[str, float | None]:
    """a/b = fraction of the bare limit, a/c = times faster than dlt (wall and inner)."""
    a, b, c = results["a"], results["b"], results.get("c")
    return {
        "fraction_of_bare": round(a.rate / b.rate, 3),
        "fraction_of_bare_inner": round(a.inner_rate / b.inner_rate, 3),
        "times_dlt": round(a.rate / c.rate, 2) if c else None,
        "times_dlt_inner": round(a.inner_rate / c.inner_rate, 2) if c else None,
    }


def targets(ratio: dict[str, float | None], results: dict[str, Measurement]) -> dict[str, Any]:
    """The issue's targets, each with the measured value and whether it is met."""
    rss = results["a"].peak_rss_mb
    got = {
        "fraction_of_bare": ratio["fraction_of_bare"],
        "times_dlt": ratio["times_dlt"],
        "peak_rss_mb": round(rss, 1),
    }
    met = {
        "fraction_of_bare": (got["fraction_of_bare"] or 0) >= TARGETS["fraction_of_bare"],
        "times_dlt": None if got["times_dlt"] is None else got["times_dlt"] >= TARGETS["times_dlt"],
        "peak_rss_mb": rss < TARGETS["peak_rss_mb"],
    }
    return {k: {"target": TARGETS[k], "measured": got[k], "met": met[k]} for k in TARGETS}


def machine() -> dict[str, Any]:
    """Enough about the host to compare figures between runs."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def report(
    args: argparse.Namespace, data: Path, gen_seconds: float | None, results: dict[str, Measurement]
) -> dict[str, Any]:
    """Everything worth keeping from one run, as a JSON-ready dict."""
    ratio = ratios(results)
    return {
        "n": args.n,
        "seed": args.seed,
        "file": str(data),
        "file_bytes": data.stat().st_size,
        "generate_seconds": gen_seconds,
        "machine": machine(),
        "measurements": {k: m.as_dict() for k, m in results.items()},
        "ratios": ratio,
        "targets": targets(ratio, results),
        "check_failures": checks(args.n, results),
    }


def table(result: dict[str, Any]) -> str:
    """The human view: one row per step, then ratios and targets."""
    head = f"{'step':<4} {'what':<34} {'rec/s':>9} {'rec/s inner':>11} {'wall s':>8} {'RSS MB':>7}"
    lines = [
        f"N={result['n']:,}  file={result['file_bytes'] / 1e6:.1f} MB  "
        f"cpus={result['machine']['cpus']}",
        head,
        "-" * len(head),
    ]
    for key, m in result["measurements"].items():
        lines.append(
            f"{key:<4} {m['label']:<34} {m['records_per_second']:>9,.0f} "
            f"{m['inner_records_per_second']:>11,.0f} {m['wall_seconds']:>8.2f} "
            f"{m['peak_rss_mb']:>7.0f}"
        )
    r = result["ratios"]
    lines.append(
        f"a/b (fraction of bare limit): {r['fraction_of_bare']:.0%} "
        f"(inner {r['fraction_of_bare_inner']:.0%})"
    )
    if r["times_dlt"] is not None:
        lines.append(
            f"a/c (times faster than dlt):  {r['times_dlt']:.1f}x "
            f"(inner {r['times_dlt_inner']:.1f}x)"
        )
    for name, t in result["targets"].items():
        verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        lines.append(f"target {name}: {t['measured']} vs {t['target']} -> {verdict}")
    lines += [f"CHECK FAILED: {f}" for f in result["check_failures"]]
    return "\n".join(lines)


def log(message: str) -> None:
    """Progress on stderr, so --json keeps stdout clean."""
    print(message, file=sys.stderr, flush=True)


def prepare(n: int, seed: int) -> tuple[Path, float | None]:
    """The cached data file, plus generation seconds when it had to be made."""
    if generate.cached_path(n, seed).exists():
        return generate.cached_path(n, seed), None
    start = time.perf_counter()
    path = generate.ensure(n, seed)
    return path, round(time.perf_counter() - start, 2)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 if any correctness check failed."""
    args = parse_args(argv)
    data, gen_seconds = prepare(args.n, args.seed)
    log(f"bench: N={args.n:,} seed={args.seed} file={data}")
    result = report(args, data, gen_seconds, measure_all(args, data))
    out = BENCH / "out" / f"results-{args.n}.json"
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        print(table(result))
        print(f"results: {out}")
    return 1 if result["check_failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
