"""A harvest that changes a record is read at once through the record cache, as an
ingest's change is (the harvest's writes went around the cache's invalidation)."""

from __future__ import annotations

from pathlib import Path

import ingestry
from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE
from tests.harvest_upstream import Upstream, make_items, serve
from tests.integration.harvest_support import PAGINATORS, source_yaml, write_config


def test_a_harvested_change_is_read_at_once(tmp_path: Path, db: Database) -> None:
    path, paginator, items = PAGINATORS["jsonlink"]
    with serve(Upstream(items=make_items(12), page_size=10)) as up:
        url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
        sources = source_yaml("api", up.url + path, paginator, items)
        with ingestry.open(write_config(tmp_path, url, sources)) as store:
            assert store.record_cache is not None  # the default: this process's LRU
            store.harvest("api")
            srn = next(r.srn for r in store.records("item") if r.source.id == "it-3")
            assert store.get(srn).columns["amount"] == 9
            assert store.get(srn).version == 1  # cached now
            up.items[2] = {**up.items[2], "amount": 1000}
            store.harvest("api")
            read = store.get(srn)
    assert read.version == 2 and read.columns["amount"] == 1000
