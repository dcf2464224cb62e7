"""Backup, verify and restore on both backends (issue 19 item 1).

Real stores: a backup taken while an `ingestry ingest` process is writing holds every
batch committed before it and no half of one; a damaged backup (a flipped byte, a
truncated tar, a schema from the future) is refused with a message naming the file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

import ingestry
from ingestry.bootstrap import build_backup_service
from ingestry.domain.backups import MANIFEST_NAME, BackupError
from ingestry.store import Store
from tests.backends import Database

DATA_FILE = {"sqlite": "store.sqlite.gz", "postgres": "store.pgdump"}


def _srns(store: Store) -> list[tuple[str, int]]:
    return [(r.srn, r.version) for r in store.records("order", limit=None)]


def _ingest_samples(store: Store) -> None:
    store.ingest_files("customer_orders", ["data/samples/orders.jsonl"])
    store.ingest_files("exchange_rates", ["data/samples/exchange_rates.csv"])


@pytest.mark.parametrize("form", ["dir", "tar"])
def test_backup_verify_restore_round_trip(
    store: Store, project: Path, db: Database, form: str
) -> None:
    os.chdir(project)
    _ingest_samples(store)
    before = _srns(store)
    raw_before = db.count("raw_payloads")
    out = project / ("b.tar" if form == "tar" else "b")
    made = store.backup(out)
    assert made.manifest.content.tables["raw_payloads"] == raw_before > 0
    assert made.manifest.schema_revision == store.schema_current()[0]
    assert set(made.manifest.files) == {DATA_FILE[db.kind]}
    assert store.verify_backup(out).ok

    db.execute("DELETE FROM raw_receipts")
    with pytest.raises(BackupError, match="already holds data; pass --replace"):
        store.restore(out)
    restored = store.restore(out, replace=True)
    assert restored.ok
    assert _srns(store) == before
    assert db.count("raw_payloads") == raw_before
    assert db.count("raw_receipts") > 0


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_flipped_byte_is_refused_naming_the_file(
    store: Store, project: Path, db: Database
) -> None:
    os.chdir(project)
    _ingest_samples(store)
    out = project / "b"
    store.backup(out)
    _flip_byte(out / DATA_FILE[db.kind])
    result = store.verify_backup(out)
    assert not result.ok
    assert any(
        DATA_FILE[db.kind] in p and "does not match the manifest" in p for p in result.problems
    )
    db.execute("DELETE FROM raw_receipts")
    with pytest.raises(BackupError, match=f"damaged.*{DATA_FILE[db.kind]}.*Nothing was restored"):
        store.restore(out, replace=True)
    assert db.count("raw_receipts") == 0  # untouched


def test_a_truncated_tar_is_refused(store: Store, project: Path) -> None:
    os.chdir(project)
    _ingest_samples(store)
    out = project / "b.tar"
    store.backup(out)
    data = out.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    with pytest.raises(BackupError, match=r"b\.tar: damaged or truncated tar file"):
        store.verify_backup(out)
    with pytest.raises(BackupError, match=r"b\.tar: damaged or truncated tar file"):
        store.restore(out, replace=True)


def test_a_backup_from_a_newer_schema_is_refused(store: Store, project: Path) -> None:
    os.chdir(project)
    _ingest_samples(store)
    out = project / "b"
    store.backup(out)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    manifest["schema_revision"] = "29991231_000000"
    (out / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="29991231_000000 is newer than this ingestry's"):
        store.restore(out, replace=True)


def test_a_changed_manifest_count_fails_verify(store: Store, project: Path) -> None:
    os.chdir(project)
    _ingest_samples(store)
    out = project / "b"
    store.backup(out)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    manifest["tables"]["raw_payloads"] += 1
    (out / MANIFEST_NAME).write_text(json.dumps(manifest))
    result = store.verify_backup(out)
    assert not result.ok
    assert any(p.startswith("table raw_payloads:") for p in result.problems)


def _line(i: int) -> bytes:
    return orjson.dumps(
        {
            "id": f"B-{i:06d}",
            "type": "order",
            "created_at": "2026-11-01T10:00:00Z",
            "total_price": f"{i}.50",
            "customer": {"email": f"c{i}@example.com"},
        }
    )


def test_backup_during_a_running_ingest_holds_whole_batches(
    store: Store, project: Path, db: Database
) -> None:
    """Rows committed before the backup are all in it; each restored record has its raw
    payload and the ids form a prefix of the file (batches commit whole, in order)."""
    os.chdir(project)
    n = 60_000
    big = project / "big.jsonl"
    big.write_bytes(b"\n".join(_line(i) for i in range(n)) + b"\n")
    store.storage  # noqa: B018 - migrated before the ingest process races on it
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTRY_")}
    ingest = subprocess.Popen(
        [sys.executable, "-m", "ingestry", "ingest", "customer_orders", str(big), "--json"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while db.count("records_order") == 0:
            assert ingest.poll() is None, ingest.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        acknowledged = db.count("records_order")
        made = store.backup(project / "during.tar")
        out, err = ingest.communicate(timeout=300)
    finally:
        ingest.kill()
    assert ingest.returncode == 0, err
    assert orjson.loads(out)["records_created"] == n
    in_backup = made.manifest.content.tables["records_order"]
    assert acknowledged <= in_backup
    assert store.verify_backup(project / "during.tar").ok

    store.restore(project / "during.tar", replace=True)
    assert db.count("records_order") == in_backup
    ids = [r[0] for r in db.rows("SELECT source_id FROM records_order ORDER BY source_id")]
    assert ids == [f"B-{i:06d}" for i in range(in_backup)]
    orphans = db.scalar(
        "SELECT count(*) FROM records_order r WHERE NOT EXISTS "
        "(SELECT 1 FROM raw_payloads p WHERE p.source_id = r.source_id)"
    )
    assert orphans == 0
    assert db.count("raw_payloads") == in_backup


def test_scheduled_backups_keep_the_newest(config_path: Path, project: Path) -> None:
    config = config_path.read_text() + "backup: {schedule: '0 3 * * *', keep: 2, out: backups}\n"
    config_path.write_text(config)
    with ingestry.open(config_path) as store:
        os.chdir(project)
        _ingest_samples(store)
        service = build_backup_service(store.settings)
        start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
        made = []
        for day in range(3):
            service.clock = lambda day=day: start + timedelta(days=day)  # type: ignore[misc]
            made.append(service.scheduled(project / "backups", 2))
        kept = sorted(p.name for p in (project / "backups").iterdir())
        assert kept == [Path(made[1].path).name, Path(made[2].path).name]
        assert made[2].pruned == (made[0].path,)
        assert store.verify_backup(made[2].path).ok
        assert store.backup_age() is not None
