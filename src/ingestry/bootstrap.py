"""The composition root: the one place that picks concrete adapters from settings."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestry.adapters.backends import Backend, BackendAdapter, backend_for, supported_urls
from ingestry.config import Settings, parse_settings
from ingestry.domain.errors import ConfigError, install_hint
from ingestry.domain.events import DEFAULT_LEASE_SECONDS, EventSettings
from ingestry.domain.sources import DataSource
from ingestry.extract.compiler import Extractor
from ingestry.extract.registry import DEFAULT_REGISTRY, ExtractorRegistry, PythonExtractor
from ingestry.services.control import ControlPorts
from ingestry.services.export import LineSink
from ingestry.services.inputs import Input, ReadOptions
from ingestry.services.ports import HookRunner, SqlEngine, Storage, WorkSpace
from ingestry.services.preparation import MapFn
from ingestry.services.ratelimit import RateLimiter
from ingestry.services.streams import MessageStream
from ingestry.services.writemode import WriteMode

if TYPE_CHECKING:
    from ingestry.adapters.events.redis import RedisPublisher
    from ingestry.services.dispatch import EventDispatcher, EventHandler

EXTRACTOR_ENTRY_POINTS = "ingestry.extractors"


def build_storage(
    settings: Settings, *, auto_upgrade: bool = True, prepare: bool = True
) -> Storage:
    """Open the configured database; an empty one is migrated when `auto_upgrade`."""
    backend = database_backend(settings)
    adapter = load_backend(settings, backend)
    lanes = 1 if backend.single_writer else write_lanes(default=adapter.default_lanes)
    storage = adapter.open_storage(settings.database_url, lanes=lanes)
    if prepare:
        try:
            storage.prepare(list(settings.conventions.values()), auto_upgrade=auto_upgrade)
        except BaseException:
            storage.close()
            raise
    return storage


def build_write_mode(storage: Storage) -> WriteMode:
    """How ingests write to `storage` (wire encoding, lanes, rescans), asked once."""
    return WriteMode.of(storage)


def database_backend(settings: Settings) -> Backend:
    """The registry entry serving the configured database (see `adapters.backends`)."""
    backend = backend_for(settings.database_url)
    if backend is None:  # config validation refuses such a URL; kept for hand-made Settings
        raise ConfigError(
            f"{settings.path}: database: no backend serves '{settings.database_url}' "
            f"(use {supported_urls()})"
        )
    return backend


def load_backend(settings: Settings, backend: Backend) -> BackendAdapter:
    """The backend's implementation; a missing optional driver is a ConfigError that
    names the extra to install."""
    try:
        return backend.load()
    except ImportError as exc:
        scheme = settings.database_url.partition("://")[0]
        extra = backend.extra or backend.name
        raise ConfigError(
            f"{settings.path}: database: '{scheme}://' needs the {backend.name} driver "
            f"{backend.driver or backend.package} ({exc}): {install_hint(extra)}"
        ) from None


def write_lanes(env: Mapping[str, str] | None = None, *, default: int) -> int:
    """Connections an ingest writes its batches on: INGESTRY_WRITE_LANES, else the
    backend's default (see `services.lanes`); 1 writes batch after batch on one
    connection."""
    return _whole_number(env, "INGESTRY_WRITE_LANES", default, least=1)


def _whole_number(env: Mapping[str, str] | None, name: str, default: int, least: int) -> int:
    """A count from the environment (`default` when unset), or a ConfigError naming it."""
    raw = (os.environ if env is None else env).get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = least - 1
    if value < least:
        raise ConfigError(f"{name} must be a whole number from {least}, not '{raw}'")
    return value


def build_parallel(env: Mapping[str, str] | None = None) -> MapFn | None:
    """Worker processes for batch preparation: INGESTRY_WORKERS (0 = inline), else one
    per spare core (at most 2); inline where processes cannot be forked."""
    from ingestry.adapters.parallel import ProcessMap, default_workers, fork_available

    workers = _whole_number(env, "INGESTRY_WORKERS", default_workers(), least=0)
    if workers <= 0 or not fork_available():
        return None
    return ProcessMap(workers)


def build_extractor_registry(settings: Settings) -> ExtractorRegistry:
    """The Python extractors sources name, filled in as each source first needs its own
    (`compile_extractor`): a module that cannot be imported fails only the commands of
    the sources that name it."""
    return ExtractorRegistry()


def _as_extractor(name: str, obj: object) -> PythonExtractor:
    if isinstance(obj, PythonExtractor):
        return obj
    registered = getattr(obj, "__ingestry_extractor__", None)
    if isinstance(registered, PythonExtractor):
        return PythonExtractor(name, registered.version, registered.transform)
    if callable(obj):
        return PythonExtractor(name, str(getattr(obj, "__version__", "1")), obj)
    raise ConfigError(f"extractor '{name}' is not callable")


def _python_extractor(
    settings: Settings, registry: ExtractorRegistry, source: DataSource, ref: str
) -> PythonExtractor:
    """The extractor `ref`: registered already (`@extractor`), an entry point in
    EXTRACTOR_ENTRY_POINTS, or `module:function`; a ConfigError names the source, the
    extractor and where it was looked for."""
    where = f"{settings.path}: sources.{source.name}.extractor: '{ref}'"
    found = registry.get(ref) or DEFAULT_REGISTRY.get(ref)
    if found is not None:
        return found
    from importlib.metadata import entry_points  # scans every installed package: ~15 ms

    for ep in entry_points(group=EXTRACTOR_ENTRY_POINTS, name=ref):
        try:
            return _as_extractor(ref, ep.load())
        except Exception as exc:  # a plugin's import can fail any way
            raise ConfigError(
                f"{where} cannot be loaded from entry point '{ep.value}' (group "
                f"'{EXTRACTOR_ENTRY_POINTS}'): {type(exc).__name__}: {exc}"
            ) from None
    if ":" not in ref:
        known = ", ".join(sorted({*registry.names(), *DEFAULT_REGISTRY.names()})) or "none"
        raise ConfigError(
            f"{where} is not registered (registered: {known}; looked in the entry point "
            f"group '{EXTRACTOR_ENTRY_POINTS}'; or name it as 'module:function')"
        )
    module, _, attr = ref.partition(":")
    folder = settings.root.resolve()
    try:
        local = _beside_config(folder, module)
        return _as_extractor(ref, getattr(importlib.import_module(module), attr))
    except Exception as exc:  # ImportError, AttributeError, or the module's own error
        top = module.split(".")[0]
        places = f"{folder / (top + '.py')} or {folder / top / '__init__.py'}"
        raise ConfigError(
            f"{where} cannot be imported: {type(exc).__name__}: {exc} (looked for "
            f"'{attr}' in module '{module}' "
            + (
                f"at {local}, beside the config)"
                if local
                else f"on the Python path, sys.path, after the config's folder ({places}: "
                "not there); put the module beside the config or install its package)"
            )
        ) from None


def _beside_config(folder: Path, module: str) -> Path | None:
    """Put the config's folder first on sys.path when it holds `module`'s top package
    (`module.py` or `module/__init__.py`), so `extractor: mymod:fn` works from any
    working directory without PYTHONPATH; returns the file found, if any. A module of
    that name imported from elsewhere already is an ImportError naming both."""
    top = module.split(".")[0]
    for candidate in (folder / f"{top}.py", folder / top / "__init__.py"):
        if candidate.is_file():
            loaded = sys.modules.get(top)
            where = getattr(loaded, "__file__", None)
            if loaded is not None and where and Path(where).resolve() != candidate:
                raise ImportError(
                    f"a module '{top}' from {where} is imported already; rename {candidate}"
                )
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            return candidate
    return None


def compile_extractor(
    settings: Settings, registry: ExtractorRegistry, source: DataSource
) -> Extractor:
    python = None
    if source.extractor:
        python = _python_extractor(settings, registry, source, source.extractor)
        if registry.get(source.extractor) is None:
            registry.register(python)
    return Extractor(source, settings.convention(source.convention), python)


# --- record lifecycle: hooks, work dirs, fan-out ------------------------------------------

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def work_root(settings: Settings) -> Path:
    """Where hooks' work_dirs live (`features_dir` of every event is under it)."""
    return settings.data_dir / "work"


def build_hook_runner(settings: Settings) -> HookRunner:
    """Hooks run as local subprocesses in the config's directory."""
    from ingestry.adapters.hooks.local import LocalHookRunner

    return LocalHookRunner(settings.root)


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
    built-in handlers (hooks -> features, then Redis fan-out when `cache` is Redis)
    unless `defaults=False`, and `handlers` after the hooks, before the fan-out."""
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
        settings=overrides, owner=owner, on_close=closers,
    )  # fmt: skip


# --- control plane (jobs, API keys, idempotency), rate limits, Redis -------------------


def build_control(settings: Settings) -> ControlPorts:
    """Jobs, API keys and idempotency keys on the configured database (pooled)."""
    from ingestry.adapters.sql.control import ControlDatabase
    from ingestry.adapters.sql.jobs import SqlJobQueue
    from ingestry.adapters.sql.keys import SqlApiKeys, SqlIdempotency

    url = settings.database_url
    db = ControlDatabase(load_backend(settings, database_backend(settings)).control_engine(url))
    return ControlPorts(
        jobs=SqlJobQueue(db),
        keys=SqlApiKeys(db),
        idempotency=SqlIdempotency(db),
        ping=db.ping,
        quarantine_open=db.quarantine_open,
        close=db.close,
    )


def redis_client(url: str) -> Any:
    """A redis-py client (the `redis` extra), or a ConfigError naming the extra."""
    try:
        import redis
    except ImportError as exc:
        raise ConfigError(f"'{url}' needs redis-py ({exc}): {install_hint('redis')}") from None
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


def build_rate_limiter(settings: Settings) -> RateLimiter:
    """Shared through Redis when `cache:` is redis://, else in this process."""
    rate, burst = settings.api.rate_limit, float(settings.api.rate_burst)
    if is_redis(settings.cache_url):
        from ingestry.adapters.redis.ratelimit import RedisRateLimiter

        return RedisRateLimiter(redis_client(settings.cache_url), rate, burst)
    from ingestry.adapters.ratelimit import MemoryRateLimiter

    return MemoryRateLimiter(rate, burst)


def is_redis(url: str) -> bool:
    """Whether `url` names a Redis server (the one list of its URL schemes)."""
    return url.startswith(REDIS_SCHEMES)


def stream_url(settings: Settings, env: Mapping[str, str] | None = None) -> str:
    """The Redis a stream worker reads: the cache when it is Redis, else
    INGESTRY_STREAM_URL (default redis://127.0.0.1:6379/0)."""
    if is_redis(settings.cache_url):
        return settings.cache_url
    return (os.environ if env is None else env).get("INGESTRY_STREAM_URL", DEFAULT_STREAM_URL)


DEFAULT_STREAM_URL = "redis://127.0.0.1:6379/0"


def build_stream(settings: Settings, stream: str, group: str, consumer: str) -> MessageStream:
    """The Redis stream a worker consumes, as the MessageStream port."""
    from ingestry.adapters.redis.streams import RedisStream

    return RedisStream(redis_client(stream_url(settings)), stream, group, consumer)


# --- files, the config file, exports: the Store's I/O, named here ----------------------


def open_file_inputs(paths: Sequence[str], options: ReadOptions) -> list[Input]:
    """Files (or `-` for stdin) to ingest, every path checked before anything is read."""
    from ingestry.adapters.files import open_inputs

    return list(open_inputs(paths, options))


def write_source_key(settings: Settings, source: str, key: str, value: str) -> bool:
    """Set `sources.<source>.<key>` in the config file, keeping its comments and layout,
    only if the result is still a valid config; False when the file could not be
    changed safely (the caller reports the change to make by hand)."""
    from ingestry.adapters.config_file import ConfigEditError, set_source_key

    path = settings.path
    try:
        set_source_key(path, source, key, value, check=lambda text: parse_settings(text, path, {}))
    except (ConfigEditError, ConfigError, OSError):
        return False
    return True


def data_file(settings: Settings, relative: str) -> Path:
    """A file under the data root (no `..`, no symlink escape)."""
    from ingestry.adapters.paths import confine

    return confine(settings.data_dir, relative)


#: The SQLite store's own files, beside its database (never readable by an API job).
STORE_FILE_SUFFIXES = ("", "-wal", "-shm", "-journal", "-schema.lock")


def inbox_file(settings: Settings, source: str, relative: str) -> Path:
    """A file of `source`'s inbox, `data/inbox/{source}/` (where API jobs read), never
    one of the store's own files (a SQLite database and its companions)."""
    from ingestry.adapters.paths import confine

    database = settings.database_url
    own: list[Path] = []
    if database.startswith("sqlite:///"):
        db = Path(database.removeprefix("sqlite:///"))
        own = [db.with_name(db.name + suffix) for suffix in STORE_FILE_SUFFIXES]
    inbox = settings.data_dir / "inbox" / source
    return confine(inbox, relative, f"data/inbox/{source}/", own)


def export_file(path: Path) -> AbstractContextManager[LineSink]:
    """The file an export writes: it appears whole, or not at all."""
    from ingestry.adapters.export import atomic_file

    return atomic_file(path)


def build_sql_engine() -> SqlEngine:
    """The engine `ingestry query` runs on: DuckDB (the `analytics` extra)."""
    from ingestry.adapters.analytics import DuckDbEngine

    return DuckDbEngine()


def export_lines(path: str) -> Iterator[tuple[str, int, bytes]]:
    """The lines of a records export (a file, or the directory export wrote)."""
    from ingestry.adapters.importfile import export_files, export_lines

    export_files(Path(path))  # refuse a missing path or a raw bundle before any write
    return export_lines(Path(path))


def open_raw_bundle(path: str) -> tuple[str, Iterator[tuple[str, int, bytes]]] | None:
    """(source, payload lines) of a raw bundle directory, its files checked against
    the manifest first; None when `path` is not a raw bundle."""
    from ingestry.adapters.importfile import bundle_lines, raw_bundle

    manifest = raw_bundle(Path(path))
    if manifest is None:
        return None
    return str(manifest.get("source")), bundle_lines(Path(path), manifest)
