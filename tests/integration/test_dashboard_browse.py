"""The dashboard's paged reads (Browse port) on every backend: keyset pages of the
quarantine add up to exactly the matching entries, reason counts agree with them, and
filters by source, reason, status and time hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestry.services.ports import QuarantineFilter
from ingestry.store import Store

MISSING = b'{"id": "M%d", "type": "order", "total_price": "1"}'  # created_at missing
BROKEN = b'{"id": "B%d", "type": "ord'  # not JSON


def _seed(store: Store) -> None:
    store.ingest(
        "customer_orders", [MISSING % i for i in range(23)] + [BROKEN % i for i in range(9)]
    )
    store.ingest("orders_json", [b'[{"id": "J1"}, {"id": "J2"}]'])


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(size=st.integers(min_value=1, max_value=40), reason_pick=st.integers(0, 2))
def test_pages_add_up_to_the_matching_entries(store: Store, size: int, reason_pick: int) -> None:
    if not store.control.browse.quarantine_ids(QuarantineFilter(), 1):
        _seed(store)
    browse = store.control.browse
    groups = browse.quarantine_reasons(QuarantineFilter(sources=["customer_orders"]), 50)
    reason = [None, groups[0].reason, groups[-1].reason][reason_pick]
    where = QuarantineFilter(sources=["customer_orders"], reason=reason)
    everything = [e.id for e in store.quarantine("customer_orders") if reason in (None, e.reason)]
    seen: list[int] = []
    after = None
    while True:
        page = browse.quarantine_page(where, after, size)
        assert len(page) <= size
        assert all(e.source == "customer_orders" and e.status == "open" for e in page)
        seen += [e.id for e in page]
        if len(page) < size:
            break
        after = page[-1].id
    assert seen == sorted(everything)
    assert browse.quarantine_ids(where, 10_000) == seen
    counted = browse.quarantine_reasons(where, 50)
    assert sum(g.count for g in counted) == len(seen)


def test_filters_by_source_status_and_time(store: Store) -> None:
    _seed(store)
    browse = store.control.browse
    groups = browse.quarantine_reasons(QuarantineFilter(), 50)
    by_source = {(g.source, g.reason): g.count for g in groups}
    assert sum(n for (s, _), n in by_source.items() if s == "customer_orders") == 32
    assert max(by_source.values()) == 23  # largest group first
    assert groups[0].count == 23
    assert browse.quarantine_page(QuarantineFilter(sources=[]), None, 10) == []
    future = datetime.now(UTC) + timedelta(hours=1)
    assert browse.quarantine_page(QuarantineFilter(since=future), None, 10) == []
    assert len(browse.quarantine_page(QuarantineFilter(until=future), None, 100)) == sum(
        by_source.values()
    )
    first = browse.quarantine_page(QuarantineFilter(sources=["customer_orders"]), None, 2)
    store.quarantine_discard([first[0].id], reason="test")
    discarded = browse.quarantine_page(QuarantineFilter(status="discarded"), None, 10)
    assert [e.id for e in discarded] == [first[0].id]
    open_now = browse.quarantine_ids(QuarantineFilter(sources=["customer_orders"]), 100)
    assert first[0].id not in open_now and len(open_now) == 31


def test_jobs_newest_first_in_keyset_pages(store: Store) -> None:
    from ingestry.services.ports import jobs_cursor

    service = store.jobs()
    made = [
        service.submit("replay", {"source": "customer_orders", "n": i}, owner="o")[0]
        for i in range(7)
    ]
    service.submit("replay", {"source": "customer_orders"}, owner="someone-else")
    browse = store.control.browse
    seen = []
    after = None
    while True:
        page = browse.jobs_page("o", None, after, 3)
        seen += [j.id for j in page]
        if len(page) < 3:
            break
        after = jobs_cursor(page[-1])
    assert sorted(seen) == sorted(j.id for j in made) and len(seen) == len(set(seen))
    stamps = [j.created_at for j in browse.jobs_page("o", None, None, 10)]
    assert stamps == sorted(stamps, reverse=True)
    assert browse.jobs_page("o", "running", None, 10) == []
    state = browse.queue_state(5)
    assert state.jobs == {"queued": 8}
