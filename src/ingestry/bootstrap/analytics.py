"""What data out and back in needs: the SQL engine of `ingestry query` and the readers
of what `ingestry import` takes (a records export, a raw bundle)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingestry.services.ports import SqlEngine
from ingestry.services.ports.analytics import CopyStore


def build_sql_engine(*, files: bool = True, timeout: float | None = None) -> SqlEngine:
    """The engine `ingestry query` runs on: DuckDB (the `analytics` extra). The API's
    reads no file (`files=False`) and stops at the request's statement timeout."""
    from ingestry.adapters.analytics import DuckDbEngine

    return DuckDbEngine(files=files, timeout=timeout)


def export_lines(path: str) -> Iterator[tuple[str, int, bytes]]:
    """The lines of a records export (a file, or the directory export wrote)."""
    from ingestry.adapters.importfile import export_files
    from ingestry.adapters.importfile import export_lines as lines

    export_files(Path(path))  # refuse a missing path or a raw bundle before any write
    return lines(Path(path))


def export_blocks(path: str) -> tuple[Iterator[tuple[str, int, bytes]], int]:
    """The blocks of whole lines of a records export (a file, or the directory export
    wrote), and how many bytes it holds (what decides whether workers parse them)."""
    from ingestry.adapters.importfile import export_blocks as blocks
    from ingestry.adapters.importfile import export_files

    files = export_files(Path(path))  # refuse a missing path or a raw bundle before any write
    return blocks(Path(path)), sum(f.stat().st_size for f in files)


def export_nodes(path: str) -> dict[str, str]:
    """Per records export file name, the exporting node its manifest names."""
    from ingestry.adapters.importfile import export_nodes as nodes

    return nodes(Path(path))


def open_raw_bundle(path: str) -> tuple[str, Iterator[tuple[str, int, bytes]]] | None:
    """(source, payload lines) of a raw bundle directory, its files checked against
    the manifest first; None when `path` is not a raw bundle."""
    from ingestry.adapters.importfile import bundle_lines, raw_bundle

    manifest = raw_bundle(Path(path))
    if manifest is None:
        return None
    return str(manifest.get("source")), bundle_lines(Path(path), manifest)


def raw_bundle_headers(path: str, source: str) -> dict[str, bytes]:
    """The CSV headers a raw bundle's rows point at, by sha256 hex."""
    from ingestry.adapters.importfile import bundle_headers

    return bundle_headers(Path(path), source)


def import_path(data_dir: Path, relative: str) -> Path:
    """What an import job may read: a path under `data/processed/` (see
    `adapters.importfile.confined_export`)."""
    from ingestry.adapters.importfile import confined_export

    return confined_export(data_dir / "processed", relative)


def build_copy_store(data_dir: Path) -> CopyStore:
    """Where `query --copy` keeps its Parquet copies: `data/query_copies/`."""
    from ingestry.adapters.querycopy import ParquetCopies

    return ParquetCopies(data_dir / "query_copies")
