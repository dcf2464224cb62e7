"""Runs you can list (issue 21 item 2) and counts over time (issue 17 item 5), on every
backend: the same runs give the same buckets on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingestry.domain.errors import QueryError, RunNotFoundError, UnknownSourceError
from ingestry.domain.runs import STAT_COUNTS
from ingestry.store import Store
from tests.backends import Database

ORDERS = "data/samples/orders.jsonl"
RATES = "data/samples/exchange_rates.csv"


@pytest.fixture
def history(store: Store, project: Path) -> Store:
    """Two ingests of one file, one of another source, a replay: four runs."""
    store.ingest_files("customer_orders", [project / ORDERS])
    store.ingest_files("customer_orders", [project / ORDERS])
    store.ingest_files("exchange_rates", [project / RATES])
    store.replay("customer_orders")
    return store


def test_runs_newest_first_with_kind_summary_and_files(history: Store, project: Path) -> None:
    runs = history.runs()
    assert [r.kind.value for r in runs] == ["replay", "ingest", "ingest", "ingest"]
    assert [r.source for r in runs][1:] == ["exchange_rates", "customer_orders", "customer_orders"]
    assert all(r.status == "succeeded" and r.finished_at for r in runs)
    first = runs[-1]
    assert first.summary is not None and first.summary["received"] == 46
    assert first.summary["records_created"] == 43 and first.origins[0].endswith("orders.jsonl")
    assert runs[-2].summary is not None and runs[-2].summary["raw_duplicates"] == 46
    assert [r.srn for r in history.runs("customer_orders", "ingest")] == [
        runs[2].srn,
        runs[3].srn,
    ]
    assert history.runs(kind="replay", limit=5) == [runs[0]]
    assert history.runs(kind="harvest") == []  # no HTTP pull yet: file ingests are not one
    assert history.run(first.srn) == first
    shown = history.run(first.srn).as_dict()
    assert list(shown)[:4] == ["srn", "kind", "source", "status"]
    with pytest.raises(RunNotFoundError, match="runs list"):
        history.run("srn:ingestry:harvest-run:nope")
    with pytest.raises(UnknownSourceError):
        history.runs("no_such_source")


#: where each run is moved (oldest first): two on one Sunday hour, one on Monday, one a
#: week later. 2026-11-29 is a Sunday: its week starts Monday 2026-11-23.
MOMENTS = [
    "2026-11-29T10:15:00.000000+00:00",
    "2026-11-29T10:45:00.000000+00:00",
    "2026-11-30T00:00:00.000000+00:00",
    "2026-12-07T23:59:59.999999+00:00",
]


def test_stats_per_hour_day_and_week_sum_the_runs(history: Store, db: Database) -> None:
    runs = list(reversed(history.runs()))  # oldest first
    for run, moment in zip(runs, MOMENTS, strict=True):
        db.execute(
            "UPDATE ingest_runs SET started_at = :t WHERE srn = :s",
            t=datetime.fromisoformat(moment) if db.kind == "postgres" else moment,
            s=run.srn,
        )
    ingests = [(r, m) for r, m in zip(runs, MOMENTS, strict=True) if r.kind.value == "ingest"]

    def expected(bucket_of: dict[str, str]) -> list[tuple[str, str, tuple[int, ...], int]]:
        sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 8)
        for run, moment in ingests:
            assert run.summary is not None
            row = sums[(bucket_of[moment], run.source)]
            for i, name in enumerate(STAT_COUNTS):
                row[i] += run.summary[name]
            row[7] += 1
        return [(b, s, tuple(v[:7]), v[7]) for (b, s), v in sorted(sums.items())]

    def got(every: str, **kw: str) -> list[tuple[str, str, tuple[int, ...], int]]:
        return [
            (b.bucket.isoformat(), b.source, tuple(b.counts[n] for n in STAT_COUNTS), b.runs)
            for b in history.stats_over_time(every, **kw)
        ]

    hour = {m: m[:13] + ":00:00+00:00" for m in MOMENTS}
    day = {m: m[:10] + "T00:00:00+00:00" for m in MOMENTS}
    week = {
        MOMENTS[0]: "2026-11-23T00:00:00+00:00",
        MOMENTS[1]: "2026-11-23T00:00:00+00:00",
        MOMENTS[2]: "2026-11-30T00:00:00+00:00",
        MOMENTS[3]: "2026-12-07T00:00:00+00:00",
    }
    assert got("hour") == expected(hour)
    assert got("day") == expected(day)
    assert got("week") == expected(week)
    assert len(got("hour")) == 2  # two ingests share 10:00; the replay is not counted
    assert got("day", source="exchange_rates") == [
        row for row in expected(day) if row[1] == "exchange_rates"
    ]
    assert got("day", since="2026-11-30") == [
        row for row in expected(day) if row[0] >= "2026-11-30"
    ]
    assert history.stats_over_time("week", since="2027-01-01T00:00+01:00") == []
    with pytest.raises(QueryError, match="--since 'soon'"):
        history.stats_over_time("day", since="soon")
    assert all(b.bucket.tzinfo == UTC for b in history.stats_over_time("hour"))
