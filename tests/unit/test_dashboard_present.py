"""Pure parts of the dashboard: the hex view, the version diff, the plot, the counts
cache."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ingestry.entrypoints.api.ui.counts import Counts, CountsCache
from ingestry.entrypoints.api.ui.plots import Point, filled, volume_svg
from ingestry.entrypoints.api.ui.present import diff, hexdump, show_bytes
from ingestry.services.ports import QueueState

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(st.binary(max_size=300))
def test_the_hex_view_spells_every_byte(data: bytes) -> None:
    lines = hexdump(data).splitlines()
    back = bytes.fromhex("".join(line[10:57].replace(" ", "") for line in lines))
    assert back == data


def test_non_utf8_bytes_have_no_text_view() -> None:
    assert show_bytes(b"caf\xe9").text is None
    assert show_bytes("café".encode()).text == "café"


@given(st.dictionaries(st.text(max_size=4), JSON, max_size=4))
def test_a_document_never_differs_from_itself(doc: dict[str, Any]) -> None:
    assert diff(doc, doc) == []


@given(st.dictionaries(st.text(min_size=1, max_size=4), JSON, min_size=1, max_size=4), st.data())
def test_any_changed_leaf_is_reported(doc: dict[str, Any], data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(doc)))
    changed = {**doc, key: {"__new__": 1}}
    paths = {c.path for c in diff(doc, changed)}
    assert f"{key}.__new__" in paths


def test_the_plot_draws_bars_and_lines_on_a_time_axis() -> None:
    now = datetime(2026, 12, 2, 12, tzinfo=UTC)
    points = [Point(now.replace(hour=0), {"received": 50, "records_created": 40})]
    days = filled(points, "day", now - timedelta(days=3), now)
    assert [p.at.day for p in days] == [29, 30, 1, 2]
    svg = volume_svg("volume", days)
    assert svg.count('class="bar"') == 4 and svg.count('class="series"') == 3
    assert ">60</text>" in svg  # the top tick covers the largest value


def test_counts_are_kept_then_refreshed_behind_the_page() -> None:
    calls: list[int] = []
    gate = threading.Event()

    def compute() -> Counts:
        gate.wait(30)
        calls.append(1)
        queue = QueueState({}, [], 0, 0, 0)
        return Counts(datetime.now(UTC), {"s": {"records": len(calls)}}, {}, queue)

    cache = CountsCache(ttl=3600)
    assert cache.get(compute, wait=0) is None  # the first counts are being taken
    assert cache.get(compute, wait=30) is None  # only the call that started them waits
    gate.set()
    first = None
    for _ in range(600):
        first = cache.get(compute)
        if first is not None:
            break
        threading.Event().wait(0.05)
    assert first is not None and first.stats["s"]["records"] == 1
    again = cache.get(compute)
    assert again is first and len(calls) == 1  # kept, not counted again
    cache.ttl = 0
    stale = cache.get(compute)
    assert stale is first  # the old counts at once, a refresh behind the page
    cache.ttl = 3600
    for _ in range(600):
        latest = cache.get(compute)
        if latest is not None and latest.stats["s"]["records"] == 2:
            break
        threading.Event().wait(0.05)
    assert len(calls) == 2
