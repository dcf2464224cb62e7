"""The embedded default works with the base install only: no optional library.

`./dev demo` on a fresh machine installs `.` without extras; the test suite runs with
the dev extras, so an import of psycopg (or redis, fastapi, duckdb, pyarrow …) on the
SQLite path would pass every other test and still break the quickstart. Here the
optional libraries are made unimportable in the child process, as on a base install.
(It failed after the identity migration imported the postgres package at module level.)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OPTIONAL = ["psycopg", "redis", "fastapi", "uvicorn", "duckdb", "pyarrow", "openpyxl",
            "zstandard", "httpx", "croniter", "shapely", "prometheus_client",
            "jinja2"]  # fmt: skip

RUNNER = """
import sys
for name in {optional!r}:
    sys.modules[name] = None  # import raises ImportError, as if not installed
from ingestry.entrypoints.cli import main
sys.argv = ["ingestry", *sys.argv[1:]]
main()
"""


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    code = RUNNER.format(optional=OPTIONAL)
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True,
        timeout=180, check=False,
    )  # fmt: skip


def test_the_main_job_runs_on_sqlite_without_optional_libraries(local_project: Path) -> None:
    done = _run("run", cwd=local_project)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    stats = _run("stats", "--json", cwd=local_project)
    assert stats.returncode == 0, stats.stderr.decode()[-3000:]
    assert b'"customer_orders"' in stats.stdout
