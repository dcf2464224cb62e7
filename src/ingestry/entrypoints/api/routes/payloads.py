"""POST /v1/sources/{source}/payloads: one payload or a batch, the CLI's summary back."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ingestry.entrypoints.api.errors import error_doc
from ingestry.entrypoints.api.idempotent import IdempotencyKeyHeader, idempotent
from ingestry.entrypoints.api.schemas import ErrorOut, IngestSummaryOut
from ingestry.entrypoints.api.security import CallerDep
from ingestry.entrypoints.api.state import ApiState, StateDep
from ingestry.entrypoints.logs import request_id
from ingestry.services.bodies import BodyInput, body_format
from ingestry.services.idempotency import fingerprint

router = APIRouter(prefix="/v1", tags=["payloads"])

_OBJECT = {"type": "object", "additionalProperties": True}
REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"oneOf": [_OBJECT, {"type": "array", "items": _OBJECT}]},
        },
        "application/x-ndjson": {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}},
    },
}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, **error_doc(code)}
    for code in (400, 401, 403, 404, 409, 413, 415, 422, 429)
}


@router.post(
    "/sources/{source}/payloads",
    response_model=IngestSummaryOut,
    responses=ERRORS,
    openapi_extra={"requestBody": REQUEST_BODY},
    summary="Ingest one payload or a batch (JSON array or JSON Lines)",
)
async def ingest_payloads(
    source: str,
    request: Request,
    caller: CallerDep,
    state: StateDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    data_source = caller.source(source)
    content_type = request.headers.get("content-type")
    fmt = body_format(content_type, data_source)
    body = await request.body()
    request_fp = fingerprint("POST", request.url.path, (content_type or "").encode() + body)

    async def work() -> JSONResponse:
        body_input = BodyInput(body, fmt, data_source, f"<api:{request_id.get()}>")
        started = time.perf_counter()
        summary = await asyncio.wrap_future(state.writer.submit(data_source.name, body_input))
        count(state, summary.as_dict(), time.perf_counter() - started)
        return JSONResponse(IngestSummaryOut(**summary.as_dict()).model_dump(mode="json"))

    return await idempotent(state.idempotency, caller.owner, idempotency_key, request_fp, work)


def count(state: ApiState, summary: dict[str, Any], seconds: float) -> None:
    state.metrics.count_ingest(summary)
    state.metrics.observe("ingestry_ingest_seconds", {"source": str(summary["source"])}, seconds)
