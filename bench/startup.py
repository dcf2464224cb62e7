"""Start-up: how long `ingestry --help` and a 10-line `ingestry ingest` take.

Each command runs as a child process, as a user runs it: R rounds, the commands
interleaved, each round's wall time and CPU (user + system, from `os.wait4`) kept; the
table shows the fastest and the median. Other work on a shared machine only adds time,
so the minimum is the best estimate of what the code costs; CPU moves less than wall.

  ingest   `ingestry ingest orders TEN --json` into a database already at the schema
           head (the common case: the check that the schema is current reads
           `alembic_version` with the bare driver)
  first    the same into an empty database (migrates it: Alembic and SQLAlchemy load)
  help     `ingestry --help`

One extra run of each under `PYTHONPROFILEIMPORTTIME` gives the import time and which
heavy libraries were loaded. Bytecode is compiled first (`compileall`), as an install
does: with PYTHONDONTWRITEBYTECODE set, every run would otherwise compile ingestry
from source (~0.1 s).

    python bench/startup.py [--repeat 20] [--rev REV] [--json]
"""

from __future__ import annotations

import argparse
import os
import shutil
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


def measure(repeat: int, rev: str | None) -> dict[str, Any]:
    data = generate.ensure(LINES, 42)
    with tempfile.TemporaryDirectory(prefix="ingestry-startup-") as name:
        tmp = Path(name)
        src = str(revision.export(rev, tmp / "code")) if rev else None
        env = environment(src)
        code = revision.describe(env, rev)
        subprocess.run([sys.executable, "-m", "compileall", "-q", code["package"]], check=True)
        ingest = [*cli(), "--config", str(CONFIG), "ingest", "orders", str(data), "--json"]
        argv = {"help": [*cli(), "--help"], "ingest": ingest, "first": ingest}
        walls: dict[str, list[float]] = {k: [] for k in argv}
        cpus: dict[str, list[float]] = {k: [] for k in argv}
        for number in range(repeat):
            fresh = tmp / f"db{number}"
            fresh.mkdir()
            for key in ("first", "ingest", "help"):  # first makes the database ingest reuses
                run_env = {**env, "INGESTRY_DATABASE_URL": f"sqlite:///{fresh / 'x.db'}"}
                wall, cpu = timed(argv[key], run_env, fresh)
                walls[key].append(wall)
                cpus[key].append(cpu)
        profiled = tmp / "profiled"  # empty for `first`, then at the head for the rest
        profiled.mkdir()
        run_env = {**env, "INGESTRY_DATABASE_URL": f"sqlite:///{profiled / 'x.db'}"}
        loaded = {key: imports(argv[key], run_env, profiled) for key in ("first", "ingest", "help")}
        steps = {
            key: {
                "min_s": round(min(walls[key]), 3),
                "median_s": round(statistics.median(walls[key]), 3),
                "cpu_min_s": round(min(cpus[key]), 3),
                **loaded[key],
                "walls": [round(w, 3) for w in walls[key]],
            }
            for key in ("help", "ingest", "first")
        }
        shutil.rmtree(tmp / "code", ignore_errors=True)
    return {"repeat": repeat, "lines": LINES, "code": code, "steps": steps}


def table(result: dict[str, Any]) -> str:
    rows = [
        f"{'step':<7} {'min s':>6} {'median s':>9} {'cpu s':>6} {'imports ms':>11}  heavy",
    ]
    for key, step in result["steps"].items():
        rows.append(
            f"{key:<7} {step['min_s']:>6.3f} {step['median_s']:>9.3f} {step['cpu_min_s']:>6.3f}"
            f" {step['import_ms']:>11.1f}  {', '.join(step['heavy']) or '-'}"
        )
    code = result["code"]
    where = " (exported)" if code["exported"] else " + uncommitted" if code["src_dirty"] else ""
    rows.append(
        f"ingestry {(code['revision'] or '?')[:7]}{where}, {result['repeat']} rounds;"
        f" target < {TARGET_SECONDS} s for help and ingest"
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ingestry start-up benchmark")
    parser.add_argument("--repeat", type=int, default=20, help="rounds (default 20)")
    parser.add_argument("--rev", help="measure src/ at this git revision")
    parser.add_argument("--json", action="store_true", help="print results as JSON only")
    args = parser.parse_args(argv)
    result = measure(max(args.repeat, 1), args.rev)
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
