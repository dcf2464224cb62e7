"""The composition root: the one place that picks concrete adapters from settings.

Cut by what it builds: `storage.py` (the database, write mode, lanes, worker processes,
the control plane), `extractors.py`, `events.py` (hooks, work dirs, fan-out, the
dispatcher), `inference.py` (`sources infer`), `redis.py` (the URL schemes, clients,
rate limiter, streams), `files.py` (the store's file I/O) and `analytics.py` (the query
engine, the import readers). Everything is re-exported here: `from ingestry.bootstrap
import X` is how the store, the API app and the worker get what they need. The names
are imported on first use (PEP 562; mypy sees the real imports), so a command loads
only the modules of what it builds: a small ingest does not pay for backups, the query
engine or Redis (docs/architecture.md, start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

#: Submodule -> the names it defines that are re-exported here (imported on first use).
_MODULES: dict[str, tuple[str, ...]] = {
    "analytics": (
        "build_copy_store",
        "build_sql_engine",
        "export_blocks",
        "export_lines",
        "export_nodes",
        "import_path",
        "open_raw_bundle",
        "raw_bundle_headers",
    ),
    "backups": ("backup_file", "backup_files", "build_backup_service"),
    "cache": ("build_record_cache",),
    "events": (
        "build_dispatcher",
        "build_fanout",
        "build_hook_rerun",
        "build_hook_runner",
        "build_workspace",
        "event_settings",
        "hook_runners",
        "work_root",
    ),
    "extractors": ("EXTRACTOR_ENTRY_POINTS", "build_extractor_registry", "compile_extractor"),
    "federation": ("build_remote_node",),
    "files": (
        "STORE_FILE_SUFFIXES",
        "data_file",
        "export_files",
        "inbox_file",
        "open_file_inputs",
        "write_source_key",
    ),
    "inference": ("infer_file", "infer_pull", "write_proposal"),
    "redis": (
        "DEFAULT_STREAM_URL",
        "REDIS_SCHEMES",
        "build_rate_limiter",
        "build_stream",
        "is_redis",
        "redis_client",
        "stream_url",
    ),
    "storage": (
        "build_block_map",
        "build_control",
        "build_cron",
        "build_fetcher",
        "build_parallel",
        "build_storage",
        "build_write_mode",
        "database_backend",
        "lease_owner_settings",
        "load_backend",
        "parallel_min_bytes",
        "write_lanes",
        "yielding",
    ),
}
_EXPORTS = {name: f"{__name__}.{module}" for module, names in _MODULES.items() for name in names}

if TYPE_CHECKING:
    # one statement per module; `X as X` marks a re-export for mypy
    # isort: off
    from ingestry.bootstrap.analytics import (
        build_copy_store as build_copy_store,
        build_sql_engine as build_sql_engine,
        export_blocks as export_blocks,
        export_lines as export_lines,
        export_nodes as export_nodes,
        import_path as import_path,
        open_raw_bundle as open_raw_bundle,
        raw_bundle_headers as raw_bundle_headers,
    )
    from ingestry.bootstrap.backups import (
        backup_file as backup_file,
        backup_files as backup_files,
        build_backup_service as build_backup_service,
    )
    from ingestry.bootstrap.cache import (
        build_record_cache as build_record_cache,
    )
    from ingestry.bootstrap.events import (
        build_dispatcher as build_dispatcher,
        build_fanout as build_fanout,
        build_hook_rerun as build_hook_rerun,
        build_hook_runner as build_hook_runner,
        build_workspace as build_workspace,
        event_settings as event_settings,
        hook_runners as hook_runners,
        work_root as work_root,
    )
    from ingestry.bootstrap.extractors import (
        EXTRACTOR_ENTRY_POINTS as EXTRACTOR_ENTRY_POINTS,
        build_extractor_registry as build_extractor_registry,
        compile_extractor as compile_extractor,
    )
    from ingestry.bootstrap.federation import (
        build_remote_node as build_remote_node,
    )
    from ingestry.bootstrap.files import (
        STORE_FILE_SUFFIXES as STORE_FILE_SUFFIXES,
        data_file as data_file,
        export_files as export_files,
        inbox_file as inbox_file,
        open_file_inputs as open_file_inputs,
        write_source_key as write_source_key,
    )
    from ingestry.bootstrap.inference import (
        infer_file as infer_file,
        infer_pull as infer_pull,
        write_proposal as write_proposal,
    )
    from ingestry.bootstrap.redis import (
        DEFAULT_STREAM_URL as DEFAULT_STREAM_URL,
        REDIS_SCHEMES as REDIS_SCHEMES,
        build_rate_limiter as build_rate_limiter,
        build_stream as build_stream,
        is_redis as is_redis,
        redis_client as redis_client,
        stream_url as stream_url,
    )
    from ingestry.bootstrap.storage import (
        build_block_map as build_block_map,
        build_control as build_control,
        build_cron as build_cron,
        build_fetcher as build_fetcher,
        build_parallel as build_parallel,
        build_storage as build_storage,
        build_write_mode as build_write_mode,
        database_backend as database_backend,
        lease_owner_settings as lease_owner_settings,
        load_backend as load_backend,
        parallel_min_bytes as parallel_min_bytes,
        write_lanes as write_lanes,
        yielding as yielding,
    )
    # isort: on
else:
    from ingestry.services.lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
