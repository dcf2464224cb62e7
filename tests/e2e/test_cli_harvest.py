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


def test_cli_shows_the_kept_pages_and_a_simple_record_s_page(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """`raw pages`, `raw page ID --bytes`, and `raw show` of a simple pulled source's
    record: the whole page that held it (it keeps no raw payload)."""
    url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
    paging = (upstream.url + "/cursor", "{type: cursor, path: next_cursor, param: cursor}")
    write_config(tmp_path, url, source_yaml("api", *paging, "items", strategy="simple"))
    assert run("harvest", "api", cwd=tmp_path).returncode == 0
    listed = run("raw", "pages", "api", "--limit", "5", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert {r["status"] for r in rows} == {200} and all(r["size"] > 0 for r in rows)
    second = run("raw", "page", str(rows[1]["id"]), "--bytes", cwd=tmp_path)
    assert second.returncode == 0 and second.stdout == upstream_page(upstream, 2)
    shown = run("raw", "show", "api", "it-15", "--bytes", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == second.stdout  # items 11-20 are page 2
    told = run("raw", "show", "api", "it-15", cwd=tmp_path)
    assert b"the whole page that held it" in told.stdout and b"seq: 2" in told.stdout
    table = run("raw", "pages", "api", cwd=tmp_path)
    assert table.returncode == 0 and b"kept pages" in table.stdout
    missing = run("raw", "show", "api", "it-999", cwd=tmp_path)
    assert missing.returncode == 1 and b"no raw payload" in missing.stderr


def upstream_page(up: Upstream, page: int) -> bytes:
    """The bytes `/cursor` answers for `page` (the kept page must be exactly these)."""
    import httpx

    return httpx.get(f"{up.url}/cursor", params={"cursor": str(page)}).content
