"""The PostgreSQL server restarted in the middle of an ingest (issue 14's suite), on a
private cluster the test owns (`initdb` / `pg_ctl` on a free port): the ingest fails
cleanly (exit 1, one line naming the connection failure) or completes; the re-run
completes; 0 lost, 0 duplicated."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends import Database
from tests.conftest import write_project
from tests.e2e.cli import run
from tests.e2e.processes import child_env, free_port, spawn, wait_for
from tests.reliability.support import write_orders

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROWS = 30_000


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    assert found[-1], f"{name} not found: install the PostgreSQL server binaries"
    return found[-1]


def _as_owner(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture
def cluster() -> Iterator[tuple[str, str]]:
    """A private cluster: yields (its URL, its data directory)."""
    home = tempfile.mkdtemp(prefix="ingestry-pg-")
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    data = f"{home}/data"
    port = free_port()
    subprocess.run(
        _as_owner([_bin("initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    ctl = _as_owner([_bin("pg_ctl"), "-D", data, "-w", "-l", f"{home}/log",
                     "-o", f"-p {port} -k {home} -c listen_addresses=127.0.0.1"])  # fmt: skip
    subprocess.run([*ctl, "start"], check=True, stdout=subprocess.DEVNULL, timeout=60)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", home
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], check=False, timeout=60,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


def test_a_server_restart_mid_ingest_loses_and_duplicates_nothing(
    tmp_path: Path, cluster: tuple[str, str]
) -> None:
    url, home = cluster
    write_project(tmp_path, url)
    write_orders(tmp_path / "data" / "big.jsonl", ROWS)
    db = Database("postgres", url)
    env = child_env({"INGESTRY_WORKERS": "0"})
    args = ("ingest", "customer_orders", "data/big.jsonl")
    proc = spawn(*args, cwd=tmp_path, env=env, log=tmp_path / "ingest.log")
    try:
        wait_for(
            "the ingest to commit a batch",
            lambda: ("raw_payloads" in db.tables() and db.count("raw_payloads") > 0) or None,
        )
        db.dispose()
        ctl = _as_owner([_bin("pg_ctl"), "-D", f"{home}/data", "-w", "-l", f"{home}/log",
                         "-m", "fast", "restart"])  # fmt: skip
        # the log file, not a pipe: the restarted server would hold a pipe open for ever
        subprocess.run(ctl, check=True, stdout=subprocess.DEVNULL, timeout=60)
        code = proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = (tmp_path / "ingest.log").read_text()
    assert code in (0, 1), out[-2000:]
    assert "Traceback" not in out, out[-2000:]
    if code == 1:
        assert "PostgreSQL" in out and "customer_orders" in out, out[-2000:]
    at_restart = db.count("raw_payloads")
    again = run(*args, cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    raw, records = db.count("raw_payloads"), db.count("records_order")
    distinct = db.scalar("SELECT count(DISTINCT sha256) FROM raw_payloads")
    figures = (
        f"restart mid-ingest: exit {code} with {at_restart} rows committed; after the re-run "
        f"{raw} raw ({distinct} distinct), {records} records of {ROWS}"
    )
    print(figures)
    db.dispose()
    assert raw == distinct == records == ROWS, figures
