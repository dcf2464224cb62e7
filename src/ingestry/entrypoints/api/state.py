"""What the app holds for its lifetime (built in the lifespan, closed at shutdown)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ingestry.config import Settings
from ingestry.entrypoints.api.metrics import Metrics
from ingestry.entrypoints.api.pool import StorePool
from ingestry.entrypoints.api.writer import GroupWriter
from ingestry.services.idempotency import IdempotencyService
from ingestry.services.jobs import JobService
from ingestry.services.keys import CachedAuthenticator
from ingestry.services.ports import RateLimiter


@dataclass
class ApiState:
    settings: Settings
    pool: StorePool
    keys: CachedAuthenticator
    jobs: JobService
    idempotency: IdempotencyService
    limiter: RateLimiter
    metrics: Metrics
    writer: GroupWriter


async def api_state(request: Request) -> ApiState:
    """Async on purpose: a plain function dependency costs a thread-pool hop per request."""
    state: ApiState = request.app.state.ingestry
    return state


StateDep = Annotated[ApiState, Depends(api_state)]
