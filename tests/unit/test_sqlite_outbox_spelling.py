"""The SQLite outbox tells whether new records' srns are spelled as is from their rows
(`NewRecords`, no change made), exactly as `domain.records.plainly_spelled` tells it
from the changes."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from ingestry.adapters.sqlite.outbox import plainly_spelled
from ingestry.domain.records import plainly_spelled as spelled_as_is
from ingestry.services.ports import NewRecords, RecordRow

TEXT = st.text(alphabet=st.sampled_from("aZ09_.~-:/ é%"), max_size=4)


def _row(source_id: str, upstream: str) -> RecordRow:
    return ("harvest", source_id, None, "src", "{}", b"h", None, None, (), upstream)


@given(ids=st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=6))
@example(ids=[("plain", "up"), ("needs quoting", "up")])
@example(ids=[("a", "up/stream")])
def test_new_records_are_judged_as_their_changes(ids: list[tuple[str, str]]) -> None:
    rows = [_row(i, u) for i, u in ids]
    new = NewRecords("order", rows)
    assert plainly_spelled(new) == spelled_as_is(list(new))
    assert plainly_spelled(list(new)) == spelled_as_is(list(new))
