"""domain.lookback: an incremental mark moved back by the source's lookback, in the
mark's own spelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingestry.domain.harvest import CursorSpec, HarvestError
from ingestry.domain.lookback import looked_back, start_of
from ingestry.domain.parents import marks_text, parent_marks


def test_timestamps_keep_their_spelling() -> None:
    assert looked_back("2026-01-01T00:00:35.000035Z", 10) == "2026-01-01T00:00:25.000035Z"
    assert looked_back("2026-01-01T00:00:05Z", 10) == "2025-12-31T23:59:55Z"
    assert looked_back("2026-03-01 00:00:00.5+01:00", 1) == "2026-02-28 23:59:59.5+01:00"
    assert looked_back("2026-01-01T00:00:00.123456789Z", 0.5) == "2025-12-31T23:59:59.623456789Z"
    assert looked_back("2026-01-01T10:00", 61) == "2026-01-01T09:58"  # whole minutes, up
    assert looked_back("2026-01-02", 3600) == "2026-01-01"  # whole days, up


def test_a_fraction_shorter_than_the_lookback_rounds_the_mark_earlier() -> None:
    """Never later than the exact moment: asking for a little more loses nothing."""
    assert looked_back("2026-01-01T00:00:10Z", 0.25) == "2026-01-01T00:00:09Z"
    assert looked_back("2026-01-01T00:00:10.5Z", 0.25) == "2026-01-01T00:00:10.2Z"


def test_a_year_before_1000_keeps_its_four_digits() -> None:
    """glibc's strftime writes year 999 as `999`: the mark moved back was then not an
    ISO 8601 stamp (found by the hypothesis test below, whose range reached it)."""
    assert looked_back("1000-01-01T00:00:00Z", 1) == "0999-12-31T23:59:59Z"
    assert looked_back("1000-01-01T00:00Z", 60) == "0999-12-31T23:59Z"
    assert looked_back("1000-01-01", 1) == "0999-12-31"


def test_numbers_move_back_in_their_own_units() -> None:
    assert looked_back("1000", 50) == "950"
    assert looked_back(str(2**70 + 2), 1) == str(2**70 + 1)  # exact past 64 bits
    assert looked_back("1000", 0.5) == "999"  # an integer stays one, rounded down
    assert looked_back("12.75", 0.5) == "12.25"


def test_a_token_cannot_move_back_and_no_lookback_is_the_mark() -> None:
    assert looked_back("abc123", 10) is None
    assert looked_back("2026-13-45T00:00:00Z", 10) is None
    assert looked_back("abc123", 0) == "abc123"


@given(
    st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9000, 1, 1)),
    st.integers(0, 10**7),
)
def test_any_microsecond_stamp_moves_back_exactly(moment: datetime, back: int) -> None:
    mark = moment.replace(tzinfo=UTC).isoformat(timespec="microseconds")
    expected = (moment - timedelta(seconds=back)).replace(tzinfo=UTC)
    assert looked_back(mark, back) == expected.isoformat(timespec="microseconds")


def test_a_child_resources_marks_round_trip_and_a_plain_mark_is_refused() -> None:
    marks = {"b": "2", "a": "2026-01-01T00:00:00Z"}
    text = marks_text(marks)
    assert text == '{"a":"2026-01-01T00:00:00Z","b":"2"}'  # sorted: the same text each run
    assert parent_marks("issues", text) == marks and parent_marks("issues", None) == {}
    with pytest.raises(HarvestError, match="not a child resource's marks"):
        parent_marks("issues", "2026-01-01T00:00:00Z")  # kept before for_each was added


def test_the_start_of_a_walk_is_its_mark_less_the_lookback() -> None:
    cursor = CursorSpec(("updated_at",), "since", lookback=10)
    assert start_of("s", cursor, "2026-01-01T00:00:10Z") == "2026-01-01T00:00:00Z"
    assert start_of("s", CursorSpec(("u",), "since"), 42) == "42"
    assert start_of("s", None, "x") is None and start_of("s", cursor, None) is None
