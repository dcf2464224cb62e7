"""Any sequence of ingests, deletes and replays, on every backend: replay changes
nothing, a deleted record stays hidden until its source sends it again, and the
version sequence counts every content change and every tombstone (docs/deleting.md)."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingestry
from ingestry.domain.errors import RecordDeletedError
from ingestry.domain.records import record_srn
from ingestry.store import Store
from tests.integration.test_ingest import order

SOURCE = "customer_orders"
EXAMPLES = itertools.count()

steps = st.lists(
    st.one_of(
        st.tuples(st.just("ingest"), st.sampled_from("ab"), st.sampled_from(["1.00", "2.00"])),
        st.tuples(st.just("delete"), st.sampled_from("ab"), st.just("")),
        st.tuples(st.just("replay"), st.just(""), st.just("")),
    ),
    min_size=1,
    max_size=8,
)


def check(store: Store, prefix: str, model: dict[str, tuple[str, int, str]]) -> None:
    """model: id → (state, version, price) with state live or deleted."""
    live = {
        r.srn: r.version
        for r in store.records("order", where=[f"order_number in #{prefix}-a,#{prefix}-b"])
    }
    want = {
        record_srn("order", "harvest", SOURCE, f"{prefix}-{i}"): v
        for i, (state, v, _) in model.items()
        if state == "live"
    }
    assert live == want
    assert store.count("order") == sum(1 for _ in store.records("order"))
    for ident, (state, version, _) in model.items():
        the_srn = record_srn("order", "harvest", SOURCE, f"{prefix}-{ident}")
        if state == "deleted":
            try:
                store.get(the_srn)
            except RecordDeletedError:
                pass
            else:
                raise AssertionError(f"{the_srn} is deleted but readable")
            assert store.get(the_srn, include_deleted=True).version == version


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps)
def test_any_sequence_of_ingest_delete_replay(
    config_path: Path, sequence: list[tuple[str, str, str]]
) -> None:
    prefix = f"SD{next(EXAMPLES)}"
    model: dict[str, tuple[str, int, str]] = {}
    with ingestry.open(config_path) as store:
        for op, ident, price in sequence:
            the_srn = record_srn("order", "harvest", SOURCE, f"{prefix}-{ident}")
            if op == "ingest":
                store.ingest(SOURCE, [order(f"{prefix}-{ident}", total_price=price)])
                state, version, old = model.get(ident, ("absent", 0, ""))
                if state != "live" or old != price:
                    model[ident] = ("live", version + 1, price)
            elif op == "delete" and ident in model:
                report = store.delete(the_srn, reason="property")
                state, version, old = model[ident]
                assert report.already == (state == "deleted")
                if state == "live":
                    model[ident] = ("deleted", version + 1, old)
            elif op == "replay":
                summary = store.replay(SOURCE)
                assert (summary.records_created, summary.records_updated) == (0, 0), sequence
            check(store, prefix, model)
