"""Start-up: how long `ingestry --help` and a 10-line `ingestry ingest` take.

Each command runs as a child process, as a user runs it: R rounds, the commands
interleaved, each round's wall time and CPU (user + system, from `os.wait4`) kept; the
table shows the fastest and the median. Other work on a shared machine only adds time,
so the minimum is the best estimate of what the code costs; CPU moves less than wall.
`--base REV` measures a second revision in the same rounds, command by command, the
order swapped every round, so a before/after pair sees the same load (the medians of
CPU are the figures to compare on a busy machine).

  ingest   `ingestry ingest orders TEN --json` into a database already at the schema
           head (the common case: the check that the schema is current reads
           `alembic_version` with the bare driver; the config comes from the
           validated-config cache `first` wrote, as for every command after the first)
  first    the same into an empty database (made from the schema snapshot, without
           Alembic; SQLAlchemy loads to make the record tables; the config is parsed,
           a cache miss: each round's database URL is new)
  help     `ingestry --help`

One extra run of each under `PYTHONPROFILEIMPORTTIME` gives the import time and which
heavy libraries were loaded. Bytecode is compiled first (`compileall`), as an install
does: with PYTHONDONTWRITEBYTECODE set, every run would otherwise compile ingestry
from source (~0.1 s).

    python bench/startup.py [--repeat 20] [--rev REV] [--base REV] [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

import generate
import revision

BENCH = Path(__file__).resolve().parent
CONFIG = BENCH / "bench.yaml"
LINES = 10
#: Libraries a command should load only when it needs them.
HEAVY = ("alembic", "sqlalchemy", "pydantic", "yaml", "rich", "psycopg", "fastapi")
TARGET_SECONDS = 0.3


def cli() -> list[str]:
    """The real CLI: the console script next to this interpreter, else `python -m`."""
    script = Path(sys.executable).parent / "ingestry"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ingestry"]


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall, cpu) seconds of one child; fails loudly if it does."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        assert proc.stderr is not None
        raise SystemExit(f"startup: {argv} failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def imports(argv: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Import time (sum of every module's own time) and the heavy libraries loaded."""
    proc = subprocess.run(
        argv, cwd=cwd, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True
    )
    total, loaded = 0, set()
    for line in proc.stderr.decode().splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        total += int(own)
        loaded.add(name.partition(".")[0])
    return {"import_ms": round(total / 1000, 1), "heavy": [m for m in HEAVY if m in loaded]}


def environment(pythonpath: str | None) -> dict[str, str]:
    """The caller's environment without INGESTRY_* settings, plus the code to measure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    return env


def side(label: str, rev: str | None, tmp: Path) -> dict[str, Any]:
    """One revision to measure: its environment (exported when `rev`), bytecode compiled."""
    src = str(revision.export(rev, tmp / f"code-{label}")) if rev else None
    env = environment(src)
    code = revision.describe(env, rev)
    subprocess.run([sys.executable, "-m", "compileall", "-q", code["package"]], check=True)
    return {"label": label, "env": env, "code": code}


def summary(walls: list[float], cpus: list[float]) -> dict[str, Any]:
    return {
        "min_s": round(min(walls), 3),
        "median_s": round(statistics.median(walls), 3),
        "cpu_min_s": round(min(cpus), 3),
        "cpu_median_s": round(statistics.median(cpus), 3),
        "walls": [round(w, 3) for w in walls],
        "cpus": [round(c, 3) for c in cpus],
    }


def measure(repeat: int, rev: str | None, base: str | None = None) -> dict[str, Any]:
    """R rounds; with `base`, both revisions in every round, command by command, the
    order swapped each round, so both see the same load."""
    data = generate.ensure(LINES, 42)
    with tempfile.TemporaryDirectory(prefix="ingestry-startup-") as name:
        tmp = Path(name)
        sides = [side("head", rev, tmp)] + ([side("base", base, tmp)] if base else [])
        ingest = [*cli(), "--config", str(CONFIG), "ingest", "orders", str(data), "--json"]
        argv = {"help": [*cli(), "--help"], "ingest": ingest, "first": ingest}
        walls = {(s["label"], k): [] for s in sides for k in argv}
        cpus: dict[tuple[str, str], list[float]] = {key: [] for key in walls}
        for number in range(repeat):
            order = sides if number % 2 == 0 else sides[::-1]
            for s in order:
                (tmp / f"db-{s['label']}{number}").mkdir()
            for key in ("first", "ingest", "help"):  # first makes the database ingest reuses
                for s in order:
                    fresh = tmp / f"db-{s['label']}{number}"
                    run_env = {**s["env"], "INGESTRY_DATABASE_URL": f"sqlite:///{fresh / 'x.db'}"}
                    wall, cpu = timed(argv[key], run_env, fresh)
                    walls[(s["label"], key)].append(wall)
                    cpus[(s["label"], key)].append(cpu)
        result: dict[str, Any] = {"repeat": repeat, "lines": LINES, "load": os.getloadavg()}
        for s in sides:
            profiled = tmp / f"profiled-{s['label']}"  # empty for `first`, then at the head
            profiled.mkdir()
            run_env = {**s["env"], "INGESTRY_DATABASE_URL": f"sqlite:///{profiled / 'x.db'}"}
            loaded = {k: imports(argv[k], run_env, profiled) for k in ("first", "ingest", "help")}
            steps = {
                k: {**summary(walls[(s["label"], k)], cpus[(s["label"], k)]), **loaded[k]}
                for k in ("help", "ingest", "first")
            }
            result["code" if s["label"] == "head" else "base_code"] = s["code"]
            result["steps" if s["label"] == "head" else "base_steps"] = steps
    return result


def table(result: dict[str, Any]) -> str:
    rows = [
        f"{'step':<15} {'min s':>6} {'median s':>9} {'cpu min':>8} {'cpu med':>8}"
        f" {'imports ms':>11}  heavy",
    ]
    for prefix in ("", "base_"):
        if f"{prefix}steps" not in result:
            continue
        code = result[f"{prefix}code"]
        tag = (code["revision"] or "?")[:7]
        for key, step in result[f"{prefix}steps"].items():
            rows.append(
                f"{key + ' ' + tag:<15} {step['min_s']:>6.3f} {step['median_s']:>9.3f}"
                f" {step['cpu_min_s']:>8.3f} {step['cpu_median_s']:>8.3f}"
                f" {step['import_ms']:>11.1f}  {', '.join(step['heavy']) or '-'}"
            )
    code = result["code"]
    where = " (exported)" if code["exported"] else " + uncommitted" if code["src_dirty"] else ""
    load = ", ".join(f"{x:.1f}" for x in result["load"])
    rows.append(
        f"ingestry {(code['revision'] or '?')[:7]}{where}, {result['repeat']} rounds,"
        f" load average at the end {load}; target < {TARGET_SECONDS} s for help and ingest"
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ingestry start-up benchmark")
    parser.add_argument("--repeat", type=int, default=20, help="rounds (default 20)")
    parser.add_argument("--rev", help="measure src/ at this git revision")
    parser.add_argument(
        "--base", help="also measure src/ at this revision, interleaved command by command"
    )
    parser.add_argument("--json", action="store_true", help="print results as JSON only")
    args = parser.parse_args(argv)
    result = measure(max(args.repeat, 1), args.rev, args.base)
    text = orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n"
    out = BENCH / "out" / "startup.json"
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(text)
    if args.json:
        sys.stdout.buffer.write(text)
    else:
        print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
