"""SQLite's spelling of run reads: timestamps are fixed-width UTC ISO text."""

from __future__ import annotations

from ingestry.adapters.sql.runs import RunsDialect
from ingestry.domain.runs import Every

_DAY = "substr(started_at, 1, 10)"
#: Monday of the day's week (`%w`: 0 is Sunday), as PostgreSQL's date_trunc('week')
_MONDAY = f"date({_DAY}, '-' || ((CAST(strftime('%w', {_DAY}) AS INTEGER) + 6) % 7) || ' days')"
_BUCKETS = {
    Every.HOUR: "substr(started_at, 1, 13) || ':00:00+00:00'",
    Every.DAY: f"{_DAY} || 'T00:00:00+00:00'",
    Every.WEEK: f"{_MONDAY} || 'T00:00:00+00:00'",
}


def _bucket(every: Every) -> str:
    return _BUCKETS[every]


def _number(name: str) -> str:
    return f"json_extract(summary, '$.{name}')"


SQLITE_RUNS = RunsDialect(mark="?", bucket=_bucket, number=_number)
