"""Start-up: `ingestry --help` (and every command's `--help`) loads no heavy library.

A fresh interpreter (a subprocess) runs the CLI's help and reports what it imported;
timings would flake on a shared machine, the module list does not (bench/startup.py
has the timings).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ingestry.entrypoints.cli.commands as commands

#: Libraries (and ingestry modules) a help text must not need.
HEAVY = (
    "alembic",
    "sqlalchemy",
    "pydantic",
    "yaml",
    "rich",
    "psycopg",
    "redis",
    "fastapi",
    "starlette",
    "uvicorn",
    "multiprocessing",
    "ingestry.config",
    "ingestry.store",
    "ingestry.bootstrap",
    "ingestry.adapters",
    "ingestry.services",
)

PROBE = """
import contextlib, io, sys
from ingestry.entrypoints.cli import main
for argv in {argvs!r}:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code in (0, None), (argv, exc.code)
print("\\n".join(sorted(sys.modules)))
"""


def loaded_by(argvs: list[list[str]]) -> set[str]:
    """The modules a fresh interpreter holds after running the CLI with each argv."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(argvs=argvs)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def test_help_loads_no_heavy_library() -> None:
    modules = loaded_by([["--help"]])
    assert "ingestry.entrypoints.cli.commands.ingest" in modules  # help lists the commands
    assert [m for m in HEAVY if m in modules] == []


def test_every_commands_help_loads_no_heavy_library() -> None:
    names = sorted(p.stem for p in Path(commands.__file__).parent.glob("[a-z]*.py"))
    assert "ingest" in names
    modules = loaded_by([[name, "--help"] for name in names])
    assert [m for m in HEAVY if m in modules] == []
