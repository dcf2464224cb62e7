"""A lookback for incremental pulls (`cursor: {lookback: S}`): the mark sent to the
upstream, moved back by S, so items an upstream commits late, with a field value
already behind the mark, are still asked for (docs/harvest.md, "Lookback").

An API's `updated_at` is often set before the item is visible (a long transaction, a
replica, a search index): a run that asks for `since=MARK` then never sees an item
stamped just before MARK that became visible after the run. Asking again for the last
S seconds costs some unchanged records (publishing is idempotent) and loses nothing.
Pure; the mark's own spelling is kept, so the upstream parses what it sent.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ingestry.domain.harvest import CursorSpec, HarvestError, text_of

__all__ = ["looked_back", "mark_sent", "start_of"]

_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
#: ISO 8601 / RFC 3339 as APIs write it: a date, then a time to the minute, the second
#: or a fraction of it, then Z or an offset (or none)
_STAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:([Tt ])(\d{2}):(\d{2})(?::(\d{2})(?:([.,])(\d+))?)?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?"
)


def looked_back(mark: str, seconds: float) -> str | None:
    """`mark` moved back by `seconds`: a number less `seconds` (in the field's own
    units), a timestamp `seconds` earlier in the mark's spelling (its separator, its
    number of fraction digits, its offset; a mark to the minute or the day moves back
    by whole minutes or days, rounded up). None when the mark is neither (a token)."""
    if seconds <= 0:
        return mark
    back = Decimal(str(seconds))
    if _INTEGER.fullmatch(mark):
        return str(int(mark) - math.ceil(back))
    if _NUMBER.fullmatch(mark):
        return str(Decimal(mark) - back)
    found = _STAMP.fullmatch(mark)
    if found is None:
        return None
    day, sep, hour, minute, second, point, fraction, zone = found.groups()
    zone = zone or ""
    try:
        if sep is None:
            moved = date.fromisoformat(day) - timedelta(days=math.ceil(back / 86400))
            return moved.isoformat() + zone
        base = datetime.fromisoformat(f"{day}T{hour}:{minute}:{second or '00'}")
        if second is None:
            moved_at = base - timedelta(minutes=math.ceil(back / 60))
            return _minute(moved_at, sep) + zone
        digits = len(fraction) if fraction else 0
        units = 10**digits
        whole, rest = divmod(int(fraction or 0) - math.ceil(back * units), units)
        moved_at = base + timedelta(seconds=whole)
    except (ValueError, OverflowError):
        return None  # a date that is not one, or before year 1
    text = f"{_minute(moved_at, sep)}:{moved_at.second:02d}"
    if digits:
        text += f"{point}{rest:0{digits}d}"
    return text + zone


def _minute(moment: datetime, sep: str) -> str:
    """`moment` to the minute in ISO 8601, the year in four digits (glibc's strftime
    writes year 999 as `999`)."""
    return f"{moment.date().isoformat()}{sep}{moment.hour:02d}:{moment.minute:02d}"


def mark_sent(source: str, mark: str, seconds: float) -> str:
    """`looked_back`, or an error naming the source when the mark cannot move back."""
    moved = looked_back(mark, seconds)
    if moved is None:
        raise HarvestError(
            f"harvest of {source} stopped before its first request: cursor.lookback "
            f"needs a mark that is a number or a timestamp, and the kept mark is "
            f"{mark!r}; remove lookback from the source's cursor"
        )
    return moved


def start_of(source: str, cursor: CursorSpec | None, mark: Any) -> str | None:
    """What a walk sends as its mark: the kept one as text, less the lookback."""
    if mark is None or cursor is None:
        return None
    start = text_of(mark)
    return mark_sent(source, start, cursor.lookback) if cursor.lookback else start
