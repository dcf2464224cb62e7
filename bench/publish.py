"""Benchmark: `bulk_publish` against file ingest of the same orders, on SQLite.

Each step is a child process on a fresh database (see bench/measure.py: wall, CPU of
the child and its workers, peak RSS, CPU others used meanwhile):

  ingest_simple      store.ingest_files("orders_simple", FILE)   file ingest, simple source
  ingest_simple_nx   the same without the outbox writer (IngestService, on_changes=None;
                     on SQLite the same work since its changes are its events)
  ingest_raw         store.ingest_files("orders", FILE)          file ingest, raw source
  publish_stream     bulk_publish of (DepositionSource(id), order) parsed lazily from FILE
  publish_prebuilt   bulk_publish of the same items built in memory first (not timed)
  dispatch           bulk_publish, then time store.dispatcher().run_once(): the outbox
                     drained by the built-in handlers (no hooks configured)

    .venv/bin/python bench/publish.py --n 100000 [--seed 42] [--repeat 1] [--json]

Target (issue 4): bulk_publish of N records within 2x the time of file ingest of the
same records. The figures are written to bench/out/publish-N.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

import generate
from measure import ChildRun, run_child

BENCH = Path(__file__).resolve().parent
CONFIG = BENCH / "bench.yaml"
STEPS = (
    "ingest_simple",
    "ingest_simple_nx",
    "ingest_raw",
    "publish_stream",
    "publish_prebuilt",
    "dispatch",
)
TARGET_RATIO = 2.0


# --- child side ----------------------------------------------------------------------------


def _items(path: Path) -> Any:
    from ingestry import DepositionSource

    with path.open("rb") as lines:
        for line in lines:
            doc = orjson.loads(line)
            yield DepositionSource(str(doc["id"])), doc


def child(step: str, data: Path) -> dict[str, Any]:
    """Run one step in this process; returns what the parent prints and checks."""
    import ingestry

    with ingestry.open(CONFIG) as store:
        if step in ("ingest_simple", "ingest_raw"):
            source = "orders_simple" if step == "ingest_simple" else "orders"
            started = time.perf_counter()
            summary = store.ingest_files(source, [data])
            inner = time.perf_counter() - started
            return {
                "received": summary.received,
                "created": summary.records_created,
                "inner_seconds": inner,
                "events": store.pending_events(),
            }
        if step == "ingest_simple_nx":
            from ingestry.adapters.files import open_inputs
            from ingestry.bootstrap import build_parallel
            from ingestry.services.ingest import IngestService

            source = store.source("orders_simple")
            extractor = store.extractor(source)
            service = IngestService(store.storage, lambda _: extractor, parallel=build_parallel())
            started = time.perf_counter()
            summary = service.ingest(source, open_inputs([str(data)], source.format))
            inner = time.perf_counter() - started
            return {
                "received": summary.received,
                "created": summary.records_created,
                "inner_seconds": inner,
                "events": store.pending_events(),
            }
        items: Any = _items(data)
        if step == "publish_prebuilt":
            items = list(items)
        started = time.perf_counter()
        published = store.bulk_publish("order", items)
        inner = time.perf_counter() - started
        out: dict[str, Any] = {
            "received": published.received,
            "created": published.created,
            "rejected": published.rejected,
            "inner_seconds": inner,
            "events": store.pending_events(),
        }
        if step == "dispatch":
            started = time.perf_counter()
            delivered = store.dispatcher().run_once()
            out["inner_seconds"] = time.perf_counter() - started
            out["publish_seconds"] = inner
            out["delivered"] = delivered.delivered
            out["events"] = store.pending_events()
        return out


# --- parent side ---------------------------------------------------------------------------


def measure(step: str, data: Path) -> tuple[ChildRun, float]:
    with tempfile.TemporaryDirectory(prefix="ingestry-publish-") as tmp:
        workdir = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
        if "INGESTRY_WORKERS" in os.environ:
            env["INGESTRY_WORKERS"] = os.environ["INGESTRY_WORKERS"]
        env["INGESTRY_DATABASE_URL"] = f"sqlite:///{workdir / 'bench.db'}"
        src = str(BENCH.parent / "src")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        argv = [sys.executable, str(Path(__file__).resolve()), "--child", step, "--data", str(data)]
        run = run_child(argv, workdir, env)
    return run, float(run.output["inner_seconds"])


def check(step: str, n: int, out: dict[str, Any]) -> None:
    # ingest_simple_nx: SQLite's changes are its events (migration 20261206_010000), so
    # leaving the outbox writer out leaves them pending all the same
    expected_events = 0 if step == "dispatch" else n
    if out["received"] != n or out["created"] != n or out["events"] != expected_events:
        raise SystemExit(f"{step}: wrong result {out} for N={n}")
    if step == "dispatch" and out["delivered"] != n:
        raise SystemExit(f"dispatch delivered {out['delivered']} of {n}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bulk_publish vs file ingest (SQLite)")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=1, help="keep each step's fastest round")
    parser.add_argument("--steps", default=",".join(STEPS), help="comma-separated subset")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sys.stdout.write(orjson.dumps(child(args.child, args.data)).decode())
        return 0
    data = generate.ensure(args.n, args.seed)
    results: dict[str, dict[str, Any]] = {}
    for step in args.steps.split(","):
        best: dict[str, Any] | None = None
        for _ in range(args.repeat):
            run, inner = measure(step, data)
            check(step, args.n, run.output)
            figures = {
                "wall_seconds": round(run.wall_seconds, 3),
                "inner_seconds": round(inner, 3),
                "cpu_seconds": round(run.cpu_seconds, 3),
                "peak_tree_rss_mb": round(run.peak_tree_rss_mb, 1),
                "other_cpu_cores": round(run.other_cpu_cores, 2),
                "output": run.output,
            }
            if best is None or figures["inner_seconds"] < best["inner_seconds"]:
                best = figures
            print(f"{step}: {figures['inner_seconds']} s inner", file=sys.stderr)
        assert best is not None
        results[step] = best
    ratios = _ratios(results)
    report = {"n": args.n, "seed": args.seed, "steps": results, "ratios": ratios}
    out = BENCH / "out" / f"publish-{args.n}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    if args.json:
        print(orjson.dumps(report).decode())
    else:
        _print(args.n, results, ratios)
    return 0


def _ratios(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    base = results.get("ingest_simple")
    for step in ("publish_stream", "publish_prebuilt"):
        if base and step in results:
            for kind in ("inner_seconds", "wall_seconds", "cpu_seconds"):
                out[f"{step}/ingest_simple {kind}"] = round(results[step][kind] / base[kind], 2)
    nx = results.get("ingest_simple_nx")
    if base and nx:
        out["outbox cost (ingest_simple/ingest_simple_nx inner)"] = round(
            base["inner_seconds"] / nx["inner_seconds"], 3
        )
    return out


def _print(n: int, results: dict[str, dict[str, Any]], ratios: dict[str, float]) -> None:
    print(f"N={n:,}")
    header = ("inner s", "wall s", "cpu s")
    print(
        f"{'step':<18}"
        + "".join(f"{h:>9}" for h in header)
        + f"{'rec/s':>10}{'tree MB':>9}{'other':>7}"
    )
    for step, r in results.items():
        rate = n / r["inner_seconds"] if r["inner_seconds"] else 0
        print(
            f"{step:<18}{r['inner_seconds']:>9.2f}{r['wall_seconds']:>9.2f}"
            f"{r['cpu_seconds']:>9.2f}{rate:>10,.0f}{r['peak_tree_rss_mb']:>9.0f}"
            f"{r['other_cpu_cores']:>7.2f}"
        )
        if r["other_cpu_cores"] > 0.25:
            print(f"  WARNING: other processes used {r['other_cpu_cores']} cores meanwhile")
    for name, value in ratios.items():
        verdict = ""
        if name.startswith("publish") and "inner" in name:
            verdict = "  (target <= 2.0: " + ("met)" if value <= TARGET_RATIO else "MISSED)")
        print(f"{name}: {value}{verdict}")


if __name__ == "__main__":
    sys.exit(main())
