"""Who is calling and what they may touch: API keys, per-source scopes, rate limits.

Scopes and existence: a key is granted sources; it sees those sources and the records
they produced. A record srn names its convention, so a request for a convention none
of the key's sources feeds is refused (403) before anything is looked up; within a
permitted convention, a record another source produced is reported exactly like a
missing one (404, same body), so a caller never learns whether it exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from ingestry.config import Settings
from ingestry.domain.errors import NotPermittedError, RecordNotFoundError
from ingestry.domain.jobs import ApiKey
from ingestry.domain.records import Record, convention_of
from ingestry.domain.sources import DataSource
from ingestry.entrypoints.api.errors import ApiError
from ingestry.entrypoints.api.state import StateDep

API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="A key from `ingestry keys create` (or `Authorization: Bearer <key>`).",
)


@dataclass(frozen=True)
class Caller:
    key: ApiKey
    settings: Settings

    @property
    def owner(self) -> str:
        """Who owns jobs and idempotency keys this caller creates."""
        return self.key.prefix

    @property
    def job_owner_filter(self) -> str | None:
        return None if self.key.admin else self.key.prefix

    def source(self, name: str) -> DataSource:
        """The source if granted; an ungranted name is 403 whether or not it exists."""
        if not self.key.may_use_source(name):
            raise NotPermittedError(f"this API key may not use source '{name}'")
        return self.settings.source(name)

    def sources(self) -> list[DataSource]:
        return [s for s in self.settings.sources.values() if self.key.may_use_source(s.name)]

    def data_sources_of(self, convention: str) -> set[str] | None:
        """The sources whose records of `convention` this caller sees (None: all)."""
        if self.key.admin:
            return None
        granted = {s.name for s in self.sources() if s.convention == convention}
        if not granted:
            raise NotPermittedError(f"this API key may not read convention '{convention}'")
        return granted

    def check_srn(self, srn: str) -> set[str] | None:
        try:
            convention = convention_of(srn)
        except ValueError:
            raise RecordNotFoundError(f"no record {srn}") from None
        return self.data_sources_of(convention)

    def check_record(self, record: Record, allowed: set[str] | None) -> Record:
        if allowed is not None and record.data_source not in allowed:
            raise RecordNotFoundError(f"no record {record.srn}")
        return record

    def may_export_convention(self, convention: str) -> None:
        if self.key.admin:
            return
        feeding = {s.name for s in self.settings.sources.values() if s.convention == convention}
        if not feeding or not feeding <= set(self.key.sources):
            raise NotPermittedError(
                f"exporting convention '{convention}' needs every source feeding it"
            )


def _token(request: Request, header: str | None) -> str | None:
    if header:
        return header
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def current_caller(
    request: Request,
    header: Annotated[str | None, Security(API_KEY_HEADER)],
    state: StateDep,
) -> Caller:
    """Async so a cached key and the in-process limiter cost no thread hop; database
    and Redis calls go to the thread pool."""
    token = _token(request, header)
    if token is None:
        raise ApiError(401, "an API key is required (X-API-Key header)", headers=_challenge())
    key = state.keys.cached(token)
    if key is None:
        key = await run_in_threadpool(state.keys.authenticate, token)
    if key is None:
        raise ApiError(401, "invalid or revoked API key", headers=_challenge())
    request.scope.setdefault("state", {})["api_key"] = key.prefix
    if state.limiter.in_process:
        wait = state.limiter.acquire(key.prefix)
    else:
        wait = await run_in_threadpool(state.limiter.acquire, key.prefix)
    if wait > 0:
        raise ApiError(
            429,
            f"rate limit of {state.settings.api.rate_limit:g} requests/s for this key exceeded",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return Caller(key, state.settings)


def admin_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if not caller.key.admin:
        raise NotPermittedError("this endpoint needs an admin API key")
    return caller


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'ApiKey header="X-API-Key"'}


CallerDep = Annotated[Caller, Depends(current_caller)]
AdminDep = Annotated[Caller, Depends(admin_caller)]
