"""The benchmark still runs end to end: `bench/run.py --quick --skip-dlt --json`, once per
backend.

Catches a bench that rots when the CLI or config changes, and checks the one
correctness property the bench relies on: a second ingest of the same file is all
duplicates and unchanged records.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.backends import POSTGRES_DEFAULT, POSTGRES_ENV
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]


def run_json(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a command that prints JSON; it must succeed; its output parsed."""
    proc = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def run_bench(backend: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """One quick bench run on `backend`, its --json output parsed."""
    argv = [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--skip-dlt", "--json"]
    return run_json([*argv, "--backend", backend], ROOT, env)


@pytest.fixture(scope="module")
def bench_result() -> dict[str, Any]:
    """One quick SQLite bench run, shared by the assertions below."""
    return run_bench("sqlite")


@pytest.fixture(scope="module")
def pg_bench_result() -> dict[str, Any]:
    """One quick PostgreSQL bench run on the test server (fresh databases, dropped after)."""
    url = require_service("PostgreSQL", POSTGRES_ENV, POSTGRES_DEFAULT)
    return run_bench("postgres", {**os.environ, "INGESTRY_BENCH_POSTGRES_URL": url})


@pytest.mark.slow
def test_every_step_reports_a_positive_rate(bench_result: dict[str, Any]) -> None:
    steps = bench_result["measurements"]
    assert set(steps) == {"a", "a2", "a3", "b"}
    for step in steps.values():
        assert step["records"] == bench_result["n"]
        assert step["records_per_second"] > 0
        assert step["peak_rss_mb"] > 0


@pytest.mark.slow
def test_reingest_is_all_duplicates_and_unchanged(bench_result: dict[str, Any]) -> None:
    n = bench_result["n"]
    summary = bench_result["measurements"]["a2"]["summary"]
    assert summary["raw_duplicates"] == n
    assert summary["records_unchanged"] == n
    assert summary["raw_stored"] == summary["records_created"] == 0
    assert bench_result["check_failures"] == []


@pytest.mark.slow
def test_ratios_are_computed(bench_result: dict[str, Any]) -> None:
    assert bench_result["ratios"]["fraction_of_bare"] > 0
    assert bench_result["ratios"]["times_dlt"] is None
    assert "pg_fraction_of_bare" not in bench_result["ratios"]


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_steps_report_rates_and_server_cpu(pg_bench_result: dict[str, Any]) -> None:
    steps = pg_bench_result["measurements"]
    assert set(steps) == {"pa", "pa2", "pa3", "pb"}
    for step in steps.values():
        assert step["records"] == pg_bench_result["n"]
        assert step["records_per_second"] > 0
        # sampled from /proc when the server runs here (a short step may show 0.0)
        assert step["server_cpu_seconds"] is None or step["server_cpu_seconds"] >= 0


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_reingest_is_all_duplicates(pg_bench_result: dict[str, Any]) -> None:
    n = pg_bench_result["n"]
    summary = pg_bench_result["measurements"]["pa2"]["summary"]
    assert summary["raw_duplicates"] == summary["records_unchanged"] == n
    assert summary["raw_stored"] == summary["records_created"] == 0
    assert pg_bench_result["check_failures"] == []
    ratios = pg_bench_result["ratios"]
    assert ratios["pg_fraction_of_bare"] > 0
    assert ratios["pg_reingest_speedup"] > 0
    assert ratios["pg_times_dlt"] is None
    assert set(pg_bench_result["targets"]) == {
        "pg_fraction_of_bare",
        "pg_times_dlt",
        "pg_reingest_speedup",
    }


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_bench_databases_are_dropped(pg_bench_result: dict[str, Any]) -> None:
    import psycopg

    prefix = pg_bench_result["postgres_database_prefix"]
    assert prefix.startswith("ingestry_bench_")
    url = require_service("PostgreSQL", POSTGRES_ENV, POSTGRES_DEFAULT)
    with psycopg.connect(url, autocommit=True) as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        ).fetchall()
    assert left == []


@pytest.mark.slow
def test_startup_bench_runs_and_reports_what_each_command_loads() -> None:
    """`bench/startup.py` (one round): the three steps, timed, with the heavy libraries
    each loaded; only the empty database's first ingest needs the SQL toolkit."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "startup.py"), "--repeat", "1", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    steps = json.loads(proc.stdout)["steps"]
    assert set(steps) == {"help", "ingest", "first"}
    assert all(step["min_s"] > 0 for step in steps.values())
    assert steps["help"]["heavy"] == []
    assert "sqlalchemy" not in steps["ingest"]["heavy"]
    # a new store: its record tables through SQLAlchemy, its schema from the snapshot
    # (adapters/schema_load.py), so no Alembic
    assert "sqlalchemy" in steps["first"]["heavy"]
    assert "alembic" not in steps["first"]["heavy"]


@pytest.mark.slow
def test_the_csv_bench_runs_and_every_step_takes_every_row() -> None:
    """`bench/run.py --csv` at a small N, SQLite: every step (ingestry with and without
    read options, the bare script with and without) received all N rows."""
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--csv",
            "--n",
            "500",
            "--backend",
            "sqlite",
        ],
        cwd=ROOT / "bench",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    result = json.loads((ROOT / "bench" / "out" / "csv-results-500.json").read_text())
    assert set(result) == {"si", "sio", "sb", "sbo", "code"}  # "code": what was measured
    steps = [v for k, v in result.items() if k != "code"]
    assert all(step["records"] == 500 for step in steps)


@pytest.mark.slow
def test_the_csv_bench_emits_inputs_that_ingest_whole(tmp_path: Path) -> None:
    """`bench/csv_bench.py --emit DIR` (the inputs of a callgrind run): its config reads
    both files, every row a record, none quarantined."""
    bench = [sys.executable, str(ROOT / "bench" / "csv_bench.py")]
    subprocess.run([*bench, "--n", "20", "--emit", str(tmp_path)], cwd=ROOT, check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    env["INGESTRY_DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite'}"
    for source, name in (("flights", "flights-20.csv"), ("flights_opt", "flights-20-opt.csv")):
        argv = [sys.executable, "-m", "ingestry", "--config", str(tmp_path / "bench.yaml")]
        summary = run_json([*argv, "ingest", source, str(tmp_path / name), "--json"], tmp_path, env)
        assert (summary["records_created"], summary["quarantined"]) == (20, 0)
