"""Benchmark: replaying a raw source against its first ingest, on SQLite.

Steps, on one fresh database in a temp dir, each timed in this process:
  ingest        first ingest of N orders into the raw source (as `ingestry ingest`)
  replay-same   replay with the same extractor: every payload re-extracted and compared,
                nothing to write (the cost of checking a source)
  replay-gift   replay after adding a column no payload fills: every raw row and record
                learns the new extractor version, no record gets a new version
  replay-ship   replay after adding a column every payload fills (shipping.country):
                every record gets a new version (history row + update)

    python bench/replay.py [--n 100000] [--seed 42] [--json]

Throughput is payloads per second; `vs ingest` is replay throughput over ingest's.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

import generate

BENCH = Path(__file__).resolve().parent
CONFIG = BENCH / "bench.yaml"
NOTE = "      gift_message: {path: gift_message, type: text}\n"  # in no payload
SHIP = "      ship_to:      {path: shipping.country, type: text}\n"


def config_text(database: Path, extra: str = "") -> str:
    text = CONFIG.read_text(encoding="utf-8")
    text = text.replace("sqlite:///out/bench-manual.db", f"sqlite:///{database}")
    anchor = "      paid:         {path: financial.paid, type: boolean}\n"
    return text.replace(anchor, anchor + extra)


def timed(label: str, n: int, call: Any) -> dict[str, Any]:
    started = time.perf_counter()
    summary = call()
    seconds = time.perf_counter() - started
    row = {"step": label, "seconds": round(seconds, 3), "rows_per_s": round(n / seconds)}
    row["summary"] = {
        k: v for k, v in summary.as_dict().items() if isinstance(v, int) and not isinstance(v, bool)
    }
    return row


def run(n: int, seed: int) -> list[dict[str, Any]]:
    import ingestry

    data = generate.ensure(n, seed)
    steps: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ingestry-replay-bench-") as tmp:
        root = Path(tmp)
        path = root / "ingestry.yaml"
        database = root / "bench.db"
        path.write_text(config_text(database), encoding="utf-8")
        with ingestry.open(path) as store:
            steps.append(timed("ingest", n, lambda: store.ingest_files("orders", [data])))
            steps.append(timed("replay-same", n, lambda: store.replay("orders")))
        for label, extra in (("replay-gift", NOTE), ("replay-ship", NOTE + SHIP)):
            path.write_text(config_text(database, extra), encoding="utf-8")
            with ingestry.open(path) as store:  # opening evolves the record table
                steps.append(timed(label, n, lambda s=store: s.replay("orders")))
    base = steps[0]["rows_per_s"]
    for step in steps[1:]:
        step["vs_ingest"] = round(step["rows_per_s"] / base, 2)
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    steps = run(args.n, args.seed)
    if args.json:
        print(orjson.dumps({"n": args.n, "steps": steps}).decode())
        return
    workers = os.environ.get("INGESTRY_WORKERS", "default")
    print(f"replay bench, {args.n:,} orders, SQLite, INGESTRY_WORKERS={workers}")
    for step in steps:
        ratio = f"  ({step['vs_ingest']:.0%} of ingest)" if "vs_ingest" in step else ""
        print(f"  {step['step']:<12} {step['seconds']:>8.2f} s  {step['rows_per_s']:>9,}/s{ratio}")
        print(f"  {'':<12} {step['summary']}")


if __name__ == "__main__":
    main()
