"""The import's rows on every backend (stream `sqlite`, issue 17 item 4): a batch of new
records takes SQLite's bulk insert (`_insert_all`: no walk row by row, events read back
from the rows just written), an import's times travel beside its rows (no lookup by
id), and an id given twice in one call still takes the times of its last line, as the
lookup by id gave them."""

from __future__ import annotations

from datetime import datetime

from ingestry.domain.records import record_srn
from ingestry.services.publish_rows import PublishExtractor
from ingestry.store import Store
from tests.backends import Database
from tests.lifecycle import order

SOURCE = "orders_simple"


def _row(extractor: PublishExtractor, source_id: str, note: str) -> object:
    source = {"type": "harvest", "id": source_id, "harvest_run_srn": "srn:run:1",
              "upstream_source": SOURCE}  # fmt: skip
    return extractor.import_row(source, SOURCE, order(source_id, note=note), {})


def _events(store: Store, db: Database) -> list[tuple[str, int, int | None]]:
    """(srn, version, record rowid: SQLite only) of every event, in order."""
    store.take_in_events()  # every change taken in, as a claim does
    rowid = "record_id" if db.kind == "sqlite" else "NULL"
    query = f"SELECT srn, version, {rowid} FROM record_events ORDER BY id"
    return [(str(s), int(v), i) for s, v, i in db.rows(query)]


def test_new_records_get_their_events_whatever_their_ids_spell(store: Store, db: Database) -> None:
    plain = [f"P-{n}" for n in range(5)]
    quoted = ["a b", "x/y", "ü:1"]  # ids `quote` changes: the srn is not the parts as is
    for ids in (plain, quoted):
        done = store.ingest(SOURCE, [order(i) for i in ids])
        assert done.records_created == len(ids)
    events = _events(store, db)
    assert [s for s, _, _ in events] == [record_srn("order", "harvest", SOURCE, i)
                                        for i in plain + quoted]  # fmt: skip
    assert {v for _, v, _ in events} == {1}
    if db.kind == "sqlite":  # each event carries its record's rowid
        rowids = dict(db.rows('SELECT source_id, id FROM "records_order"'))
        assert [i for _, _, i in events] == [rowids[i] for i in plain + quoted]
    assert db.count("record_changes") == len(plain) + len(quoted)
    for srn, _, _ in events:
        assert store.get(srn) is not None


def test_imported_rows_keep_their_times_in_order(store: Store, db: Database) -> None:
    publisher = store._publisher
    extractor = publisher.extractor("order")
    rows = [_row(extractor, f"T-{n}", "a") for n in range(3)]
    times = [(f"2001-01-0{n + 1}T00:00:00.000000+00:00", f"2001-01-0{n + 1}T01:00:00.000000+00:00")
             for n in range(3)]  # fmt: skip
    done = publisher.import_rows("order", rows, times=[times[0], None, times[2]])  # type: ignore[arg-type]
    assert (done.created, done.duplicate_ids) == (3, 0)
    got = {r.source.id: (r.published_at, r.updated_at) for r in store.records("order")}
    assert got["T-0"] == tuple(datetime.fromisoformat(t) for t in times[0])
    assert got["T-2"] == tuple(datetime.fromisoformat(t) for t in times[2])
    assert got["T-1"][0].year > 2001  # no times given: now's


def test_an_id_twice_in_one_call_takes_the_times_of_its_last_line(
    store: Store, db: Database
) -> None:
    publisher = store._publisher
    extractor = publisher.extractor("order")
    rows = [_row(extractor, "D-1", "first"), _row(extractor, "D-2", "x"),
            _row(extractor, "D-1", "second")]  # fmt: skip
    first = ("2001-01-01T00:00:00.000000+00:00", "2001-01-01T00:00:00.000000+00:00")
    last = ("2002-02-02T00:00:00.000000+00:00", "2002-02-02T02:00:00.000000+00:00")
    done = publisher.import_rows("order", rows, times=[first, None, last])  # type: ignore[arg-type]
    # the last line of an id is the one written (`last_occurrences`), with its times
    assert (done.created, done.updated, done.duplicate_ids) == (2, 0, 1)
    record = store.get(record_srn("order", "harvest", SOURCE, "D-1"))
    assert record is not None and record.metadata["note"] == "second"
    at = tuple(datetime.fromisoformat(t) for t in last)
    assert (record.version, record.published_at, record.updated_at) == (1, *at)
    two = store.get(record_srn("order", "harvest", SOURCE, "D-2"))
    assert two is not None and two.published_at.year > 2001  # no times given: now's
