"""What the app holds for its lifetime (built in the lifespan, closed at shutdown)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ingestry.config import Settings
from ingestry.entrypoints.api.metrics import Metrics
from ingestry.entrypoints.api.pool import StorePool
from ingestry.services.idempotency import IdempotencyService
from ingestry.services.jobs import JobService
from ingestry.services.keys import KeyService
from ingestry.services.ratelimit import RateLimiter


@dataclass
class ApiState:
    settings: Settings
    pool: StorePool
    keys: KeyService
    jobs: JobService
    idempotency: IdempotencyService
    limiter: RateLimiter
    metrics: Metrics


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.ingestry
    return state


StateDep = Annotated[ApiState, Depends(api_state)]
