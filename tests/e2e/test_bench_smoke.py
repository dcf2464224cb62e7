"""The benchmark still runs end to end: `bench/run.py --quick --skip-dlt --json`.

Catches a bench that rots when the CLI or config changes, and checks the one
correctness property the bench relies on: a second ingest of the same file is all
duplicates and unchanged records.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench_result() -> dict[str, Any]:
    """One quick bench run, shared by the assertions below."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--skip-dlt", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


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
