"""The second wave's benchmark scripts still run, at a tiny size, in CI: a bench that rots
when the CLI, config or storage changes fails here instead of on the day someone
measures. Each run must finish and report the figure its README table is made of."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CASES = {
    # script, arguments, a text its output must hold
    "geo": ("geo_bench.py", ["--n", "2000", "--repeat", "1"], '"n":2000'),
    "fork": ("fork_bench.py", ["--n", "300", "--repeat", "1", "--json"], "fork_vs_export_import"),
    "backup": (
        "backup_bench.py",
        ["--n", "300", "--backend", "both", "--json"],
        '"restore_seconds"',
    ),
    "cache": (
        "cache_bench.py",
        ["--n", "300", "--hot", "30", "--seconds", "1", "--repeat", "1", "--rate", "50", "--json"],
        '"p99_ms"',
    ),
    "query": ("query.py", ["--n", "400", "--repeat", "1", "--backend", "both"], "deep_ix"),
    "rows": ("rows_bench.py", ["--rows", "50", "--repeat", "1"], "NamedTuple"),
    "dataout": (
        "query_bench.py",
        ["--n", "300", "--repeat", "1", "--backend", "sqlite"],
        '"import_workers_cpu_s"',
    ),
    "latency": (
        "harvest_latency.py",
        ["--n", "300", "--page", "100", "--delay", "0.01", "--skip-dlt", "--json"],
        '"simple-4"',
    ),
    "dashboard": (
        "dashboard_bench.py",
        ["--records", "300", "--quarantine", "30", "--repeat", "1"],
        "quarantine page",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bench_script_runs_at_a_tiny_size(name: str, tmp_path: Path) -> None:
    script, args, expected = CASES[name]
    if name == "dashboard":
        args = [*args, "--dir", str(tmp_path / "dash")]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert expected in proc.stdout, proc.stdout[-3000:]
