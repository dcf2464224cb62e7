"""Jobs: submit (idempotent with Idempotency-Key), poll, fetch the result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from fastapi.responses import JSONResponse

from ingestry.domain.errors import InvalidJobError, NotPermittedError
from ingestry.entrypoints.api.errors import ApiError, error_doc
from ingestry.entrypoints.api.idempotent import IdempotencyKeyHeader
from ingestry.entrypoints.api.render import job_out
from ingestry.entrypoints.api.schemas import (
    BackupJobIn,
    DeleteJobIn,
    ErrorOut,
    ExportJobIn,
    ForkJobIn,
    HarvestJobIn,
    ImportJobIn,
    IngestJobIn,
    JobIn,
    JobOut,
    JobResultOut,
    ReplayJobIn,
    VerifyJobIn,
)
from ingestry.entrypoints.api.security import Caller, CallerDep
from ingestry.entrypoints.api.state import StateDep
from ingestry.services.replay import NotRawSourceError
from ingestry.store import Store

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorOut, **error_doc(c)} for c in (401, 403, 429, *codes)}


JobSpec = (
    IngestJobIn
    | ReplayJobIn
    | ExportJobIn
    | HarvestJobIn
    | BackupJobIn
    | VerifyJobIn
    | ForkJobIn
    | ImportJobIn
    | DeleteJobIn
)


def check_job(spec: JobSpec, caller: Caller, store: Store) -> None:
    """Refuse at submit what the worker would refuse later (scope, paths, kinds)."""
    if isinstance(spec, ForkJobIn):
        if not caller.key.admin:  # it writes records of any convention it is given
            raise NotPermittedError("a fork job needs an admin API key")
        if spec.convention is not None:
            store.settings.convention(spec.convention)
    elif isinstance(spec, ImportJobIn):
        if not caller.key.admin:  # an export may hold records of any convention
            raise NotPermittedError("an import job needs an admin API key")
        store.import_path(spec.path)
    elif isinstance(spec, DeleteJobIn):
        check_delete(spec, caller, store)
    elif isinstance(spec, HarvestJobIn):
        if caller.source(spec.source).pull is None:
            raise InvalidJobError(f"source '{spec.source}' has no pull: section to harvest")
    elif isinstance(spec, BackupJobIn | VerifyJobIn):
        if not caller.key.admin:
            raise NotPermittedError(f"{spec.kind} jobs need an admin API key")
        if isinstance(spec, VerifyJobIn):
            store.backup_file(spec.path)
    elif isinstance(spec, IngestJobIn):
        caller.source(spec.source)
        store.inbox_file(spec.source, spec.path)
    elif isinstance(spec, ReplayJobIn):
        if not caller.source(spec.source).is_raw:
            raise NotRawSourceError(f"source '{spec.source}' is simple: it keeps no raw rows")
    elif spec.source is not None:
        if not caller.source(spec.source).is_raw and spec.raw:
            raise NotRawSourceError(f"source '{spec.source}' is simple: it keeps no raw rows")
    else:
        store.settings.convention(str(spec.convention))
        caller.may_export_convention(str(spec.convention))


def check_delete(spec: DeleteJobIn, caller: Caller, store: Store) -> None:
    """A scoped key deletes by filter only in a convention all of whose sources it holds
    (as an export); a bad filter is a 400 now, not a failed job later."""
    store.settings.convention(spec.convention)
    if not caller.key.admin:
        feeding = {s.name for s in store.settings.sources.values()
                   if s.convention == spec.convention}  # fmt: skip
        if not feeding or not feeding <= set(caller.key.sources):
            name = spec.convention
            raise NotPermittedError(f"a delete job over '{name}' needs every source feeding it")
    found = store.records(
        spec.convention, limit=1, where=spec.where, since=spec.since, until=spec.until,
        time_column=spec.time_column,
    )  # fmt: skip
    next(iter(found), None)


@router.post(
    "",
    response_model=JobOut,
    status_code=202,
    responses={
        200: {"model": JobOut, "description": "the job this key submitted before"},
        **_errors(400, 404, 422, 501),
    },
)
def submit_job(
    spec: Annotated[JobIn, Body()],
    caller: CallerDep,
    state: StateDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    with state.pool.borrow() as store:
        check_job(spec, caller, store)
    params = spec.model_dump(mode="json", exclude_none=True, exclude={"kind"})
    job, created = state.jobs.submit(
        spec.kind, params, owner=caller.owner, idempotency_key=idempotency_key
    )
    return JSONResponse(
        job_out(job).model_dump(mode="json"),
        status_code=202 if created else 200,
        headers={"Location": f"/v1/jobs/{job.id}"},
    )


@router.get("/{job_id}", response_model=JobOut, responses=_errors(404))
def get_job(job_id: str, caller: CallerDep, state: StateDep) -> JobOut:
    return job_out(state.jobs.get(job_id, owner=caller.job_owner_filter))


@router.get("/{job_id}/result", response_model=JobResultOut, responses=_errors(404, 409))
def job_result(
    job_id: str,
    response: Response,
    caller: CallerDep,
    state: StateDep,
) -> JobResultOut:
    job = state.jobs.get(job_id, owner=caller.job_owner_filter)
    if not job.finished:
        raise ApiError(
            409,
            f"job {job_id} is {job.status}: poll GET /v1/jobs/{job_id}",
            code="job_not_finished",
        )
    return JobResultOut(
        id=job.id,
        status=job.status,  # type: ignore[arg-type]
        result=dict(job.result) if job.result is not None else None,
        error=job.error,
    )
