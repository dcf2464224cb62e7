"""ErasureService on the in-memory fake: removals, audit, holds, replay (no database)."""

from __future__ import annotations

import pytest

from ingestry.domain.errors import ErasureBlockedError
from ingestry.domain.records import record_srn
from ingestry.services.erasure import ErasureService
from ingestry.services.holds import HoldService
from ingestry.services.payloads import PayloadInput
from ingestry.services.ports import RawWindow
from ingestry.services.replay import ReplayService
from tests.fakes import MemoryStorage
from tests.unit.test_services_on_fakes import RAW, SETTINGS, ingester, order, storage

__all__ = ["storage"]  # the fixture, shared

SRN = record_srn("order", "harvest", RAW.name, "A")


def service(storage: MemoryStorage) -> ErasureService:
    return ErasureService(storage, SETTINGS.convention, SETTINGS.sources)


def test_erasure_removes_everything_of_the_id_and_replay_brings_nothing_back(
    storage: MemoryStorage,
) -> None:
    ingest = ingester(storage)
    ingest.ingest(RAW, [PayloadInput([order("A", "1.00"), order("B", "1.00")], "f")])
    ingest.ingest(RAW, [PayloadInput([order("A", "2.00")], "g")])
    report = service(storage).erase(SRN, reason="GDPR", actor="dpo").to_dict()
    assert (report["records"], report["versions"], report["raw_payloads"]) == (1, 1, 2)
    assert storage.get_record(SETTINGS.convention("order"), SRN) is None
    assert storage.raw_payloads(RAW.name, "A") == [] and storage.raw_payloads(RAW.name, "B")
    replay = ReplayService(storage, ingest.extractor_for)
    replay.replay(RAW, RawWindow(RAW.name, None, None, None, None))
    assert storage.get_record(SETTINGS.convention("order"), SRN) is None
    (audit,) = service(storage).audits(SRN)
    assert audit.actor == "dpo" and len(audit.raw_sha256s) == 2


def test_a_hold_on_the_id_blocks_the_erasure(storage: MemoryStorage) -> None:
    ingester(storage).ingest(RAW, [PayloadInput([order("A", "1.00")], "f")])
    HoldService(storage).hold(RAW, "A", None, "court", "legal", ErasureBlockedError)
    with pytest.raises(ErasureBlockedError, match="court"):
        service(storage).erase(SRN, reason="GDPR", actor="dpo")
    assert storage.get_record(SETTINGS.convention("order"), SRN) is not None
