"""The pure parts of harvesting: paginators, Link headers, Retry-After, backoff, the
cursor's order, and the `pull:` config section."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestry.config import parse_settings
from ingestry.domain.errors import ConfigError
from ingestry.domain.harvest import (
    PageRequest,
    PaginatorSpec,
    PaginatorType,
    PullSpec,
    backoff,
    cursor_key,
    first_request,
    following,
    kept_headers,
    later,
    next_link,
    next_request,
    retry_after,
    text_of,
)
from ingestry.domain.pageguess import counted_on

NOW = datetime(2026, 12, 2, 20, 0, 0, tzinfo=UTC)


def test_next_link_finds_rel_next_among_others() -> None:
    header = '<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel="next last"'
    assert next_link(header) == "https://a/x?page=3"
    assert next_link('<https://a/x?page=1>; rel="prev"') is None
    assert next_link("") is None


def test_link_header_resolves_relative_links() -> None:
    spec = PaginatorSpec(PaginatorType.LINK_HEADER)
    got = next_request(
        spec,
        PageRequest("http://h/a"),
        "http://h/a?p=1",
        {"link": '</a?p=2>; rel="next"'},
        None,
        [{}] * 5,
    )
    assert got == PageRequest("http://h/a?p=2")


def test_json_link_and_cursor_stop_when_absent() -> None:
    link = PaginatorSpec(PaginatorType.JSON_LINK, ("meta", "next"))
    cursor = PaginatorSpec(PaginatorType.CURSOR, ("next",), "after")
    req = PageRequest("http://h/a", (("q", "1"),))
    assert next_request(link, req, "http://h/a", {}, {"meta": {"next": None}}, [{}] * 3) is None
    assert next_request(cursor, req, "http://h/a", {}, {"next": ""}, [{}] * 3) is None
    token = next_request(cursor, req, "http://h/a", {}, {"next": 42}, [{}] * 3)
    assert token == PageRequest("http://h/a", (("q", "1"), ("after", "42")))


def test_offset_and_page_number_advance_and_stop() -> None:
    offset = PullSpec("http://h/a", paginator=PaginatorSpec(PaginatorType.OFFSET, limit=10))
    first = first_request(offset, None)
    assert first.params == (("offset", "0"), ("limit", "10"))
    second = next_request(offset.paginator, first, first.url, {}, None, [{}] * 10)
    assert second is not None and dict(second.params) == {"offset": "10", "limit": "10"}
    assert next_request(offset.paginator, second, first.url, {}, None, [{}] * 9) is None
    pages = PaginatorSpec(PaginatorType.PAGE_NUMBER, start=0)
    start = first_request(PullSpec("http://h/a", paginator=pages), None)
    after = next_request(pages, start, start.url, {}, None, [{}] * 1)
    assert after is not None and dict(after.params)["page"] == "1"
    assert next_request(pages, after, start.url, {}, None, [{}] * 0) is None


@given(
    kind=st.sampled_from([PaginatorType.OFFSET, PaginatorType.PAGE_NUMBER]),
    limit=st.integers(1, 500),
    start=st.integers(0, 3),
    steps=st.integers(1, 20),
)
def test_the_page_named_ahead_is_the_page_the_response_names(
    kind: PaginatorType, limit: int, start: int, steps: int
) -> None:
    """What a window asks for ahead (`following`) is what the run asks for once each
    page before it came back full."""
    pag = PaginatorSpec(kind, limit=limit, start=start)
    request = first_request(PullSpec("http://h/a", (("q", "x"),), paginator=pag), None)
    for _ in range(steps):
        ahead = following(pag, request)
        assert ahead is not None
        assert next_request(pag, request, request.url, {}, None, [{}] * limit) == ahead
        request = ahead


def test_only_offsets_and_page_numbers_are_named_ahead() -> None:
    req = PageRequest("http://h/a")
    for kind in (PaginatorType.LINK_HEADER, PaginatorType.JSON_LINK, PaginatorType.CURSOR):
        assert following(PaginatorSpec(kind), req) is None
    assert following(PaginatorSpec(PaginatorType.NONE), req) is None


@given(
    head=st.sampled_from(["http://h/v1/items?page=", "http://h/v2/p", "http://h/x?a=1&page="]),
    tail=st.sampled_from(["", "&size=1000", "/items.json"]),
    start=st.integers(1, 10**6),
    step=st.integers(1, 1000),
)
def test_a_number_counting_up_is_guessed_by_its_step(
    head: str, tail: str, start: int, step: int
) -> None:
    def at(n: int) -> PageRequest:
        return PageRequest(f"{head}{n}{tail}")

    assert counted_on(at(start), at(start + step)) == at(start + 2 * step)
    cursor = (("q", "x"), ("cursor", str(start)))
    later = (("q", "x"), ("cursor", str(start + step)))
    guess = counted_on(PageRequest("http://h/c", cursor), PageRequest("http://h/c", later))
    assert guess == PageRequest("http://h/c", (("q", "x"), ("cursor", str(start + 2 * step))))


def test_nothing_is_guessed_unless_one_number_counts_up() -> None:
    def guess(a: str, b: str) -> PageRequest | None:
        return counted_on(PageRequest(a), PageRequest(b))

    assert guess("http://h/?page=3", "http://h/?page=2") is None  # down
    assert guess("http://h/?page=2", "http://h/?page=2") is None  # the same
    assert guess("http://h/?p=1&o=10", "http://h/?p=2&o=20") is None  # two numbers
    assert guess("http://h/?page=08", "http://h/?page=09") is None  # a fixed width
    assert guess("http://h/?after=abc1", "http://h/?after=xyz7") is None  # opaque
    assert guess("http://h/?after=a1b", "http://h/?after=a2c") is None
    two = (("a", "1"), ("b", "1")), (("a", "2"), ("b", "2"))
    assert counted_on(PageRequest("u", two[0]), PageRequest("u", two[1])) is None
    renamed = PageRequest("u", (("x", "1"),)), PageRequest("u", (("y", "2"),))
    assert counted_on(*renamed) is None


def test_cursor_param_goes_on_the_first_request_only_as_text() -> None:
    from ingestry.domain.harvest import CursorSpec

    spec = PullSpec("http://h/a", params=(("a", "b"),), cursor=CursorSpec(("u",), "since"))
    assert first_request(spec, "2026-01-01T00:00:00Z").params == (
        ("a", "b"), ("since", "2026-01-01T00:00:00Z"),
    )  # fmt: skip
    assert first_request(spec, None).params == (("a", "b"),)


def test_retry_after_seconds_and_http_date() -> None:
    assert retry_after("7", NOW) == 7.0
    assert retry_after("Wed, 02 Dec 2026 20:00:30 GMT", NOW) == 30.0
    assert retry_after("Wed, 02 Dec 2026 19:00:00 GMT", NOW) == 0.0  # in the past
    assert retry_after("soon", NOW) is None and retry_after(None, NOW) is None


@given(st.integers(0, 30), st.floats(0, 1))
def test_backoff_is_capped_and_jittered(attempt: int, fraction: float) -> None:
    wait = backoff(attempt, 0.5, 60.0, fraction)
    assert 0.0 <= wait <= 60.0
    assert wait == pytest.approx(min(60.0, 0.5 * 2**attempt) * fraction)


def test_later_compares_numbers_as_numbers_and_text_as_text() -> None:
    assert later(10, "9") and not later(9, "10")
    assert later("2026-01-02", "2026-01-01") and not later("2026-01-01", "2026-01-01")
    assert later(1, None)


def test_kept_headers_are_the_ones_that_matter() -> None:
    kept = kept_headers(
        {"etag": "x", "x-ratelimit-remaining": "1", "set-cookie": "s", "server": "y"}
    )
    assert kept == {"etag": "x", "x-ratelimit-remaining": "1"}


BASE = """\
conventions:
  item: {columns: {name: {path: name, type: text}}}
sources:
  api:
    strategy: raw
    convention: item
    rationale: partner API
"""


def settings(tmp_path: Path, extra: str) -> object:
    text = BASE + extra
    return parse_settings(text, tmp_path / "ingestry.yaml", {})


def test_pull_section_is_parsed(tmp_path: Path) -> None:
    extra = """\
    pull:
      url: https://api.example.com/v1/items
      params: {status: open, limit: 50}
      auth: {type: api_key, env: KEY, name: key, location: query}
      items: data.items
      paginator: {type: cursor, path: meta.next, param: after}
      cursor: {field: updated_at, param: since}
      rate_limit: 2.5
    schedule: "*/5 * * * *"
"""
    source = settings(tmp_path, extra).sources["api"]  # type: ignore[attr-defined]
    pull = source.pull
    assert pull.params == (("status", "open"), ("limit", "50"))
    assert pull.items == ("data", "items") and source.reading.records_path == ("data", "items")
    assert pull.paginator.path == ("meta", "next") and pull.cursor.field == ("updated_at",)
    assert source.format.value == "json" and source.schedule == "*/5 * * * *"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    pull: {url: 'ftp://x'}\n", "url"),
        ("    pull: {url: 'http://x', paginator: {type: json_link}}\n", "needs path"),
        ("    pull: {url: 'http://x', auth: {type: basic, env: P}}\n", "username"),
        ("    format: csv\n    pull: {url: 'http://x'}\n", "json"),
        ("    schedule: '* * * * *'\n", "pull: or files:"),
        ("    pull: {url: 'http://x'}\n    schedule: 'every day'\n", "cron"),
        ("    pull: {url: 'http://x', paginator: {type: scroll}}\n", "paginator"),
    ],
)
def test_bad_pull_sections_are_refused_naming_the_key(
    tmp_path: Path, extra: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        settings(tmp_path, extra)


def test_cursor_order_is_exact_past_a_float() -> None:
    wide = 123456789012345678901234567
    # a float of `wide` lies below wide - 1: compared through it, both looked later
    assert not later(wide - 1, str(wide)) and not later(wide, str(wide))
    assert later(wide + 1, str(wide)) and later(2**63, str(2**63 - 1))
    assert not later(2**64 + 1, str(2**64 + 2)) and later(2**64 + 2, 2**64 + 1)
    assert later(f"{wide}.000002", f"{wide}.000001")
    assert not later(f"{wide}.0000001", f"{wide}.000001")
    assert text_of(wide) == str(wide)


def test_cursor_order_of_mixed_numbers_and_text_is_defined() -> None:
    # numbers (and text spelled as one: a stored mark is text) by value, before any text
    assert later(100, "99") and later("100", "99") and later("1e3", 999)
    assert later("2026-01-01", 10**30) and not later(10**30, "2026-01-01")
    assert later("b", "a") and not later("0099", "a")  # "0099" is no JSON number: text
    assert [cursor_key(v) for v in (1.5, "1.50")] == [(0, Decimal("1.5"))] * 2
    assert cursor_key(True) == (1, "true")


def test_a_cursor_from_the_last_item_and_has_more() -> None:
    """Stripe's lists: `starting_after` is the page's last item's id, `has_more` says
    whether a page follows (so the last page is not followed by an empty one)."""
    stripe = PaginatorSpec(
        PaginatorType.CURSOR, param="starting_after", last_item=("id",), has_more=("has_more",)
    )
    req = PageRequest("http://h/v1/customers", (("limit", "2"),))
    items = [{"id": "cus_a"}, {"id": "cus_b"}]
    more = {"data": items, "has_more": True}
    got = next_request(stripe, req, req.url, {}, more, items)
    assert got == PageRequest(req.url, (("limit", "2"), ("starting_after", "cus_b")))
    assert next_request(stripe, req, req.url, {}, {**more, "has_more": False}, items) is None
    assert next_request(stripe, req, req.url, {}, more, []) is None  # no last item
    offset = PaginatorSpec(PaginatorType.OFFSET, limit=2, has_more=("more",))
    first = first_request(PullSpec("http://h/a", paginator=offset), None)
    assert next_request(offset, first, first.url, {}, {"more": False}, items) is None
    assert next_request(offset, first, first.url, {}, {"more": "no"}, items) is not None
