"""What bootstrap decides for the entry points: which Redis a stream worker reads, and
the store's file I/O (config edits that keep the file valid, paths under the data root)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ingestry.bootstrap import data_file, is_redis, stream_url, write_source_key
from ingestry.config import load_settings
from ingestry.domain.errors import PathOutsideDataRootError


def test_a_stream_worker_reads_the_cache_when_it_is_redis(local_project: Path) -> None:
    settings = load_settings(local_project / "ingestry.yaml")
    assert [is_redis(u) for u in ("redis://h", "rediss://h", "unix:///s", "memory")] == [
        True, True, True, False,
    ]  # fmt: skip
    assert stream_url(settings, {}) == "redis://127.0.0.1:6379/0"  # the cache is memory
    assert stream_url(settings, {"INGESTRY_STREAM_URL": "redis://s:1/2"}) == "redis://s:1/2"
    on_redis = replace(settings, cache_url="rediss://c:6380/3")
    assert stream_url(on_redis, {"INGESTRY_STREAM_URL": "redis://s:1/2"}) == "rediss://c:6380/3"


def test_a_config_edit_is_written_only_when_the_result_is_valid(local_project: Path) -> None:
    path = local_project / "ingestry.yaml"
    settings = load_settings(path)
    before = path.read_text(encoding="utf-8")
    assert write_source_key(settings, "orders_simple", "strategy", "bogus") is False
    assert path.read_text(encoding="utf-8") == before
    assert write_source_key(settings, "orders_simple", "rationale", "Moved") is True
    assert load_settings(path).source("orders_simple").rationale == "Moved"


def test_data_files_stay_under_the_data_root(local_project: Path) -> None:
    settings = load_settings(local_project / "ingestry.yaml")
    inside = data_file(settings, "samples/orders.jsonl")
    assert inside == (settings.data_dir / "samples" / "orders.jsonl").resolve()
    with pytest.raises(PathOutsideDataRootError):
        data_file(settings, "../ingestry.yaml")
