"""The composition root: the one place that picks concrete adapters from settings.

Cut by what it builds: `storage.py` (the database, write mode, lanes, worker processes,
the control plane), `extractors.py`, `events.py` (hooks, work dirs, fan-out, the
dispatcher), `inference.py` (`sources infer`), `redis.py` (the URL schemes, clients,
rate limiter, streams), `files.py` (the store's file I/O) and `analytics.py` (the query
engine, the import readers). Everything is re-exported here: `from ingestry.bootstrap
import X` is how the store, the API app and the worker get what they need.
"""

from __future__ import annotations

from ingestry.bootstrap.analytics import (
    build_copy_store as build_copy_store,
)
from ingestry.bootstrap.analytics import (
    build_sql_engine as build_sql_engine,
)
from ingestry.bootstrap.analytics import (
    export_lines as export_lines,
)
from ingestry.bootstrap.analytics import (
    export_nodes as export_nodes,
)
from ingestry.bootstrap.analytics import (
    import_path as import_path,
)
from ingestry.bootstrap.analytics import (
    open_raw_bundle as open_raw_bundle,
)
from ingestry.bootstrap.analytics import (
    raw_bundle_headers as raw_bundle_headers,
)
from ingestry.bootstrap.backups import (
    backup_file as backup_file,
)
from ingestry.bootstrap.backups import (
    backup_files as backup_files,
)
from ingestry.bootstrap.backups import (
    build_backup_service as build_backup_service,
)
from ingestry.bootstrap.cache import (
    build_record_cache as build_record_cache,
)
from ingestry.bootstrap.events import (
    build_dispatcher as build_dispatcher,
)
from ingestry.bootstrap.events import (
    build_fanout as build_fanout,
)
from ingestry.bootstrap.events import (
    build_hook_rerun as build_hook_rerun,
)
from ingestry.bootstrap.events import (
    build_hook_runner as build_hook_runner,
)
from ingestry.bootstrap.events import (
    build_workspace as build_workspace,
)
from ingestry.bootstrap.events import (
    event_settings as event_settings,
)
from ingestry.bootstrap.events import (
    hook_runners as hook_runners,
)
from ingestry.bootstrap.events import (
    work_root as work_root,
)
from ingestry.bootstrap.extractors import (
    EXTRACTOR_ENTRY_POINTS as EXTRACTOR_ENTRY_POINTS,
)
from ingestry.bootstrap.extractors import (
    build_extractor_registry as build_extractor_registry,
)
from ingestry.bootstrap.extractors import (
    compile_extractor as compile_extractor,
)
from ingestry.bootstrap.federation import (
    build_remote_node as build_remote_node,
)
from ingestry.bootstrap.files import (
    STORE_FILE_SUFFIXES as STORE_FILE_SUFFIXES,
)
from ingestry.bootstrap.files import (
    data_file as data_file,
)
from ingestry.bootstrap.files import (
    export_files as export_files,
)
from ingestry.bootstrap.files import (
    inbox_file as inbox_file,
)
from ingestry.bootstrap.files import (
    open_file_inputs as open_file_inputs,
)
from ingestry.bootstrap.files import (
    write_source_key as write_source_key,
)
from ingestry.bootstrap.inference import (
    infer_file as infer_file,
)
from ingestry.bootstrap.inference import (
    write_proposal as write_proposal,
)
from ingestry.bootstrap.redis import (
    DEFAULT_STREAM_URL as DEFAULT_STREAM_URL,
)
from ingestry.bootstrap.redis import (
    REDIS_SCHEMES as REDIS_SCHEMES,
)
from ingestry.bootstrap.redis import (
    build_rate_limiter as build_rate_limiter,
)
from ingestry.bootstrap.redis import (
    build_stream as build_stream,
)
from ingestry.bootstrap.redis import (
    is_redis as is_redis,
)
from ingestry.bootstrap.redis import (
    redis_client as redis_client,
)
from ingestry.bootstrap.redis import (
    stream_url as stream_url,
)
from ingestry.bootstrap.storage import (
    build_control as build_control,
)
from ingestry.bootstrap.storage import (
    build_cron as build_cron,
)
from ingestry.bootstrap.storage import (
    build_fetcher as build_fetcher,
)
from ingestry.bootstrap.storage import (
    build_parallel as build_parallel,
)
from ingestry.bootstrap.storage import (
    build_storage as build_storage,
)
from ingestry.bootstrap.storage import (
    build_write_mode as build_write_mode,
)
from ingestry.bootstrap.storage import (
    database_backend as database_backend,
)
from ingestry.bootstrap.storage import (
    lease_owner_settings as lease_owner_settings,
)
from ingestry.bootstrap.storage import (
    load_backend as load_backend,
)
from ingestry.bootstrap.storage import (
    parallel_min_bytes as parallel_min_bytes,
)
from ingestry.bootstrap.storage import (
    write_lanes as write_lanes,
)
