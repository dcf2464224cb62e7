"""The record lifecycle: hooks, work dirs, fan-out, event settings, the dispatcher."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ingestry.bootstrap.cache import build_record_cache
from ingestry.bootstrap.redis import is_redis
from ingestry.config import Settings
from ingestry.domain.events import DEFAULT_LEASE_SECONDS, EventSettings
from ingestry.services.ports import HookRunner, Storage, WorkSpace

if TYPE_CHECKING:
    from ingestry.adapters.events.redis import RedisPublisher
    from ingestry.services.dispatch import EventDispatcher, EventHandler
    from ingestry.services.hook_rerun import HookRerunService


def work_root(settings: Settings) -> Path:
    """Where hooks' work_dirs live (`features_dir` of every event is under it)."""
    return settings.data_dir / "work"


def build_hook_runner(settings: Settings) -> HookRunner:
    """The runner `hooks.runner` names (default: local subprocesses in the config's
    directory; others from the `ingestry.hook_runners` entry points)."""
    from ingestry.adapters.hooks.registry import build_runner
    from ingestry.services.ports import RunnerContext

    return build_runner(settings.hooks.runner, RunnerContext(settings.root, settings.hooks.options))


def hook_runners() -> dict[str, str]:
    """Every hook runner this install can use: name → `built-in` or its entry point."""
    from ingestry.adapters.hooks.registry import available

    return available()


def build_hook_rerun(settings: Settings, storage: Storage) -> HookRerunService:
    """`hooks rerun`: the configured runner and work space, on `storage`."""
    from ingestry.services.features import FeatureService
    from ingestry.services.hook_rerun import HookRerunService

    features = FeatureService(storage.lifecycle(), build_workspace(settings))
    return HookRerunService(
        storage, settings.convention, build_hook_runner(settings), features, work_root(settings)
    )


def build_workspace(settings: Settings) -> WorkSpace:
    from ingestry.adapters.hooks.workspace import LocalWorkSpace

    return LocalWorkSpace(work_root(settings))


def build_fanout(settings: Settings) -> RedisPublisher | None:
    """Delivered events go to Redis pub/sub when the cache is Redis (`cache:` or
    INGESTRY_CACHE_URL)."""
    if not is_redis(settings.cache_url):
        return None
    from ingestry.adapters.events.redis import RedisPublisher

    return RedisPublisher(settings.cache_url)


def event_settings(
    settings: Settings,
    *,
    max_attempts: int | None = None,
    backoff_seconds: float | None = None,
    lease_seconds: float | None = None,
    batch_size: int | None = None,
) -> EventSettings:
    """The config's `events:` with a dispatcher's overrides. Unless set, the lease
    covers the slowest convention's hooks plus a minute (an event must be delivered
    within its lease, or another dispatcher may claim it meanwhile)."""
    base = settings.events
    chosen = replace(
        base,
        max_attempts=base.max_attempts if max_attempts is None else max_attempts,
        backoff_seconds=base.backoff_seconds if backoff_seconds is None else backoff_seconds,
        lease_seconds=base.lease_seconds if lease_seconds is None else lease_seconds,
        batch_size=base.batch_size if batch_size is None else batch_size,
    )
    slowest = max(
        (sum(h.timeout_seconds for h in c.hooks) for c in settings.conventions.values()),
        default=0.0,
    )
    if chosen.lease_seconds is None:
        chosen = replace(chosen, lease_seconds=max(DEFAULT_LEASE_SECONDS, slowest + 60))
    return chosen


def build_dispatcher(
    settings: Settings,
    storage: Storage,
    handlers: Sequence[EventHandler] = (),
    *,
    defaults: bool = True,
    max_attempts: int | None = None,
    backoff_seconds: float | None = None,
    lease_seconds: float | None = None,
    batch_size: int | None = None,
    owner: str | None = None,
) -> EventDispatcher:
    """An event dispatcher on `storage` (its own connection, closed with it): the
    built-in handlers (cache invalidation, hooks -> features, then Redis fan-out when
    `cache` is Redis)
    unless `defaults=False`, and `handlers` after the hooks, before the fan-out."""
    from ingestry.services.cache import invalidate_on_delivery
    from ingestry.services.dispatch import EventDispatcher
    from ingestry.services.features import FeatureService, InsertRecordFeatures

    lifecycle = storage.lifecycle()
    chain: list[EventHandler] = []
    closers: list[Callable[[], None]] = []
    fanout = build_fanout(settings) if defaults else None
    if defaults:
        features = FeatureService(lifecycle, build_workspace(settings))
        runner = build_hook_runner(settings)
        chain.append(InsertRecordFeatures(storage, settings.convention, runner, features))
        cache = build_record_cache(settings)
        if cache is not None:  # before the hooks' handlers: nothing may delay it
            chain.insert(0, invalidate_on_delivery(cache))
    chain.extend(handlers)
    if fanout is not None:
        chain.append(fanout)
        closers.append(fanout.close)
    closers.append(storage.close)
    overrides = event_settings(
        settings, max_attempts=max_attempts, backoff_seconds=backoff_seconds,
        lease_seconds=lease_seconds, batch_size=batch_size,
    )  # fmt: skip
    return EventDispatcher(
        lifecycle, chain, convention=settings.convention, work_root=work_root(settings),
        settings=overrides, owner=owner, on_close=closers, deletion=storage.deletion(),
    )  # fmt: skip
