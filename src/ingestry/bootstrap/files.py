"""The store's file I/O: inputs, the config file, the data root, inboxes, exports."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ingestry.config import parse_settings
from ingestry.domain.errors import ConfigError

if TYPE_CHECKING:
    from ingestry.config import Settings
    from ingestry.services.export_run import ExportFiles
    from ingestry.services.inputs import Input, ReadOptions


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


def export_files() -> ExportFiles:
    """Where exports write: files that appear whole or not at all (JSONL, CSV, a raw
    bundle's files) and Parquet through pyarrow (the `parquet` extra, imported when
    the first Parquet file is opened)."""
    from ingestry.adapters.export import atomic_file
    from ingestry.adapters.parquet import parquet_file
    from ingestry.services.export_run import ExportFiles

    return ExportFiles(lambda directory, name: atomic_file(directory / name), parquet_file)
