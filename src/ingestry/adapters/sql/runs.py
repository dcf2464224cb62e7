"""Reads of `ingest_runs`: runs newest first, and their counters summed per bucket.

The statements are shared; a `RunsDialect` spells the three things the backends do
differently: truncating a timestamp to a bucket (SQLite keeps timestamps as fixed-width
ISO text in UTC, so a prefix is the hour or the day; PostgreSQL has `date_trunc`),
reading a number out of the JSON summary, and the parameter mark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingestry.adapters.sql.rows import as_datetime, as_json
from ingestry.domain.runs import KIND_PREFIX, STAT_COUNTS, Every, Run, RunKind, StatsBucket

RUN_COLUMNS = "srn, source, started_at, finished_at, status, origins, summary"


@dataclass(frozen=True, slots=True)
class RunsDialect:
    mark: str
    bucket: Callable[[Every], str]
    number: Callable[[str], str]


def _of_sources(dialect: RunsDialect, sources: Sequence[str]) -> str:
    return f"source IN ({', '.join(dialect.mark for _ in sources)})"


def list_sql(
    dialect: RunsDialect, sources: Sequence[str] | None, kind: RunKind | None, limit: int | None
) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if sources is not None:
        where.append(_of_sources(dialect, sources) if sources else "FALSE")
        params += sources
    if kind is not None:
        where.append(f"srn LIKE {dialect.mark}")
        params.append(KIND_PREFIX[kind] + "%")
    sql = f"SELECT {RUN_COLUMNS} FROM ingest_runs"
    sql += f" WHERE {' AND '.join(where)}" if where else ""
    sql += " ORDER BY started_at DESC, srn DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def get_sql(dialect: RunsDialect) -> str:
    return f"SELECT {RUN_COLUMNS} FROM ingest_runs WHERE srn = {dialect.mark}"


def run_of(row: Sequence[Any]) -> Run:
    srn, source, started, finished, status, origins, summary = row
    return Run(
        srn=srn,
        source=source,
        started_at=as_datetime(started),
        finished_at=as_datetime(finished) if finished is not None else None,
        status=status,
        origins=list(as_json(origins) or []),
        summary=as_json(summary) if summary is not None else None,
    )


def stats_sql(
    dialect: RunsDialect, every: Every, sources: Sequence[str] | None, since: str | None
) -> tuple[str, list[Any]]:
    """Counters per (bucket, source) of the runs that ingested (replays re-derive what
    was received already: they are in `runs list`, not in these counts)."""
    bucket = dialect.bucket(every)
    sums = ", ".join(f"sum({dialect.number(name)})" for name in (*STAT_COUNTS, "seconds"))
    where = [f"summary IS NOT NULL AND srn NOT LIKE {dialect.mark}"]
    params: list[Any] = [KIND_PREFIX[RunKind.REPLAY] + "%"]
    if sources is not None:
        where.append(_of_sources(dialect, sources) if sources else "FALSE")
        params += sources
    if since is not None:
        where.append(f"started_at >= {dialect.mark}")
        params.append(since)
    sql = (
        f"SELECT {bucket} AS bucket, source, count(*), {sums} FROM ingest_runs "
        f"WHERE {' AND '.join(where)} GROUP BY 1, source ORDER BY 1, source"
    )
    return sql, params


def bucket_of(row: Sequence[Any]) -> StatsBucket:
    bucket, source, runs, *sums = row
    moment = bucket if isinstance(bucket, datetime) else datetime.fromisoformat(bucket)
    counts = {name: int(value or 0) for name, value in zip(STAT_COUNTS, sums, strict=False)}
    return StatsBucket(
        bucket=moment if moment.tzinfo else moment.replace(tzinfo=UTC),
        source=source,
        counts=counts,
        runs=int(runs),
        seconds=float(sums[-1] or 0.0),
    )
