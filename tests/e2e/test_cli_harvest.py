"""`ingestry harvest` as a user runs it, and a run killed with SIGKILL then run again."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

import ingestry
from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE
from tests.e2e.cli import run
from tests.e2e.processes import child_env, spawn, stop, wait_for
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import as_json, records, source_yaml, write_config

CURSOR = "cursor: {field: updated_at, param: since}"


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(items=make_items(200), page_size=10)) as up:
        yield up


def project(tmp_path: Path, db: Database, up: Upstream, kind: str = "cursor") -> Path:
    """One source `api`: pages by a cursor, or by offset with four requests in flight."""
    url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
    if kind == "cursor":
        paging = (up.url + "/cursor", "{type: cursor, path: next_cursor, param: cursor}")
        extra = CURSOR
    else:
        paging = (up.url + "/offset", "{type: offset, limit: 10}")
        extra = f"{CURSOR}\nconcurrency: 4"
    source = source_yaml("api", *paging, "items", extra=extra)
    return write_config(tmp_path, url, source)


def pages(db: Database) -> int:
    """Pages stored so far (0 while the child is still migrating the empty database)."""
    try:
        return db.count("harvest_pages")
    except sa.exc.DBAPIError:
        return 0


def test_cli_summary_has_the_contract_fields(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    project(tmp_path, db, upstream)
    done = run("harvest", "api", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = orjson.loads(done.stdout)
    assert summary["records_created"] == 200 and summary["pages"] == 20
    assert summary["requests"] == 20 and summary["retries"] == 0 and summary["bytes"] > 0
    assert summary["run_srn"].startswith("srn:ingestry:pull-run:")
    listed = run("runs", "list", "--kind", "harvest", "--json", cwd=tmp_path)
    (line,) = listed.stdout.splitlines()
    assert orjson.loads(line)["srn"] == summary["run_srn"]
    shown = run("raw", "show", "api", "it-7", "--bytes", cwd=tmp_path)
    assert orjson.loads(shown.stdout)["id"] == "it-7"


def test_unknown_source_and_file_source_exit_1(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    project(tmp_path, db, upstream)
    assert run("harvest", "nope", cwd=tmp_path).returncode == 1


@pytest.mark.parametrize("kind", ["cursor", "offset"])
def test_killed_run_then_rerun_gives_every_item_once(
    tmp_path: Path, db: Database, upstream: Upstream, kind: str
) -> None:
    """SIGKILL mid-run: the committed pages stay, the cursor does not move; the next run
    (not blocked by the dead run's lock) brings exactly the upstream's items. By offset,
    with pages in flight ahead of those committed."""
    root = project(tmp_path, db, upstream, kind).parent
    upstream.delay = 0.05
    proc = spawn("harvest", "api", cwd=root, env=child_env(), log=tmp_path / "harvest.log")
    try:
        wait_for("5 pages committed", lambda: pages(db) >= 5 or None, 60)
    finally:
        stop(proc, signal.SIGKILL)
    committed = db.count("raw_payloads")
    assert 0 < committed < 200
    with ingestry.open(root / "ingestry.yaml") as store:
        assert store.harvest_cursor("api") is None
        (killed,) = store.runs("api", "harvest", 10)
        assert killed.status == "running"
    upstream.delay = 0.0
    done = run("harvest", "api", "--json", cwd=root)
    assert done.returncode == 0, done.stderr
    with ingestry.open(root / "ingestry.yaml") as store:
        assert records(store) == as_json(upstream.items)
        assert store.harvest_cursor("api") == max(i["updated_at"] for i in upstream.items)
    assert db.count("raw_payloads") == 200  # none twice
    assert db.scalar("SELECT count(DISTINCT source_id) FROM raw_payloads") == 200
