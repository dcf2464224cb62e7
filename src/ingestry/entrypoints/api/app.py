"""The FastAPI app: `create_app(settings)`; routes are thin calls into Store/services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from ingestry.bootstrap import build_rate_limiter, database_backend
from ingestry.config import Settings
from ingestry.entrypoints.api import errors
from ingestry.entrypoints.api.metrics import new_metrics
from ingestry.entrypoints.api.middleware import BodyLimit, RequestContext
from ingestry.entrypoints.api.pool import DEFAULT_SIZE, StorePool
from ingestry.entrypoints.api.routes import (
    erasures,
    federation,
    holds,
    jobs,
    ops,
    pages,
    payloads,
    query,
    records,
    runs,
    sources,
)
from ingestry.entrypoints.api.state import ApiState
from ingestry.entrypoints.api.writer import GroupWriter
from ingestry.entrypoints.logs import stamp_context
from ingestry.services.keys import CachedAuthenticator
from ingestry.services.ports.cache import CacheStats

API_VERSION = "1"


def _counts(stats: CacheStats) -> tuple[str, int, int, int]:
    return stats.kind, stats.hits, stats.misses, stats.invalidations


def create_app(settings: Settings, *, pool_size: int = DEFAULT_SIZE) -> FastAPI:
    """An app over the store `settings` describe; the database is opened (and an empty
    one migrated) when the app starts, and closed when it stops."""
    stamp_context()
    metrics = new_metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await run_in_threadpool(StorePool, settings, pool_size)
        primary = pool.primary
        cache = primary.record_cache  # one per process, shared by the pool's stores
        if cache is not None:
            metrics.cache_stats = lambda: _counts(cache.stats())
        writers = 1 if database_backend(settings).single_writer else pool_size
        app.state.ingestry = ApiState(
            settings=settings,
            pool=pool,
            keys=CachedAuthenticator(primary.api_keys(), settings.api.auth_cache_seconds),
            jobs=primary.jobs(),
            idempotency=primary.idempotency(),
            limiter=build_rate_limiter(settings),
            metrics=metrics,
            writer=GroupWriter(settings, writers),
        )
        try:
            yield
        finally:
            await run_in_threadpool(app.state.ingestry.writer.close)
            await run_in_threadpool(pool.close)

    docs = settings.env != "production"
    app = FastAPI(
        title="ingestry",
        version=API_VERSION,
        summary="Take data in from many sources; keep it safe, typed and traceable.",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    errors.install(app)
    routers = (
        payloads, records, runs, jobs, sources, pages, ops, federation, erasures, holds, query
    )  # fmt: skip
    for router in (module.router for module in routers):
        app.include_router(router)
    if settings.api.ui:
        from ingestry.entrypoints.api import ui

        ui.install(app)
    errors.document_problems(app)
    # added last = outermost: the request id exists before the body limit answers
    app.add_middleware(BodyLimit, limit=settings.api.max_body_bytes)
    app.add_middleware(RequestContext, metrics=metrics)
    return app
