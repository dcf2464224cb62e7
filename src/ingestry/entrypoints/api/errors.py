"""Every error leaves the API in one shape: an RFC 9457 problem (`application/problem+
json`: type, title, status, detail) whose extension member `error` keeps the fields
clients read before, {code, message, request_id}.

Core errors (`IngestryError` subclasses) map to a status and a stable code here, in
one table; nothing else in the API picks statuses for core errors.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingestry.domain import errors as core
from ingestry.domain.harvest import HarvestBusyError
from ingestry.entrypoints.api.schemas import ErrorOut
from ingestry.entrypoints.logs import request_id
from ingestry.services.bodies import UnsupportedBodyError
from ingestry.services.replay import NotRawSourceError

log = logging.getLogger("ingestry.api")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}

#: Most specific first: the first matching class decides.
CORE_ERRORS: tuple[tuple[type[core.IngestryError], int, str], ...] = (
    (core.NotPermittedError, 403, "forbidden"),
    (core.UnknownSourceError, 404, "unknown_source"),
    (core.UnknownConventionError, 404, "unknown_convention"),
    (core.RecordNotFoundError, 404, "not_found"),
    (core.RunNotFoundError, 404, "not_found"),
    (core.HookNotFoundError, 404, "not_found"),
    (core.JobNotFoundError, 404, "not_found"),
    (core.InvalidCursorError, 400, "invalid_cursor"),
    (core.QueryError, 400, "invalid_query"),
    (core.ConflictError, 409, "version_conflict"),
    (core.ErasureBlockedError, 409, "legal_hold"),
    (HarvestBusyError, 409, "run_in_progress"),
    (core.IdempotencyInFlightError, 409, "idempotency_in_flight"),
    (core.IdempotencyKeyReusedError, 422, "idempotency_key_reused"),
    (core.InvalidJobError, 422, "invalid_job"),
    (core.PathOutsideDataRootError, 422, "path_outside_data_root"),
    (UnsupportedBodyError, 415, "unsupported_media_type"),
    (core.InputError, 422, "invalid_input"),
    (core.StrictModeError, 422, "strict_mode_rejected"),
    (core.InvalidSourceError, 422, "invalid_source"),
    (core.ExtractionError, 422, "extraction_failed"),
    (NotRawSourceError, 422, "not_a_raw_source"),
    (core.SchemaError, 503, "schema_outdated"),
    (core.StatementTimeoutError, 503, "statement_timeout"),
    (core.PoolExhaustedError, 503, "pool_exhausted"),
    (core.StorageError, 503, "storage_unavailable"),
    (core.ConfigError, 500, "config_error"),
)


class ApiError(StarletteHTTPException):
    """An HTTP error raised by the API layer itself (auth, limits, preconditions)."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, message, dict(headers) if headers else None)
        self.code = code or CODES.get(status_code, "error")


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    current_version: int | None = None,
) -> JSONResponse:
    detail: dict[str, object] = {
        "code": code,
        "message": message,
        "request_id": request_id.get() or "",
    }
    if current_version is not None:
        detail["current_version"] = current_version
    return JSONResponse(
        problem(status, message, detail),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_JSON,
    )


PROBLEM_JSON = "application/problem+json"


def problem(status: int, message: str, detail: Mapping[str, object]) -> dict[str, object]:
    """The RFC 9457 body: `about:blank` (the status says it all), the status's phrase as
    title, the message as detail, and the old body's `error` as an extension member."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return {"type": "about:blank", "title": title, "status": status, "detail": message,
            "error": dict(detail)}  # fmt: skip


def document_problems(app: FastAPI) -> None:
    """Every documented error response as the API sends it: FastAPI documents its own
    422 (request validation) as `application/json` `HTTPValidationError`, but our
    handler answers with a problem (`on_validation`); say so in the OpenAPI document.
    And every operation with a request body can answer 400: FastAPI's own answer to a
    body it cannot decode (not UTF-8, say), which is not a validation error."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.get("responses", {})
                if "422" in responses:
                    responses["422"] = error_doc(422)
                if "requestBody" in operation:  # a body FastAPI cannot decode: 400
                    responses.setdefault("400", error_doc(400))
        schema.get("components", {}).get("schemas", {}).pop("HTTPValidationError", None)
        schema.get("components", {}).get("schemas", {}).pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def error_doc(status: int) -> dict[str, object]:
    """An error response in the OpenAPI document (problem+json, schema ErrorOut)."""
    return {
        "description": CODES[status],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the errors every authenticated route can give (401, 403,
    429) and `codes`, each documented as a problem+json ErrorOut."""
    return {c: {"model": ErrorOut, **error_doc(c)} for c in (401, 403, 429, *codes)}


def core_status(exc: core.IngestryError) -> tuple[int, str]:
    for cls, status, code in CORE_ERRORS:
        if isinstance(exc, cls):
            return status, code
    return 400, "bad_request"


def core_error_response(exc: core.IngestryError) -> JSONResponse:
    status, code = core_status(exc)
    if status >= 500:
        log.error("request failed: %s", exc, extra={"error_code": code})
    current = exc.current if isinstance(exc, core.ConflictError) else None
    headers = {"ETag": f'"{current}"'} if current is not None else None
    if isinstance(exc, core.PoolExhaustedError):
        headers = {"Retry-After": str(exc.retry_after)}
    return error_response(status, code, str(exc), headers=headers, current_version=current)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    async def on_core(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, core.IngestryError)
        return core_error_response(exc)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = getattr(exc, "code", None) or CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, "validation_error", _validation_message(exc))

    app.add_exception_handler(core.IngestryError, on_core)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
