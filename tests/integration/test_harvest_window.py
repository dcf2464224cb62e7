"""Pages in flight at once (`pull.concurrency`, services/harvest_window.py: named by an
offset or page number, or guessed from links and cursors that count up), on both
backends, against a real HTTP upstream: the run takes the same pages and records as
one asking a page at a time, whatever fails."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingestry
from ingestry.domain.harvest import HarvestError
from ingestry.store import Store
from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import (
    PAGINATORS,
    as_json,
    records,
    source_yaml,
    write_config,
)

EXAMPLES = itertools.count()
ADDRESSED = ["offset", "pages"]  # the paginators that name a page before the last answers
KINDS = sorted(PAGINATORS)  # every one counts up at the test upstream


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(items=make_items(35), page_size=10)) as up:
        yield up


def two_sources(
    tmp_path: Path, db: Database, up: Upstream, kind: str, extra: str = "", suffix: str = ""
) -> Store:
    """`one` asks a page at a time, `four` keeps four requests in flight."""
    path, paginator, items = PAGINATORS[kind]
    url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
    sources = "".join(
        source_yaml(
            name + suffix, up.url + path, paginator, items, extra=f"concurrency: {n}\n{extra}"
        )
        for name, n in (("one", 1), ("four", 4))
    )
    return ingestry.open(write_config(tmp_path, url, sources))


def kept(store: Store, source: str) -> list[tuple[int, str, int, bytes]]:
    """The pages a source's runs kept: (seq, request, status, body), in order."""
    return [(p.seq, p.request_key, p.status, p.body) for p in store.harvest_pages(source)]


@pytest.mark.parametrize("kind", KINDS)
def test_pages_in_flight_give_the_pages_and_records_of_one_at_a_time(
    tmp_path: Path, db: Database, upstream: Upstream, kind: str
) -> None:
    upstream.delay = 0.05  # long enough for the requests to overlap
    with two_sources(tmp_path, db, upstream, kind) as store:
        one = store.harvest("one")
        assert upstream.peak == 1
        four = store.harvest("four")
        assert upstream.peak >= 2  # more than one request in hand at once
        assert records(store, "four") == records(store, "one") == as_json(upstream.items)
        assert kept(store, "four") == kept(store, "one")
    assert (four.pages, four.received, four.records_created) == (
        one.pages, one.received, one.records_created,
    )  # fmt: skip
    # the requests past the last page that were made (not cancelled first) are
    # counted, never kept
    assert one.requests == one.pages and one.pages <= four.requests <= one.pages + 3


@pytest.mark.parametrize("kind", ["link", "jsonlink", "cursor"])
def test_a_link_that_does_not_count_up_ends_the_guessing(
    tmp_path: Path, db: Database, upstream: Upstream, kind: str
) -> None:
    """Page 2's link skips page 3: the guess (page 3) is dropped, the run follows the
    link, and asks one page at a time from then on."""
    upstream.fault("skip", 2)
    with two_sources(tmp_path, db, upstream, kind) as store:
        one = store.harvest("one")
        upstream.fault("skip", 2)
        four = store.harvest("four")
        assert records(store, "four") == records(store, "one")
        assert len(records(store, "one")) == 25  # page 3's items were never linked to
        assert kept(store, "four") == kept(store, "one")
    assert four.pages == one.pages == 3
    assert four.requests >= four.pages  # a wrong guess asked for is never kept


@pytest.mark.parametrize("status", [404, 500])
def test_failures_past_the_last_page_end_nothing(
    tmp_path: Path, db: Database, upstream: Upstream, status: int
) -> None:
    """An upstream answering 404 (or 500, retried) past the last offset: the run
    never asked for those pages one at a time, so they change nothing."""
    upstream.past_end = status
    with two_sources(tmp_path, db, upstream, "offset", "max_retries: 50") as store:
        summary = store.harvest("four")
        assert records(store) == as_json(upstream.items)
        assert [p[2] for p in kept(store, "four")] == [200] * 4
    assert summary.pages == 4 and summary.records_created == 35


@pytest.mark.parametrize("kind", ADDRESSED)
def test_a_transient_fault_in_flight_is_retried(
    tmp_path: Path, db: Database, upstream: Upstream, kind: str
) -> None:
    upstream.fault("500", 2, times=2)
    with two_sources(tmp_path, db, upstream, kind) as store:
        summary = store.harvest("four")
        assert records(store) == as_json(upstream.items)
    assert summary.retries == 2


def test_a_run_failing_at_a_page_commits_none_fetched_after_it(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """Pages 4 and later are fetched while page 3 fails; only pages 1 and 2 count."""
    upstream.fault("500", 3, times=100)
    with two_sources(tmp_path, db, upstream, "offset", "max_retries: 3") as store:
        with pytest.raises(HarvestError, match="retry budget of 3 spent"):
            store.harvest("four")
        assert len(records(store)) == 20
        assert [p[0] for p in kept(store, "four")] == [1, 2]
        upstream.faults.clear()
        again = store.harvest("four")
        assert records(store) == as_json(upstream.items)
    assert again.records_created == 15 and again.not_modified == 2


def test_a_page_that_is_not_json_stops_the_run_there(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    upstream.fault("badjson", 2)
    with two_sources(tmp_path, db, upstream, "pages") as store:
        with pytest.raises(HarvestError, match="quarantined"):
            store.harvest("four")
        assert len(records(store)) == 10
        (quarantined,) = store.quarantine("four")
        assert [p[0] for p in kept(store, "four")] == [1, 2]
    assert quarantined.payload.startswith(b"[")


def test_the_rate_limit_holds_for_every_request_in_flight(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """Paced at 10 a second, four threads start their requests 0.1 s apart (at least
    0.05 s apart as they arrive, whatever the scheduling): the pacing is the run's,
    not a thread's."""
    with two_sources(tmp_path, db, upstream, "offset", "rate_limit: 10") as store:
        store.harvest("four")
        assert records(store) == as_json(upstream.items)
    times = sorted(at for at, _ in upstream.arrivals)
    assert len(times) >= 4
    assert min(b - a for a, b in itertools.pairwise(times)) > 0.05


def test_a_retry_after_holds_every_request_in_flight(tmp_path: Path, db: Database) -> None:
    """A 429 with Retry-After: 1 on page 4, asked for with pages 1-3, which take 0.2 s:
    taking them, the run asks for pages 5 and 6, and those wait until the second is
    over (requests already on the wire when the 429 came still answer)."""
    with serve(Upstream(items=make_items(100), page_size=10, delay=0.2)) as up:
        up.fault("429", 4)
        with two_sources(tmp_path, db, up, "offset") as store:
            summary = store.harvest("four")
            assert records(store) == as_json(up.items)
        ((sent, _),) = up.throttled
        # a request may have started while the 429 was on its way back (a few ms)
        during = [path for at, path in up.arrivals if sent + 0.05 < at < sent + 0.9]
    assert summary.retries == 1
    assert during == []
    assert len(up.arrivals) > 6  # pages came after the pause, on several threads


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    count=st.integers(0, 45),
    kind=st.sampled_from(KINDS),
    fault=st.sampled_from([None, "500", "badjson", "dupe", "skip"]),
    page=st.integers(1, 6),
    max_pages=st.sampled_from([2, 4, 1000]),
)
def test_any_run_in_flight_is_the_run_one_page_at_a_time(
    tmp_path_factory: pytest.TempPathFactory,
    db: Database,
    count: int,
    kind: str,
    fault: str | None,
    page: int,
    max_pages: int,
) -> None:
    """Any number of items, a fault on any page, a page limit: the same pages kept, the
    same records, the same failure, with four requests in flight as with one."""
    tmp_path = tmp_path_factory.mktemp("window")
    n = str(next(EXAMPLES))  # the database is the test's: each example has its sources
    limits = f"max_retries: 1\nmax_pages: {max_pages}"
    outcomes = []
    with (
        serve(Upstream(items=make_items(count), page_size=10)) as up,
        two_sources(tmp_path, db, up, kind, limits, suffix=n) as store,
    ):
        for source in ("one" + n, "four" + n):
            if fault is not None:
                up.fault(fault, page, times=1 if fault != "500" else 5)
            try:
                store.harvest(source)
                failure = None
            except HarvestError as exc:
                failure = str(exc).replace(source, "SOURCE")  # the same words
            outcomes.append((failure, kept(store, source), records(store, source)))
            up.faults.clear()
    assert outcomes[1] == outcomes[0]


def test_requests_past_the_end_spend_no_retries(tmp_path: Path, db: Database) -> None:
    """An upstream answering 500 past the last offset, four in flight: the requests
    asked ahead past the end are made once each, not retried, and spend none of the
    run's budget (before, each was retried until the run ended, every retry counted)."""
    with serve(Upstream(items=make_items(35), page_size=10, delay=0.05)) as up:
        up.past_end = 500
        up.fault("500", 2)
        with two_sources(tmp_path, db, up, "offset", "max_retries: 20") as store:
            summary = store.harvest("four")
            assert records(store) == as_json(up.items)
        past = [p for p in up.requests if any(f"offset={o}&" in p for o in (40, 50, 60))]
    assert summary.retries == 1  # page 2's, asked again when the run needed it
    assert len(past) == len(set(past)) <= 3
