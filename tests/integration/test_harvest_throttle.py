"""An upstream's rate-limit headers (domain/throttle.py, docs/harvest.md "Rate-limit
headers"), on both backends, against a real HTTP upstream that counts requests in a
window and refuses the ones past it: a run waits for the reset instead of being
refused, and a refusal that says the limit is spent is retried after it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestry.domain.harvest import HarvestError
from tests.backends import Database
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import as_json, one_source, records


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(items=make_items(35), page_size=10)) as up:
        yield up


@pytest.mark.parametrize(("style", "status"), [("github", 403), ("ietf", 429), ("delta", 429)])
def test_a_spent_limit_waits_for_its_reset_and_nothing_is_refused(
    tmp_path: Path, db: Database, upstream: Upstream, style: str, status: int
) -> None:
    """Two pages a second, four pages: the second page says none are left, so the
    third is asked for after the reset. Before, GitHub's 403 stopped the run, and the
    429s were retried on backoff until the window ended."""
    upstream.limit, upstream.limit_style, upstream.limit_status = (2, 1.0), style, status
    with one_source(tmp_path, db, upstream, "link") as store:
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
    assert upstream.refused == []
    assert summary.retries == 0 and summary.requests == summary.pages == 4
    assert upstream.arrivals[2][0] - upstream.arrivals[1][0] > 0.2  # waited for the reset


def test_a_refusal_that_says_the_limit_is_spent_is_retried_after_the_reset(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """Someone else spent the window: the first request is refused with GitHub's 403
    and no requests left. A careful client waits for the reset and asks again."""
    upstream.limit = (2, 1.0)
    with one_source(tmp_path, db, upstream, "cursor") as store:
        upstream.window = (time.time() + 1.0, 2)
        summary = store.harvest("api")
        assert records(store) == as_json(upstream.items)
    assert len(upstream.refused) == 1
    assert summary.retries == 1 and summary.requests == summary.pages + 1


def test_a_403_that_says_nothing_of_a_limit_stops_the_run(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """A 403 without a spent limit or a Retry-After is a denial: asking again would be
    refused again."""
    upstream.limit, upstream.limit_style = (2, 60.0), "none"
    with one_source(tmp_path, db, upstream, "link") as store:
        with pytest.raises(HarvestError, match=r"answered 403 \(page 3\)"):
            store.harvest("api")
        assert len(records(store)) == 20
    assert len(upstream.refused) == 1


def test_a_reset_later_than_the_longest_wait_stops_the_run_keeping_its_pages(
    tmp_path: Path, db: Database, upstream: Upstream
) -> None:
    """A limit spent for two minutes, `max_backoff_seconds: 2`: the run stops before
    asking for page 3 (not refused), with what it committed; the cursor stays."""
    upstream.limit = (2, 120.0)
    extra = "cursor: {field: updated_at, param: since}"
    with one_source(tmp_path, db, upstream, "jsonlink", extra=extra) as store:
        with pytest.raises(HarvestError, match=r"rate limit is spent for another 1[12]\ds"):
            store.harvest("api")
        assert len(records(store)) == 20
        assert store.harvest_cursor("api") is None
        (failed,) = store.runs("api", "harvest", 10)
        assert failed.status == "failed"
    assert upstream.refused == [] and len(upstream.requests) == 2


def test_requests_in_flight_wait_for_the_reset_together(tmp_path: Path, db: Database) -> None:
    """Four requests in flight, three a second: requests already on the wire when the
    limit ran out are refused and retried after the reset, and none is sent while the
    limit is spent (a refusal shortly after the one that emptied it at most)."""
    with serve(Upstream(items=make_items(90), page_size=10, delay=0.05)) as up:
        up.limit = (3, 1.0)
        with one_source(
            tmp_path, db, up, "offset", extra="concurrency: 4\nmax_retries: 50"
        ) as store:
            summary = store.harvest("api")
            assert records(store) == as_json(up.items)
        assert summary.pages == 10 and up.peak > 1  # an empty page ends it
        refused = [at for at, _ in up.refused]
        taken = [at for at, _ in up.arrivals if at not in refused]
    # each refusal the run needed was retried; one asked ahead past the end was not
    assert 0 < summary.retries <= len(refused)
    # each refusal came while the answer that spent the limit was on its way (the
    # upstream answers 0.05 s after a request), never later in the window
    assert all(any(0 <= at - t < 0.2 for t in taken) for at in refused)
