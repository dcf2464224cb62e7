"""The changes feed on every SQL backend: any sequence of batches, read page by page
from a kept cursor, yields each created or changed record exactly once per change, at
its current version, and never a record that did not change."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestry.domain.records import record_srn
from ingestry.services.changes import START, read_changes
from ingestry.services.ports import ChangeCursor, Storage
from tests.backends import Database
from tests.contract.conftest import CONVENTION, NOW, SOURCE, record_row
from tests.contract.test_node_identity import reopen

_RUNS = itertools.count()

batches = st.lists(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.sampled_from(["x", "y", "z"])),
        max_size=8,
    ),
    min_size=1,
    max_size=4,
)


@pytest.fixture
def settle(request: pytest.FixtureRequest, backend: str) -> Callable[[], None]:
    """Wait for the feed to settle (on PostgreSQL, see `wait_settled`)."""
    if backend != "postgres":
        return lambda: None
    db: Database = request.getfixturevalue("db")
    return lambda: wait_settled(db)


def wait_settled(db: Database) -> None:
    """PostgreSQL: wait until every transaction older than the last change has ended
    (other sessions' open transactions hold the feed back; see adapters.sql.changes)."""
    if db.kind != "postgres":
        return
    for _ in range(600):
        if db.scalar(
            "SELECT coalesce(max(xid), 0) < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
            " FROM record_changes"
        ):
            return
        time.sleep(0.05)
    raise AssertionError("the changes feed did not settle within 30 s")


def _drain(storage: Storage, after: ChangeCursor, limit: int) -> tuple[list[str], ChangeCursor]:
    srns: list[str] = []
    while True:
        page = read_changes(storage.change_feed(), [CONVENTION], after, limit)
        assert page.next_cursor >= after
        srns += [r.srn for r in page.records]
        after = page.next_cursor
        if not page.has_more:
            return srns, after


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=batches, limit=st.integers(1, 5))
def test_each_batch_changes_are_read_once_after_the_kept_cursor(
    storage: Storage, settle: Callable[[], None], batches: list[list[tuple[str, str]]], limit: int
) -> None:
    run = next(_RUNS)
    settle()
    _, cursor = _drain(storage, START, 1000)  # what earlier examples wrote
    for batch in batches:
        rows = [record_row(f"{run}-{i}", label=label) for i, label in batch]
        with storage.session() as session:
            result = session.upsert_records(CONVENTION, rows, NOW)
        changed = {
            record_srn("thing", c.source_type, c.upstream, c.source_id) for c in result.changes
        }
        settle()
        seen, cursor = _drain(storage, cursor, limit)
        assert sorted(seen) == sorted(changed)  # each once, nothing unchanged
        for srn in seen:
            record = storage.get_record(CONVENTION, srn)
            assert record is not None
    again, _ = _drain(storage, cursor, limit)
    assert again == []


def test_a_record_changed_twice_is_read_once_at_its_newest_version(
    storage: Storage, settle: Callable[[], None]
) -> None:
    for label in ("one", "two", "three"):
        with storage.session() as session:
            session.upsert_records(CONVENTION, [record_row("T", label=label)], NOW)
    with storage.session() as session:
        session.upsert_records(CONVENTION, [record_row("U")], NOW)
    settle()
    seen, _ = _drain(storage, START, 2)
    srn = record_srn("thing", "harvest", SOURCE, "T")
    assert seen == [srn, record_srn("thing", "harvest", SOURCE, "U")]
    page = read_changes(storage.change_feed(), [CONVENTION], START, 10)
    assert [r.version for r in page.records] == [3, 1]
    assert page.records[0].columns["label"] == "three"


@pytest.mark.only_backends("postgres")  # SQLite writers take turns: no commit overtakes
def test_a_later_commit_of_an_earlier_transaction_is_not_skipped(
    storage: Storage, db: Database
) -> None:
    """PostgreSQL hands out sequence values before commit: a transaction that wrote
    first but commits last must still be read after a cursor that passed the other."""
    other = reopen(db)
    try:
        with storage.session() as first:
            first.upsert_records(CONVENTION, [record_row("EARLY")], NOW)  # open, uncommitted
            with other.session() as second:
                second.upsert_records(CONVENTION, [record_row("LATE")], NOW)
            seen_before, cursor = _drain(storage_for_reading := reopen(db), START, 10)
            storage_for_reading.close()
        wait_settled(db)
        seen_after, _ = _drain(storage, cursor, 10)
    finally:
        other.close()
    early = record_srn("thing", "harvest", SOURCE, "EARLY")
    late = record_srn("thing", "harvest", SOURCE, "LATE")
    assert early not in seen_before
    assert sorted(seen_before + seen_after) == sorted([early, late])  # none lost, none twice


@pytest.mark.only_backends("sqlite")
def test_sqlite_feed_walks_the_rowid_and_keeps_the_xid_seq_order(
    storage: Storage, db: Database
) -> None:
    """SQLite has no (xid, seq) index (xid is always 0, seq is the rowid; migration
    20261204_030000): a page is a range of the rowid, never a sort of the feed, and a
    cursor still compares as (xid, seq)."""
    import sqlite3

    from ingestry.adapters.sql.changefeed import SqlChangeFeed
    from ingestry.adapters.sql.rows import record_from_row, select_records

    with storage.session() as session:
        session.upsert_records(CONVENTION, [record_row(f"R{i}") for i in range(5)], NOW)
    assert db.sqlite_file is not None
    conn = sqlite3.connect(db.sqlite_file)
    plans: list[str] = []

    def rows(sql: str, params: Any) -> list[tuple[Any, ...]]:
        plan = conn.execute(f"EXPLAIN QUERY PLAN {sql}", tuple(params)).fetchall()
        plans.append(" | ".join(str(r[-1]) for r in plan))
        return conn.execute(sql, tuple(params)).fetchall()

    def execute(sql: str, params: Any) -> None:
        raise AssertionError("the feed's reads do not write")

    feed = SqlChangeFeed(rows, execute, "?", select_records, record_from_row)
    try:
        everything = feed.changes((0, 0), 100, None)
        assert [c.cursor for c in everything] == [(0, s) for s in range(1, 6)]
        assert feed.changes((0, 2), 2, None) == everything[2:4]
        assert feed.changes((0, 2), 100, [CONVENTION.name]) == everything[2:]
        assert feed.changes((0, 2), 100, [CONVENTION.name, "other"]) == everything[2:]
        assert feed.changes((0, 0), 100, ["other"]) == []
        assert feed.changes((-1, 99), 100, None) == everything  # before xid 0: all
        assert feed.changes((1, 0), 100, None) == []  # past xid 0: nothing
    finally:
        conn.close()
    for plan in plans:  # one convention: its index's range; else the rowid's
        assert "TEMP B-TREE" not in plan, plan
        assert "INTEGER PRIMARY KEY (rowid>?)" in plan or "(convention=? AND xid=? AND" in plan, (
            plan
        )
