"""GET /healthz (is the database reachable) and GET /metrics (Prometheus text)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from ingestry.entrypoints.api.errors import error_doc, error_response
from ingestry.entrypoints.api.schemas import ErrorOut, HealthOut
from ingestry.entrypoints.api.security import AdminDep
from ingestry.entrypoints.api.state import ApiState, StateDep
from ingestry.entrypoints.metrics import Gauge

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": ErrorOut, **error_doc(503)}},
)
def healthz(state: StateDep) -> JSONResponse:
    try:
        state.pool.primary.ping()
    except Exception as exc:
        return error_response(503, "database_unreachable", f"database unreachable: {exc}")
    return JSONResponse(HealthOut(status="ok", database="reachable").model_dump())


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={c: {"model": ErrorOut, **error_doc(c)} for c in (401, 403, 429)},
)
def metrics(_: AdminDep, state: StateDep) -> PlainTextResponse:
    return PlainTextResponse(
        state.metrics.render(_gauges(state)), media_type="text/plain; version=0.0.4"
    )


def _gauges(state: ApiState) -> Iterator[Gauge]:
    yield from _job_gauges(state)
    store = state.pool.primary
    yield (
        "ingestry_outbox_pending",
        "Outbox events waiting for delivery.",
        {},
        store.pending_events(),
    )
    yield (
        "ingestry_outbox_lag_seconds",
        "Seconds the oldest undelivered outbox event has waited (0: none waits).",
        {},
        store.outbox_lag(),
    )
    yield (
        "ingestry_outbox_dead",
        "Outbox events given up on (dead).",
        {},
        len(store.dead_events()),
    )
    age = store.backup_age()
    if age is not None:
        yield (
            "ingestry_backup_age_seconds",
            "Seconds since the newest backup in the backup directory.",
            {},
            age,
        )


def _job_gauges(state: ApiState) -> Iterator[Gauge]:
    counts = state.jobs.counts()
    yield ("ingestry_job_queue_depth", "Jobs waiting for a worker.", {}, counts.get("queued", 0))
    for status, count in sorted(counts.items()):
        yield ("ingestry_jobs", "Jobs per status.", {"status": status}, count)
    open_entries = state.pool.primary.control.quarantine_open()
    for source in sorted(state.settings.sources):
        yield (
            "ingestry_quarantine_open",
            "Quarantined payloads not yet resolved, per source.",
            {"source": source},
            open_entries.get(source, 0),
        )
