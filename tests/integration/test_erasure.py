"""Erasure (issue 19 item 3) on every backend: what goes, what stays, what blocks it,
and that neither a replay nor the cache brings erased data back."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from ingestry.domain.erasure import srn_digest
from ingestry.domain.errors import ErasureBlockedError, InputError, RecordNotFoundError
from ingestry.domain.records import record_srn
from ingestry.store import Store
from tests.backends import Database
from tests.integration.test_ingest import order

SOURCE = "customer_orders"


def srn(ident: str) -> str:
    return record_srn("order", "harvest", SOURCE, ident)


def ingest_two_versions(store: Store, tmp_path: Path) -> Path:
    """A (two versions, two raw payloads, three receipts) and B."""
    first = tmp_path / "first.jsonl"
    first.write_bytes(b"".join(orjson.dumps(order(i)) + b"\n" for i in ("A-1", "B-1")))
    second = tmp_path / "second.jsonl"
    second.write_bytes(orjson.dumps(order("A-1", total_price="99.00")) + b"\n")
    store.ingest_files(SOURCE, [first])
    store.ingest_files(SOURCE, [second])
    store.ingest_files(SOURCE, [second])  # a byte-identical re-send: one more receipt
    return first


def counts(store: Store, db: Database, ident: str) -> dict[str, int]:
    store.take_in_events()  # every change taken in, as a claim does
    the_srn = srn(ident)
    raw_ids = f"(SELECT id FROM raw_payloads WHERE source = '{SOURCE}' AND source_id = '{ident}')"
    return {
        "records": db.count("records_order", f"WHERE source_id = '{ident}'"),
        "versions": db.count("record_versions", f"WHERE srn = '{the_srn}'"),
        "events": db.count("record_events", f"WHERE srn = '{the_srn}'"),
        "raw": db.count("raw_payloads", f"WHERE source = '{SOURCE}' AND source_id = '{ident}'"),
        "receipts": db.count("raw_receipts", f"WHERE raw_id IN {raw_ids}"),
    }


def test_erase_removes_the_record_its_versions_and_raw_data(
    store: Store, db: Database, tmp_path: Path
) -> None:
    ingest_two_versions(store, tmp_path)
    assert store.get(srn("A-1")).version == 2  # cached now, too
    before_b = counts(store, db, "B-1")
    expected = {"records": 1, "versions": 1, "events": 2, "raw": 2, "receipts": 3}
    assert counts(store, db, "A-1") == expected
    report = store.erase(source=SOURCE, source_id="A-1", reason="GDPR art. 17", actor="dpo")
    got = report.to_dict()
    assert got["records"] == 1 and got["versions"] == 1 and got["events"] == 2
    assert got["raw_payloads"] == 2 and got["receipts"] == 3
    assert got["data_sources"] == [SOURCE] and got["srn_sha256"] == srn_digest(srn("A-1"))
    assert counts(store, db, "A-1") == dict.fromkeys(
        ("records", "versions", "events", "raw", "receipts"), 0
    )
    assert counts(store, db, "B-1") == before_b
    with pytest.raises(RecordNotFoundError):
        store.get(srn("A-1"))  # not from the cache either
    with pytest.raises(RecordNotFoundError):
        store.history(srn("A-1"))
    assert store.raw(SOURCE, "A-1") == []
    assert [r.srn for r in store.records("order")] == [srn("B-1")]
    assert store.count("order") == 1


def test_the_audit_row_holds_hashes_never_content(
    store: Store, db: Database, tmp_path: Path
) -> None:
    ingest_two_versions(store, tmp_path)
    raw_hashes = sorted(p.sha256 for p in store.raw(SOURCE, "A-1"))  # hex already
    store.erase(srn("A-1"), reason="subject request", actor="dpo")
    (audit,) = store.erasures(srn("A-1"))
    assert (audit.actor, audit.reason, audit.convention) == ("dpo", "subject request", "order")
    assert sorted(audit.raw_sha256s) == raw_hashes
    assert len(audit.content_hashes) == 2 and audit.counts["raw_payloads"] == 2
    text = orjson.dumps(audit.to_dict()).decode()
    for secret in ("A-1", "a-1@example.com", "99.00"):
        assert secret not in text
    assert store.erasures(srn("B-1")) == []


def test_a_legal_hold_blocks_the_erasure_and_nothing_goes(
    store: Store, db: Database, tmp_path: Path
) -> None:
    ingest_two_versions(store, tmp_path)
    hold = store.raw_hold(SOURCE, source_id="A-1", reason="litigation", actor="legal")
    before = counts(store, db, "A-1")
    with pytest.raises(ErasureBlockedError) as caught:
        store.erase(srn("A-1"), reason="GDPR", actor="dpo")
    message = str(caught.value)
    assert f"#{hold.id}" in message and "litigation" in message and "raw release" in message
    assert counts(store, db, "A-1") == before and store.erasures() == []
    store.raw_hold(SOURCE, reason="whole source")  # a source-wide hold blocks too
    store.raw_release(hold.id, actor="legal")
    with pytest.raises(ErasureBlockedError):
        store.erase(srn("A-1"), reason="GDPR", actor="dpo")


def test_replay_does_not_resurrect_and_new_input_recreates(
    store: Store, db: Database, tmp_path: Path
) -> None:
    first = ingest_two_versions(store, tmp_path)
    store.erase(srn("A-1"), reason="GDPR", actor="dpo")
    store.replay(SOURCE)
    with pytest.raises(RecordNotFoundError):
        store.get(srn("A-1"))
    assert counts(store, db, "A-1")["raw"] == 0
    # the same file again is new input: the record is created anew, the audit stays
    store.ingest_files(SOURCE, [first])
    again = store.get(srn("A-1"))
    assert again.version == 1 and again.columns["total"] is not None
    assert len(store.erasures(srn("A-1"))) == 1


def test_erase_needs_a_reason_and_an_existing_record(store: Store, db: Database) -> None:
    with pytest.raises(InputError):
        store.erase(srn("nope"), reason=" ", actor="dpo")
    with pytest.raises(RecordNotFoundError):
        store.erase(srn("nope"), reason="GDPR", actor="dpo")
    with pytest.raises(InputError):
        store.erase(source=SOURCE, reason="GDPR")
