"""PostgreSQL's spelling of run reads: `date_trunc` in UTC, numbers out of jsonb."""

from __future__ import annotations

from ingestry.adapters.sql.runs import RunsDialect
from ingestry.domain.runs import Every


def _bucket(every: Every) -> str:
    return f"date_trunc('{every.value}', started_at AT TIME ZONE 'UTC')"


def _number(name: str) -> str:
    return f"(summary->>'{name}')::numeric"


POSTGRES_RUNS = RunsDialect(mark="%s", bucket=_bucket, number=_number)
