"""Receipt spans: one `raw_receipts` row for a run of consecutive arrivals
(docs/receipts.md, "Spans").

A receipt row covers raw ids `raw_id … raw_id + span - 1`, received in that order, on
lines `line … line + span - 1` (or all without a line). A file ingested in order and
every re-send of it are such runs, so a batch of 10,000 rows writes a few dozen receipt
rows instead of 10,000. A span never crosses a multiple of `SPAN_MAX` in raw-id space,
so it is at most `SPAN_MAX` long and the receipts of raw id x are found by an index
range `raw_id BETWEEN x - (SPAN_MAX - 1) AND x`: bounded, whatever the table holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise

#: The longest span; the schema checks it (`ck_raw_receipts_span`).
SPAN_MAX = 256

#: (raw id, line, batch id) of one arrival, and the same with its span's length.
Arrival = tuple[int, int | None, int]
Span = tuple[int, int | None, int, int]


def receipt_spans(arrivals: Iterable[Arrival]) -> list[Span]:
    """Arrivals in arrival order → spans in the same order: an arrival extends the
    previous span when its raw id and line (both, or no lines) follow the span's last
    and its batch is the same; a raw id that is a multiple of `SPAN_MAX` starts one."""
    out: list[Span] = []
    last_id = last_line = last_batch = None
    for raw_id, line, batch in arrivals:
        if (
            out
            and raw_id == last_id + 1  # type: ignore[operator]
            and raw_id % SPAN_MAX
            and batch == last_batch
            and (line is None if last_line is None else line == last_line + 1)
        ):
            first, first_line, _, n = out[-1]
            out[-1] = (first, first_line, batch, n + 1)
        else:
            out.append((raw_id, line, batch, 1))
        last_id, last_line, last_batch = raw_id, line, batch
    return out


def span_columns(
    ids: Sequence[int], lines: Sequence[int | None]
) -> tuple[list[int], list[int | None], list[int]]:
    """`receipt_spans` of one batch's rows (raw ids and lines in row order) as three
    columns: first raw ids, first lines, lengths. Consecutive ids on consecutive lines
    (a file written in order) are cut by arithmetic, without a step per row."""
    n = len(ids)
    if _in_order(ids, lines):
        start, end = ids[0], ids[0] + n
        cuts = [start, *range((start // SPAN_MAX + 1) * SPAN_MAX, end, SPAN_MAX), end]
        firsts = cuts[:-1]
        line = lines[0] - start  # type: ignore[operator]
        return firsts, [line + i for i in firsts], [b - a for a, b in pairwise(cuts)]
    spans = receipt_spans((i, line, 0) for i, line in zip(ids, lines, strict=True))
    return [s[0] for s in spans], [s[1] for s in spans], [s[3] for s in spans]


def _in_order(ids: Sequence[int], lines: Sequence[int | None]) -> bool:
    """Consecutive ids on consecutive lines (compared as whole lists: C speed)."""
    n = len(ids)
    first = lines[0] if n else None
    return (
        first is not None
        and list(ids) == list(range(ids[0], ids[0] + n))
        and list(lines) == list(range(first, first + n))
    )


def covers(receipt: str, raw: str) -> str:
    """SQL: receipt row `receipt` (an alias) covers the raw id expression `raw`; an
    index range on `raw_id`, then the span's end."""
    return (
        f"{receipt}.raw_id BETWEEN {raw} - {SPAN_MAX - 1} AND {raw}"
        f" AND {receipt}.raw_id + {receipt}.span > {raw}"
    )


def line_of(receipt: str, raw: str) -> str:
    """SQL: the line of raw id `raw` in receipt row `receipt` (null without lines)."""
    return f"{receipt}.line + ({raw} - {receipt}.raw_id)"


def islands(rows: str, order: str) -> str:
    """SQL: the spans of `rows` (a FROM item with raw_id, line, batch_id and `order`),
    as rows of (first, raw_id, line, batch_id, span): what `receipt_spans` computes, for
    rows on the server. `first` is the span's first `order` value, for the insert's
    order. (Written without `%`: PostgreSQL's driver would read it as a parameter.)"""
    head = (
        f"CASE WHEN raw_id / {SPAN_MAX} * {SPAN_MAX} <> raw_id"
        " AND raw_id = (lag(raw_id) OVER w) + 1 AND batch_id = lag(batch_id) OVER w"
        " AND (line IS NULL AND lag(line) OVER w IS NULL OR line = (lag(line) OVER w) + 1)"
        " THEN 0 ELSE 1 END"
    )
    return (
        "SELECT min(o) AS first, min(raw_id) AS raw_id, min(line) AS line,"
        " min(batch_id) AS batch_id, count(*) AS span"
        " FROM (SELECT o, raw_id, line, batch_id, sum(h) OVER (ORDER BY o) AS g FROM"
        f" (SELECT {order} AS o, raw_id, line, batch_id, {head} AS h FROM {rows}"
        f" WINDOW w AS (ORDER BY {order})) s) t GROUP BY g"
    )


def left_in(receipt: str, gone: str = "") -> str:
    """SQL: some raw row is left in receipt row `receipt`'s span (`gone`: a condition
    on `q`, the raw rows being deleted in the same statement, that do not count)."""
    also = f" AND NOT ({gone})" if gone else ""
    return (
        f"EXISTS (SELECT 1 FROM raw_payloads q WHERE q.id >= {receipt}.raw_id"
        f" AND q.id < {receipt}.raw_id + {receipt}.span{also})"
    )


def drop_orphans(raw: str) -> str:
    """SQL: delete the receipt rows covering raw id `raw` (a parameter, or an
    expression) that no longer cover any raw row. A span's receipts go with the last
    of its payloads (retention, erasure): until then they are kept whole, and raw ids
    are never reused, so a purged id in a span is never read again."""
    gone = f"NOT {left_in('raw_receipts')}"
    return f"DELETE FROM raw_receipts WHERE {covers('raw_receipts', raw)} AND {gone}"
