"""Runs and counts over time: GET /v1/runs, /v1/runs/{srn}, /v1/stats?every=day.

A scoped key sees the runs of the sources it may use, and nothing of the others (a run
of another source answers 404, as if it did not exist).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from ingestry.domain.errors import RunNotFoundError
from ingestry.entrypoints.api.errors import documented
from ingestry.entrypoints.api.schemas import RunList, RunOut, StatsBucketOut, StatsList
from ingestry.entrypoints.api.security import Caller, CallerDep
from ingestry.entrypoints.api.state import StateDep

router = APIRouter(tags=["runs"])


def _sources(caller: Caller, source: str | None) -> list[str] | None:
    if source is not None:
        return [caller.source(source).name]
    return None if caller.key.admin else [s.name for s in caller.sources()]


@router.get("/v1/runs", response_model=RunList, responses=documented(404))
def list_runs(
    caller: CallerDep,
    state: StateDep,
    source: Annotated[str | None, Query(max_length=255)] = None,
    kind: Literal["ingest", "replay", "harvest"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RunList:
    """Runs newest first."""
    with state.pool.borrow() as store:
        runs = store.runs(_sources(caller, source), kind, limit)
    return RunList(items=[RunOut.model_validate(r.as_dict()) for r in runs])


@router.get("/v1/runs/{srn}", response_model=RunOut, responses=documented(404))
def get_run(srn: str, caller: CallerDep, state: StateDep) -> RunOut:
    with state.pool.borrow() as store:
        run = store.run(srn)
    if not caller.key.admin and not caller.key.may_use_source(run.source):
        raise RunNotFoundError(f"no run {srn}")
    return RunOut.model_validate(run.as_dict())


@router.get("/v1/stats", response_model=StatsList, responses=documented(400, 404))
def stats(
    caller: CallerDep,
    state: StateDep,
    every: Literal["hour", "day", "week"] = "day",
    source: Annotated[str | None, Query(max_length=255)] = None,
    since: Annotated[str | None, Query(max_length=64)] = None,
) -> StatsList:
    """Ingest counters per UTC bucket and source (runs counted in the bucket they
    started in; replays are not ingests and are left out)."""
    with state.pool.borrow() as store:
        buckets = store.stats_over_time(every, _sources(caller, source), since)
    return StatsList(items=[StatsBucketOut.model_validate(b.as_dict()) for b in buckets])
