"""The database side: storage, its write mode, write lanes, worker processes, the control plane."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ingestry.adapters.backends import backend_for, supported_urls
from ingestry.domain.errors import ConfigError, install_hint
from ingestry.services.writemode import WriteMode

if TYPE_CHECKING:
    from ingestry.adapters.backends import Backend, BackendAdapter
    from ingestry.config import Settings
    from ingestry.services.control import ControlPorts
    from ingestry.services.importer import BlockMap
    from ingestry.services.ports import CronTimes, Storage
    from ingestry.services.ports.harvest import HttpFetcher
    from ingestry.services.preparation import MapFn


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


#: Inputs smaller than this prepare inline: forking workers costs more than it saves.
PARALLEL_MIN_BYTES = 8 << 20


def parallel_min_bytes(env: Mapping[str, str] | None = None) -> int:
    """INGESTRY_PARALLEL_MIN_BYTES: from how many input bytes an ingest forks its
    preparation workers (8 MiB; the reliability suite lowers it to kill small ingests
    while they fork)."""
    return _whole_number(env, "INGESTRY_PARALLEL_MIN_BYTES", PARALLEL_MIN_BYTES, least=0)


def build_parallel(
    env: Mapping[str, str] | None = None, database_url: str | None = None
) -> MapFn | None:
    """Worker processes for batch preparation: INGESTRY_WORKERS (0 = inline), else one
    per core beside an embedded database, one per spare core beside a server (at most
    2, `default_workers`); inline where processes cannot be forked."""
    from ingestry.adapters.backends import backend_for
    from ingestry.adapters.parallel import ProcessMap, default_workers, fork_available

    backend = backend_for(database_url) if database_url else None
    server = backend is None or backend.file_prefix is None
    workers = _whole_number(env, "INGESTRY_WORKERS", default_workers(server=server), least=0)
    if workers <= 0 or not fork_available():
        return None
    return ProcessMap(workers)


def yielding(parallel: MapFn | None) -> MapFn | None:
    """`parallel` with its workers at a lower priority than the caller: an HTTP pull's,
    whose writer is the critical path (`ProcessMap.yielding`)."""
    from ingestry.adapters.parallel import ProcessMap

    return parallel.yielding() if isinstance(parallel, ProcessMap) else parallel


def build_block_map(env: Mapping[str, str] | None = None) -> BlockMap | None:
    """Worker processes for an import's blocks of lines (`ProcessMap.ordered`):
    INGESTRY_WORKERS, else one per core (at most 2: parsing, not writing, is an
    import's heavier half); None: parse inline."""
    from ingestry.adapters.parallel import ProcessMap, default_parse_workers, fork_available

    workers = _whole_number(env, "INGESTRY_WORKERS", default_parse_workers(), least=0)
    if workers <= 0 or not fork_available():
        return None
    return ProcessMap(workers).ordered


def lease_owner_settings(settings: Settings, worker: str) -> Settings:
    """Settings whose data sessions name job worker `worker` (PostgreSQL's
    `application_name`), so a worker taking over its expired lease can end them
    (`adapters.sql.jobs`); other backends are returned unchanged."""
    if database_backend(settings).name != "postgres":
        return settings
    from ingestry.adapters.sql.jobs import lease_session_name

    parts = urlsplit(settings.database_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = [(k, v) for k, v in query if k != "application_name"]
    query.append(("application_name", lease_session_name(worker)))
    url = urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))
    return dataclasses.replace(settings, database_url=url)


def build_control(settings: Settings) -> ControlPorts:
    """Jobs, API keys and idempotency keys on the configured database (pooled)."""
    from ingestry.adapters.sql.browse import SqlBrowse
    from ingestry.adapters.sql.control import ControlDatabase
    from ingestry.adapters.sql.harvest import SqlHarvestLedger
    from ingestry.adapters.sql.jobs import SqlJobQueue
    from ingestry.adapters.sql.keys import SqlApiKeys, SqlIdempotency
    from ingestry.adapters.sql.runlocks import SqlRunLocks
    from ingestry.services.control import ControlPorts

    url = settings.database_url
    db = ControlDatabase(load_backend(settings, database_backend(settings)).control_engine(url))
    return ControlPorts(
        jobs=SqlJobQueue(db),
        keys=SqlApiKeys(db),
        idempotency=SqlIdempotency(db),
        ping=db.ping,
        quarantine_open=db.quarantine_open,
        close=db.close,
        harvest=SqlHarvestLedger(db),
        run_locks=SqlRunLocks(db),
        browse=SqlBrowse(db),
    )


def build_fetcher(concurrency: int) -> HttpFetcher:
    """The HTTP client of one harvest run (httpx, the `harvest` extra)."""
    from ingestry.adapters.http import HttpxFetcher

    return HttpxFetcher(max_connections=max(2, concurrency + 1))


def build_cron() -> CronTimes:
    """Cron fire times (croniter, the `harvest` extra)."""
    from ingestry.adapters.cron import CroniterTimes

    return CroniterTimes()
