"""Run a writing request under an Idempotency-Key (see services.idempotency)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ingestry.domain.errors import IngestryError
from ingestry.entrypoints.api.errors import ApiError, core_error_response
from ingestry.services.idempotency import IdempotencyService

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[JSONResponse]]

#: The IETF draft (httpapi-idempotency-key-header) asks for 400 on a malformed key.
MAX_KEY_CHARS = 255


def _idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description=f"1 to {MAX_KEY_CHARS} characters; a retry with the same key and "
            "request gets the first response",
        ),
    ] = None,
) -> str | None:
    if key is not None and not 1 <= len(key) <= MAX_KEY_CHARS:
        raise ApiError(
            400,
            f"Idempotency-Key must be 1 to {MAX_KEY_CHARS} characters, not {len(key)}",
            code="invalid_idempotency_key",
        )
    return key


#: The validated `Idempotency-Key` header of a writing request (None when absent).
IdempotencyKeyHeader = Annotated[str | None, Depends(_idempotency_key)]


async def idempotent(
    service: IdempotencyService, owner: str, key: str | None, request: bytes, work: Work
) -> Response:
    """`work` runs at most once per (owner, key, request); its response (success or a
    client error) is stored and replayed; a server-side failure frees the key."""
    if key is None:
        return await _guarded(work)
    replay = await run_in_threadpool(service.start, owner, key, request)
    if replay is not None:
        return Response(
            replay.body,
            status_code=replay.status_code,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    lease = asyncio.create_task(_renew(service, owner, key))
    try:
        response = await _guarded(work)
    except BaseException:
        await run_in_threadpool(service.abandon, owner, key)
        raise
    finally:
        lease.cancel()
    if response.status_code >= 500:
        await run_in_threadpool(service.abandon, owner, key)
    else:
        await run_in_threadpool(
            service.finish, owner, key, response.status_code, bytes(response.body)
        )
    return response


async def _renew(service: IdempotencyService, owner: str, key: str) -> None:
    """Renew the claim while the request runs (a crash stops this: the lease lapses)."""
    while True:
        await asyncio.sleep(service.renew_every)
        try:
            await run_in_threadpool(service.renew, owner, key)
        except Exception:  # the database is busy or away: the next beat tries again
            log.warning("could not renew the Idempotency-Key claim", exc_info=True)


async def _guarded(work: Work) -> JSONResponse:
    try:
        return await work()
    except IngestryError as exc:
        return core_error_response(exc)
