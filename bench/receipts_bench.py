"""Receipts' cost on ingest and re-ingest: steps a, a2, pa, pa2 of `run.py` only, for two
revisions alternating round by round (`--base REV --rev REV`, the working tree when no
`--rev`), so a shared machine's load falls on both alike. Prints every round's CPU
seconds (client; plus server for pa*) and each side's best and median.

    .venv/bin/python bench/receipts_bench.py --n 100000 --rounds 3 --base ff3c229
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import pgdb
import revision
from run import Run, ingest_step, pg_ingest_step, prepare

STEPS = ("a", "a2", "pa", "pa2")
#: The PostgreSQL steps' server CPU alone, reported beside client + server.
SERVER = ("pa.srv", "pa2.srv")


def one_round(data: Path, rev: str | None, number: int) -> dict[str, float]:
    """One round of the four steps in a fresh temp dir; CPU seconds per step."""
    with tempfile.TemporaryDirectory(prefix="ingestry-receipts-bench-") as name:
        tmp = Path(name)
        src = None
        if rev and Path(rev).is_dir():
            src = str(Path(rev).resolve())  # a src/ tree (a variant not committed)
        elif rev:
            src = str(revision.export(rev, tmp / "code"))
        pg = pgdb.Databases(pgdb.admin_url(), number)
        run = Run(data, tmp, src, pg)
        try:
            steps = [
                ingest_step(run, "a", "raw ingest", "orders", "raw"),
                ingest_step(run, "a2", "re-ingest", "orders", "raw"),
                pg_ingest_step(run, "pa", "PG raw ingest", "orders", "raw"),
                pg_ingest_step(run, "pa2", "PG re-ingest", "orders", "raw"),
            ]
        finally:
            pg.close()
    got = {s.key: s.cpu_seconds + (s.server_cpu_seconds or 0.0) for s in steps}
    server = {f"{s.key}.srv": s.server_cpu_seconds or 0.0 for s in steps}
    got.update({k: v for k, v in server.items() if k in SERVER})
    return got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base", required=True, help="the revision to compare with")
    parser.add_argument("--rev", default=None, help="the revision measured (default: tree)")
    parser.add_argument(
        "--also", action="append", default=[], metavar="NAME=REV",
        help="a further side measured in the same rounds (a revision or a src/ directory)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    data, _ = prepare(args.n, 42)
    sides = {"base": args.base, "head": args.rev}
    sides.update(dict(side.split("=", 1) for side in args.also))
    keys = STEPS + SERVER
    seen: dict[str, dict[str, list[float]]] = {s: {k: [] for k in keys} for s in sides}
    for number in range(1, args.rounds + 1):
        for side, rev in sides.items():
            got = one_round(data, rev, number)
            load = os.getloadavg()[0]
            shown = " ".join(f"{k} {got[k]:.2f}" for k in keys)
            print(side, number, shown, f"load {load:.1f}", flush=True)
            for key in keys:
                seen[side][key].append(got[key])
    for key in keys:
        base = seen["base"][key]
        for side in sides:
            if side == "base":
                continue
            got = seen[side][key]
            print(
                f"{key:<7} base best {min(base):.2f} median {statistics.median(base):.2f}"
                f" | {side} best {min(got):.2f} median {statistics.median(got):.2f}"
                f" | best {min(got) / min(base) - 1:+.1%}"
                f" median {statistics.median(got) / statistics.median(base) - 1:+.1%}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
