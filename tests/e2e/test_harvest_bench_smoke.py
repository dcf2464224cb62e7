"""The harvest benchmark still runs: `bench/run.py --harvest --quick --skip-dlt --json`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_harvest_bench_takes_every_item_and_reports_a_ratio() -> None:
    argv = [sys.executable, str(ROOT / "bench" / "run.py"), "--harvest", "--quick"]
    proc = subprocess.run(
        [*argv, "--skip-dlt", "--json", "--backend", "sqlite"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    sqlite = result["sqlite"]
    assert sqlite["ingestry"]["items"] == sqlite["bare"]["items"] == 2_000
    assert sqlite["simple"]["items"] == 2_000 and sqlite["simple_vs_bare"] > 0
    assert sqlite["ingestry"]["pages"] == 2 and sqlite["vs_bare"] > 0
