"""After a batch of all-new records, SQLite inserts the next batch's records without
looking their ids up first (`SQLiteSession._try_insert_all`); a batch that meets a
record it holds is undone to a savepoint and takes the lookup. On every backend, any
sequence of batches gives the records, versions, changes and events the lookup gives."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingestry
from ingestry.store import Store
from tests.backends import Database
from tests.integration.test_ingest import order

IDS = [f"F-{i}" for i in range(6)]
EXAMPLES = itertools.count()

#: batches of (id, note): ids from a small pool, so later batches meet earlier records
BATCHES = st.lists(
    st.lists(st.tuples(st.sampled_from(IDS), st.sampled_from("ab")), min_size=1, max_size=5),
    min_size=1,
    max_size=5,
)


def _counts(summary: ingestry.IngestSummary) -> tuple[int, int, int]:
    return summary.records_created, summary.records_updated, summary.records_unchanged


def test_a_batch_after_an_all_new_one_that_meets_known_records(store: Store, db: Database) -> None:
    first = store.ingest("orders_simple", [order("F-1"), order("F-2")])
    assert _counts(first) == (2, 0, 0)
    # all new again: the insert-first path
    second = store.ingest("orders_simple", [order("F-3"), order("F-4")])
    assert _counts(second) == (2, 0, 0)
    # new, changed and unchanged together: the insert is undone, the lookup decides
    third = store.ingest(
        "orders_simple", [order("F-5"), order("F-1", note="changed"), order("F-2")]
    )
    assert _counts(third) == (1, 1, 1)
    versions = {r.source.id: r.version for r in store.records("order")}
    assert versions == {"F-1": 2, "F-2": 1, "F-3": 1, "F-4": 1, "F-5": 1}
    assert db.count("record_changes") == 6
    store.take_in_events()  # every change taken in, as a claim does
    assert db.count("record_events") == 6
    assert db.count("record_versions") == 1


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(batches=BATCHES)
def test_any_sequence_of_batches_gives_the_lookups_records(
    store: Store, db: Database, batches: list[list[tuple[str, str]]]
) -> None:
    prefix = f"E{next(EXAMPLES)}-"  # each example's own records
    store.ingest("orders_simple", [order(prefix + "seed", note="a")])  # the tables exist
    model: dict[str, tuple[str, int]] = {prefix + "seed": ("a", 1)}
    store.take_in_events()  # every change taken in, as a claim does
    feed, events = db.count("record_changes") - 1, db.count("record_events") - 1
    changes = 1
    for batch in batches:
        batch = [(prefix + i, n) for i, n in batch]
        last = dict(batch)  # a repeated id: the last occurrence wins
        created = sum(1 for i in last if i not in model)
        updated = sum(1 for i, n in last.items() if i in model and model[i][0] != n)
        summary = store.ingest("orders_simple", [order(i, note=n) for i, n in batch])
        assert _counts(summary) == (created, updated, len(last) - created - updated)
        for i, note in last.items():
            known = model.get(i)
            if known is None or known[0] != note:
                model[i] = (note, 1 if known is None else known[1] + 1)
                changes += 1
    mine = {
        r.source.id: (r.metadata.get("note"), r.version)
        for r in store.records("order")
        if r.source.id.startswith(prefix)
    }
    assert mine == model
    assert changes == sum(v for _, v in model.values())
    assert db.count("record_changes") - feed == changes
    store.take_in_events()  # every change taken in, as a claim does
    assert db.count("record_events") - events == changes
