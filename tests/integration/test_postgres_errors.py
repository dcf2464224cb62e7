"""PostgreSQL failures: deadlocks are retried, the rest are said in words, once."""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestry.adapters.postgres import PostgresStorage
from ingestry.bootstrap import build_storage
from ingestry.config import load_settings
from ingestry.domain.errors import ConfigError, StorageError
from ingestry.domain.records import record_srn
from tests.backends import Database
from tests.conftest import write_project
from tests.contract.conftest import CONVENTION, NOW, SOURCE, record_row


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
def storages(db: Database) -> Iterator[tuple[PostgresStorage, PostgresStorage]]:
    first, second = PostgresStorage(db.url), PostgresStorage(db.url)
    try:
        first.prepare([CONVENTION], auto_upgrade=True)
        second.prepare([CONVENTION], auto_upgrade=True)
        yield first, second
    finally:
        first.close()
        second.close()


@pytest.mark.postgres
def test_a_deadlock_is_retried_by_replaying_the_transaction(
    storages: tuple[PostgresStorage, PostgresStorage], caplog: pytest.LogCaptureFixture
) -> None:
    """Two sessions lock X and Y, then each wants the other's row: PostgreSQL aborts
    one; it rolls back, replays its calls and finishes after the other commits."""
    a, b = storages
    with a.session() as session:
        session.upsert_records(CONVENTION, [record_row("X"), record_row("Y")], NOW)
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def cross(storage: PostgresStorage, first: str, second: str, label: str) -> None:
        try:
            with storage.session() as session:
                session.upsert_records(CONVENTION, [record_row(first, label=label)], NOW)
                barrier.wait()
                session.upsert_records(CONVENTION, [record_row(second, label=label)], NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=cross, args=(a, "X", "Y", "by-a")),
        threading.Thread(target=cross, args=(b, "Y", "X", "by-b")),
    ]
    with caplog.at_level(logging.INFO, logger="ingestry.adapters.postgres.transaction"):
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    assert any("40P01" in r.getMessage() for r in caplog.records)
    for ident in ("X", "Y"):
        history = a.record_history(CONVENTION, record_srn("thing", "harvest", SOURCE, ident))
        assert [r.version for r in history] == [1, 2, 3]
        labels = [r.columns["label"] for r in history]
        assert labels[0] == "a" and sorted(labels[1:]) == ["by-a", "by-b"]


@pytest.mark.postgres
def test_a_replayed_unit_counts_what_the_replay_wrote(
    storages: tuple[PostgresStorage, PostgresStorage], caplog: pytest.LogCaptureFixture
) -> None:
    """A batch is written as a unit (`session.unit`); when a deadlock makes the
    transaction run again and the rival has meanwhile committed a record the first
    attempt created, the unit's counts say "updated", as the replay wrote."""
    a, b = storages
    with a.session() as session:
        session.upsert_records(CONVENTION, [record_row("X"), record_row("Y")], NOW)
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []
    counts: dict[str, list[tuple[int, int]]] = {"a": [], "b": []}
    attempts: list[int] = []

    def victim() -> None:  # waits first, so its deadlock check fires first
        try:
            with a.session() as session:

                def work() -> None:
                    counts["a"].clear()
                    for ident in ("Z", "X"):
                        r = session.upsert_records(
                            CONVENTION, [record_row(ident, label="by-a")], NOW
                        )
                        counts["a"].append((r.created, r.updated))
                    attempts.append(1)
                    if len(attempts) == 1:  # the replay does not meet the rival again
                        barrier.wait()
                    r = session.upsert_records(CONVENTION, [record_row("Y", label="by-a")], NOW)
                    counts["a"].append((r.created, r.updated))

                session.unit(work)
        except BaseException as exc:
            errors.append(exc)

    def rival() -> None:
        try:
            with b.session() as session:
                r = session.upsert_records(CONVENTION, [record_row("Y", label="by-b")], NOW)
                counts["b"].append((r.created, r.updated))
                barrier.wait()
                time.sleep(0.3)
                r = session.upsert_records(CONVENTION, [record_row("Z", label="by-b")], NOW)
                counts["b"].append((r.created, r.updated))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=victim), threading.Thread(target=rival)]
    with caplog.at_level(logging.INFO, logger="ingestry.adapters.postgres.transaction"):
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    assert any("40P01" in r.getMessage() for r in caplog.records)
    assert len(attempts) == 2
    assert counts["b"] == [(0, 1), (1, 0)]  # the rival created Z
    assert counts["a"] == [(0, 1), (0, 1), (0, 1)]  # so the replayed unit updated it
    z = a.record_history(CONVENTION, record_srn("thing", "harvest", SOURCE, "Z"))
    assert [(r.version, r.columns["label"]) for r in z] == [(1, "by-b"), (2, "by-a")]
    assert not any("answered differently" in r.getMessage() for r in caplog.records)


@pytest.mark.postgres
def test_a_value_postgresql_refuses_is_a_storage_error(
    storages: tuple[PostgresStorage, PostgresStorage], db: Database
) -> None:
    storage, _ = storages
    refused = r"PostgreSQL refused the write \(22003\)"
    with pytest.raises(StorageError, match=refused), storage.session() as session:
        session.upsert_records(CONVENTION, [record_row("N-1")], NOW)
        session.upsert_records(CONVENTION, [record_row("N-2", amount="1E-20000")], NOW)
    assert db.count("records_thing") == 0
    with storage.session() as session:  # the connection is usable again
        assert session.upsert_records(CONVENTION, [record_row("N-1")], NOW).created == 1


def test_an_unreachable_server_is_a_storage_error_without_the_password() -> None:
    with pytest.raises(StorageError, match=r"cannot connect to PostgreSQL at .*:1/nowhere") as e:
        PostgresStorage("postgresql://ingestry:s3cret@127.0.0.1:1/nowhere")
    assert "s3cret" not in str(e.value)
    assert "ingestry:***@127.0.0.1:1/nowhere" in str(e.value)


def test_missing_driver_says_which_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path, "postgresql://postgres@127.0.0.1/db")
    for name in list(sys.modules):
        if name == "psycopg" or name.startswith(("psycopg.", "ingestry.adapters.postgres")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "psycopg", None)
    settings = load_settings(tmp_path / "ingestry.yaml")
    hint = r"'ingestry\[postgres\]' \(from a checkout: pip install -e '\.\[postgres\]'\)"
    with pytest.raises(ConfigError, match=hint):
        build_storage(settings)


class _Rows(list):  # type: ignore[type-arg]
    """A batch the test can hold a weak reference to (plain lists cannot have one)."""


@pytest.mark.postgres
def test_a_committed_batch_is_freed_without_the_cyclic_collector(
    storages: tuple[PostgresStorage, PostgresStorage],
) -> None:
    """An ingest pauses the cyclic collector; a finished transaction must not keep its
    batch alive through a reference cycle (that held every batch: 3 GB at 1M rows)."""
    storage, _ = storages
    rows = _Rows([record_row("X"), record_row("Y")])
    gone = weakref.ref(rows)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with storage.session() as session:
            session.upsert_records(CONVENTION, rows, NOW)
        del rows, session
        assert gone() is None
    finally:
        if was_enabled:
            gc.enable()
