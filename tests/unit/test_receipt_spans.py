"""Receipt spans (adapters/sql/spans.py): any arrivals, in any order, come back one by
one from their spans; a span is never longer than SPAN_MAX nor crosses a multiple of
it; the column form (`span_columns`, with its arithmetic fast path) equals the loop."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ingestry.adapters.sql.spans import SPAN_MAX, Arrival, receipt_spans, span_columns

ids = st.integers(min_value=1, max_value=3 * SPAN_MAX)
lines = st.none() | st.integers(min_value=1, max_value=50)
arrival = st.tuples(ids, lines, st.integers(min_value=1, max_value=2))


def runs() -> st.SearchStrategy[list[Arrival]]:
    """Arrivals that often run on (consecutive ids and lines), as files do."""

    def run(start: tuple[int, int | None, int], length: int) -> list[Arrival]:
        raw_id, line, batch = start
        return [(raw_id + k, None if line is None else line + k, batch) for k in range(length)]

    return st.lists(
        st.builds(run, arrival, st.integers(min_value=1, max_value=2 * SPAN_MAX)), max_size=4
    ).map(lambda parts: [a for part in parts for a in part])


def expand(spans: list[tuple[int, int | None, int, int]]) -> list[Arrival]:
    return [
        (raw_id + k, None if line is None else line + k, batch)
        for raw_id, line, batch, n in spans
        for k in range(n)
    ]


@given(st.lists(arrival, max_size=40) | runs())
def test_spans_give_back_every_arrival_in_order(arrivals: list[Arrival]) -> None:
    spans = receipt_spans(arrivals)
    assert expand(spans) == arrivals
    for raw_id, _, _, n in spans:
        assert 1 <= n <= SPAN_MAX
        assert (raw_id + n - 1) // SPAN_MAX == raw_id // SPAN_MAX  # no multiple crossed


@given(runs())
def test_span_columns_equal_the_loop(arrivals: list[Arrival]) -> None:
    raw_ids = [a[0] for a in arrivals]
    got = span_columns(raw_ids, [a[1] for a in arrivals])
    spans = receipt_spans((i, line, 0) for i, line, _ in arrivals)
    assert got == ([s[0] for s in spans], [s[1] for s in spans], [s[3] for s in spans])


def test_a_file_in_order_is_a_span_per_block_of_raw_ids() -> None:
    firsts, starts, lengths = span_columns(range(250, 800), list(range(1, 551)))
    assert firsts == [250, 256, 512, 768]
    assert starts == [1, 7, 263, 519]
    assert lengths == [6, 256, 256, 32]
