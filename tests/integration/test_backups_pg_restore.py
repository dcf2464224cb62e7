"""A pg_dump-format restore is all or nothing: the DROP of the live schema is in the
same transaction as the restored rows, so a pg_restore that fails half-way changes
nothing (it used to leave the store without its schema)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingestry.adapters.backups.postgres import _restore
from ingestry.adapters.postgres.url import libpq_url
from ingestry.domain.backups import BackupError
from ingestry.store import Store
from tests.backends import Database

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_pg_restore_failing_half_way_keeps_the_live_data(
    store: Store, project: Path, db: Database
) -> None:
    os.chdir(project)
    store.ingest_files("customer_orders", ["data/samples/orders.jsonl"])
    payloads = db.count("raw_payloads")
    made = store.backup(project / "b", method="pg_dump")
    dump = project / "b" / "store.pgdump"
    cut = project / "cut.pgdump"
    cut.write_bytes(dump.read_bytes()[: dump.stat().st_size * 2 // 3])
    schema = str(db.rows("SELECT current_schema()")[0][0])
    with pytest.raises(BackupError, match="nothing was changed"):
        _restore(cut, libpq_url(db.url), schema)
    assert db.count("raw_payloads") == payloads > 0
    assert made.ok and store.restore(project / "b", replace=True).ok  # the whole one works
    assert db.count("raw_payloads") == payloads
