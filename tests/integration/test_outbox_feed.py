"""SQLite's outbox reads the changes feed (migration 20261206_010000, adapters/sql/
intake.py); PostgreSQL writes its events with the records. On both, any sequence of
writes and dispatch rounds delivers every record version exactly once, in version
order per record, and a store upgraded or downgraded across the migration loses and
repeats no event."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestry import RecordEvent, record_srn
from ingestry.adapters import migrate
from ingestry.migrations import HEAD
from ingestry.store import Store
from tests.backends import Database
from tests.integration.test_ingest import order

BEFORE = "20261205_060000"
SOURCE = "orders_simple"
IDS = [f"O-{i}" for i in range(5)]
EXAMPLES = itertools.count()

#: steps: a batch of (id, note) to ingest, or None for a dispatch round
STEPS = st.lists(
    st.one_of(
        st.none(),
        st.lists(st.tuples(st.sampled_from(IDS), st.sampled_from("abc")), min_size=1, max_size=4),
    ),
    min_size=1,
    max_size=8,
)


def srn(ident: str) -> str:
    return record_srn("order", "harvest", SOURCE, ident)


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=STEPS)
def test_any_writes_and_rounds_deliver_each_version_once_in_order(
    store: Store, steps: list[list[tuple[str, str]] | None]
) -> None:
    prefix = f"X{next(EXAMPLES)}-"  # each example's own records
    delivered: list[tuple[str, int]] = []

    def collect(event: RecordEvent) -> None:
        if event.srn.rsplit(":", 1)[1].startswith(prefix):
            delivered.append((event.srn, event.version))

    dispatcher = store.dispatcher([collect], defaults=False, batch_size=3)
    versions: dict[str, int] = {}
    notes: dict[str, str] = {}
    for step in [*steps, None]:  # a last round delivers what is left
        if step is None:
            dispatcher.run_once()
            continue
        batch = [(prefix + i, n) for i, n in step]
        store.ingest(SOURCE, [order(i, note=n) for i, n in batch])
        for ident, note in dict(batch).items():
            if notes.get(ident) != note:
                notes[ident] = note
                versions[ident] = versions.get(ident, 0) + 1
    expected = sorted((srn(i), v) for i, top in versions.items() for v in range(1, top + 1))
    assert sorted(delivered) == expected  # each version once
    for ident in versions:  # and a record's in version order
        mine = [v for s, v in delivered if s == srn(ident)]
        assert mine == sorted(mine)


def test_the_upgrade_starts_the_cursor_at_the_end_of_the_feed(db: Database) -> None:
    migrate.upgrade(db.engine, BEFORE)
    db.execute("INSERT INTO record_changes (convention, record_id, version) VALUES ('o', 1, 1)")
    db.execute("INSERT INTO record_changes (convention, record_id, version) VALUES ('o', 1, 2)")
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == HEAD
    if db.kind != "sqlite":  # PostgreSQL keeps writing its events: no cursor
        assert "outbox_cursor" not in db.tables()
        return
    # the two changes had their events written with them, before the migration
    assert db.rows("SELECT id, seq FROM outbox_cursor") == [(1, 2)]
    migrate.downgrade(db.engine, BEFORE)
    assert "outbox_cursor" not in db.tables()


def test_the_downgrade_takes_every_change_in_first(store: Store, db: Database) -> None:
    store.ingest(SOURCE, [order("D-1"), order("D-2")])
    store.ingest(SOURCE, [order("D-1", note="changed")])
    written = 0 if db.kind == "sqlite" else 3  # PostgreSQL writes them with the records
    assert db.count("record_events") == written and store.pending_events() == 3
    store.close()
    migrate.downgrade(db.engine, BEFORE)
    assert sorted(db.rows("SELECT srn, version FROM record_events")) == [
        (srn("D-1"), 1),
        (srn("D-1"), 2),
        (srn("D-2"), 1),
    ]
    assert "outbox_cursor" not in db.tables()


@pytest.mark.parametrize("erased", [True, False])
def test_erasure_takes_a_records_untaken_events_with_it(
    store: Store, db: Database, erased: bool
) -> None:
    """A record's changes not yet taken in are its pending events: erasure counts and
    removes them (SQLite), as it removes the events already in the outbox (both)."""
    store.ingest(SOURCE, [order("G-1"), order("G-2")])
    store.ingest(SOURCE, [order("G-1", note="changed")])
    if not erased:
        store.take_in_events()
    report = store.erase(srn("G-1"), reason="test", actor="dpo")
    assert report.removed.events == 2
    assert store.pending_events() == 1  # G-2's
    store.take_in_events()
    assert db.rows("SELECT srn FROM record_events") == [(srn("G-2"),)]
