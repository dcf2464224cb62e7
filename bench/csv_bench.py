"""Narrow CSV rows (issue 16): ingestry's raw CSV ingest against the bare limit
(bench/bare_csv.py) in the same run, with and without read options, per backend.

The file: N rows of 19 columns, ~100 bytes each (a flights table), unique ids; a raw
source declares 7 columns. The options file holds the same rows with `;`, Latin-1,
decimal commas and slash dates, read with `delimiter`, `encoding`, `decimal` and a
column `format`: the difference between the two ingestry steps is what the options
cost. Each step is a child process on a fresh database; the fastest of --repeat rounds
is kept (other load on a shared machine only ever adds time). Every other round runs
each options step before its plain one (a step right after a 1 GB ingest shares the
disk with that ingest's write-back).

    python bench/csv_bench.py [--n 100000] [--repeat 1] [--backend sqlite|postgres|both]
                              [--rev REV] [--emit DIR]

`--emit DIR` writes the two files and the config (`bench.yaml`) to DIR and stops: the
same inputs for a profiler or valgrind run of one ingest (bench/README.md, "Read options
on SQLite").

`--rev REV` measures `src/` at a git revision (exported, first on the children's
PYTHONPATH: see bench/revision.py), so two commits can be compared in alternating runs.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson

import pgdb
import revision
from measure import Measurement, run_child

BENCH = Path(__file__).resolve().parent
HEADER = (
    "id,day,carrier,flight,origin,dep_delay,dest,dep_time,distance,arr_time,arr_delay,"
    "cancelled,price,tail,hour,minute,air_time,seats,crs"
)
CONFIG = """\
database: sqlite:///unused.db
conventions:
  flight:
    columns:
      day: {type: date}
      carrier: {type: text}
      flight: {type: integer}
      dep_delay: {type: float}
      distance: {type: float}
      price: {type: decimal}
      cancelled: {type: boolean}
  flight_opt:
    columns:
      day: {type: date, format: "%Y/%m/%d"}
      carrier: {type: text}
      flight: {type: integer}
      dep_delay: {type: float}
      distance: {type: float}
      price: {type: decimal}
      cancelled: {type: boolean}
sources:
  flights:
    strategy: raw
    convention: flight
    rationale: bench
    format: csv
    id: id
  flights_opt:
    strategy: raw
    convention: flight_opt
    rationale: bench
    format: csv
    id: id
    delimiter: ";"
    encoding: latin-1
    decimal: ","
"""


def generate(n: int, directory: Path) -> tuple[Path, Path]:
    """The plain file and the options file, the same rows."""
    rng = random.Random(16)
    plain, opt = directory / f"flights-{n}.csv", directory / f"flights-{n}-opt.csv"
    with plain.open("w", encoding="utf-8") as p, opt.open("w", encoding="latin-1") as o:
        p.write(HEADER + "\n")
        o.write(HEADER.replace(",", ";") + "\n")
        for i in range(n):
            month, day = i % 12 + 1, i % 28 + 1
            delay = "NA" if i % 40 == 0 else str(rng.randint(-15, 240))
            distance = f"{rng.randint(80, 4900)}.0"
            price = f"{rng.randint(30, 900)}.{rng.randint(0, 99):02d}"
            tail = f"N{rng.randint(100, 999)}{'É' if i % 97 == 0 else 'A'}{chr(65 + i % 26)}"
            rest = [
                rng.choice(["JFK", "LGA", "EWR"]), delay, rng.choice(["ATL", "ORD", "LAX", "SFO"]),
                str(rng.randint(500, 2359)), distance, str(rng.randint(500, 2359)),
                str(rng.randint(-30, 240)), "1" if i % 50 == 0 else "0", price, tail,
                str(rng.randint(5, 23)), str(rng.randint(0, 59)), str(rng.randint(20, 600)),
                str(rng.randint(50, 300)), rng.choice(["Y", "N"]),
            ]  # fmt: skip
            head = [
                f"F{i:08d}",
                None,
                rng.choice(["UA", "AA", "DL", "B6"]),
                str(rng.randint(1, 9999)),
            ]
            p.write(",".join([head[0], f"2024-{month:02d}-{day:02d}", *head[2:], *rest]) + "\n")
            comma = [v.replace(".", ",") if k in (4, 8) else v for k, v in enumerate(rest)]
            o.write(";".join([head[0], f"2024/{month:02d}/{day:02d}", *head[2:], *comma]) + "\n")
    return plain, opt


def ingestry_argv(config: Path, source: str, data: Path) -> list[str]:
    script = Path(sys.executable).parent / "ingestry"
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "ingestry"]
    return [*cli, "--config", str(config), "ingest", source, str(data), "--json"]


def step(
    key: str, label: str, argv: list[str], workdir: Path, env: dict[str, str], server: Any = None
) -> Measurement:
    workdir.mkdir(parents=True)
    child = run_child(argv, workdir, env, server)
    return Measurement.of(key, label, child, inner_seconds=float(child.output["seconds"]))


def measure(args: argparse.Namespace, plain: Path, opt: Path) -> dict[str, Measurement]:
    import os

    best: dict[str, Measurement] = {}
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    for number in range(1, args.repeat + 1):
        with tempfile.TemporaryDirectory(prefix="ingestry-csvbench-") as name:
            tmp = Path(name)
            if args.rev:  # the children import ingestry from src/ at that revision
                src = str(revision.export(args.rev, tmp / "code"))
                before = os.environ.get("PYTHONPATH")
                base_env["PYTHONPATH"] = src + (os.pathsep + before if before else "")
            args.code = revision.describe(base_env, args.rev)
            config = tmp / "bench.yaml"
            config.write_text(CONFIG)
            pg = pgdb.Databases(pgdb.admin_url(), number) if "postgres" in args.backends else None
            try:
                steps: list[tuple[str, str, str, Path]] = [
                    ("i", "ingestry raw CSV", "ingestry", plain),
                    ("io", "ingestry raw CSV, read options", "ingestry", opt),
                    ("b", "bare csv + executemany", "bare", plain),
                    ("bo", "bare, same options", "bare", opt),
                ]
                if number % 2 == 0:
                    # every other round the options step goes first: a step run right after
                    # a 1 GB ingest shares the disk with its write-back (+8-13% in seconds
                    # when it always came second, against +1.6% in instructions)
                    steps = [steps[1], steps[0], steps[3], steps[2]]
                for backend in args.backends:
                    for key, label, kind, data in steps:
                        tag = f"{backend[0]}{key}"
                        server = None
                        if backend == "sqlite":
                            url = f"sqlite:///{tmp / tag / 'db.sqlite'}"
                        else:
                            assert pg is not None
                            url = pg.url(tag)
                            server = pgdb.BackendCpu(pg.admin, pg.name(tag))
                        env = {**base_env, "INGESTRY_DATABASE_URL": url}
                        if kind == "ingestry":
                            source = "flights_opt" if data is opt else "flights"
                            argv = ingestry_argv(config, source, data)
                        else:
                            argv = [sys.executable, str(BENCH / "bare_csv.py"), str(data), url]
                            argv += ["--options"] if data is opt else []
                        result = step(tag, f"{backend}: {label}", argv, tmp / tag, env, server)
                        print(
                            f"  {tag:<4} {result.label:<42} {result.wall_seconds:7.2f} s"
                            f"  cpu {result.cpu_seconds:6.2f} s  others "
                            f"{result.other_cpu_cores:.2f} cores",
                            file=sys.stderr,
                            flush=True,
                        )
                        if tag not in best or result.wall_seconds < best[tag].wall_seconds:
                            best[tag] = result
            finally:
                if pg is not None:
                    pg.close()
    return best


def table(n: int, best: dict[str, Measurement]) -> str:
    lines = [
        f"N={n:,} narrow CSV rows (19 columns, 7 declared, raw strategy)",
        "| step | wall s | inner s | rows/s (inner) | cpu s | server cpu s | vs bare (inner) "
        "| vs bare (cpu) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tag, m in best.items():
        bare = best.get(tag[0] + ("bo" if tag.endswith("io") else "b"))
        ratio = cpu_ratio = ""
        if bare and tag[1] == "i":
            ratio = f"{bare.inner_seconds / m.inner_seconds:.2f}x"
            cpu_ratio = f"{_cpu(bare) / _cpu(m):.2f}x"
        server = f"{m.server_cpu_seconds:.2f}" if m.server_cpu_seconds is not None else ""
        lines.append(
            f"| {m.label} | {m.wall_seconds:.2f} | {m.inner_seconds:.2f} | "
            f"{n / m.inner_seconds:,.0f} | {m.cpu_seconds:.2f} | {server} | {ratio} "
            f"| {cpu_ratio} |"
        )
    for backend in ("s", "p"):
        if f"{backend}i" in best and f"{backend}io" in best:
            plain, opt = best[f"{backend}i"], best[f"{backend}io"]
            cost = opt.inner_seconds / plain.inner_seconds - 1
            cpu = _cpu(opt) / _cpu(plain) - 1
            lines.append(
                f"read options cost ({'SQLite' if backend == 's' else 'PostgreSQL'}): "
                f"{cost:+.1%} inner, {cpu:+.1%} cpu"
            )
    return "\n".join(lines)


def _cpu(m: Measurement) -> float:
    """The step's CPU: its processes' and the PostgreSQL backends serving it."""
    return m.cpu_seconds + (m.server_cpu_seconds or 0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rev", help="measure src/ at this git revision, not the working tree")
    parser.add_argument("--emit", type=Path, help="write the files and config here, then stop")
    args = parser.parse_args(argv)
    if args.emit is not None:
        args.emit.mkdir(parents=True, exist_ok=True)
        (args.emit / "bench.yaml").write_text(CONFIG)
        for path in generate(args.n, args.emit):
            print(path)
        return 0
    args.backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    plain, opt = generate(args.n, out)
    best = measure(args, plain, opt)
    for m in best.values():
        if m.records != args.n:
            print(f"check failed: {m.label} received {m.records:,}, not {args.n:,}")
            return 1
    text = table(args.n, best)
    print(text)
    results: dict[str, Any] = {k: m.as_dict() for k, m in best.items()}
    results["code"] = args.code
    name = f"csv-results-{args.n}" + (f"-{args.rev}" if args.rev else "")
    (out / f"{name}.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
