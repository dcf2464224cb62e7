"""The fork service on the fakes: a remote node over a second fake store's changes feed
(a function seam, no HTTP), the local store a MemoryStorage. What the fork decides:
missing conventions refused by name before any write, pages published and the cursor
kept only after a page committed, idempotent re-forks, a rejected record stops it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestry.config import parse_settings
from ingestry.domain.errors import InputError
from ingestry.domain.provenance import DepositionSource, ForkSource
from ingestry.domain.records import record_srn
from ingestry.services.changes import format_cursor, parse_cursor, read_changes
from ingestry.services.export import record_document
from ingestry.services.fork import ForkRequest, ForkService
from ingestry.services.ports import RemoteInfo, RemotePage
from ingestry.services.publish import PublishService
from tests.conftest import TEST_CONFIG
from tests.fakes import MemoryStorage
from tests.integration.test_ingest import order

SETTINGS = parse_settings(TEST_CONFIG, Path("/nowhere/ingestry.yaml"), {})
URL = "http://remote.test"


class FakeRemote:
    """A remote node: another fake store's changes feed, as `/v1/changes` pages."""

    def __init__(self, storage: MemoryStorage, conventions: tuple[str, ...] = ("order",)) -> None:
        self.storage, self.conventions, self.pages = storage, conventions, 0

    def info(self) -> RemoteInfo:
        return RemoteInfo(self.storage.node_id(), self.conventions)

    def changes(
        self, after: str | None, limit: int, convention: str | None, since: str | None
    ) -> RemotePage:
        self.pages += 1
        wanted = [
            SETTINGS.convention(c) for c in ([convention] if convention else self.conventions)
        ]
        page = read_changes(self.storage.change_feed(), wanted, parse_cursor(after), limit)
        docs = [dict(record_document(r)) for r in page.records]
        return RemotePage(docs, format_cursor(page.next_cursor), page.has_more)

    def close(self) -> None:
        pass


def publisher(storage: MemoryStorage) -> PublishService:
    storage.prepare(list(SETTINGS.conventions.values()), auto_upgrade=True)
    return PublishService(storage, SETTINGS.convention)


def publish(storage: MemoryStorage, *ids: str) -> None:
    items = [(DepositionSource(id=i), order(i)) for i in ids]
    assert publisher(storage).bulk_publish("order", items).created == len(ids)


def fork_service(local: MemoryStorage, conventions: set[str] | None = None) -> ForkService:
    known = set(SETTINGS.conventions) if conventions is None else conventions
    return ForkService(publisher(local), known, local.change_feed(), local.node_id())


def test_fork_publishes_with_fork_provenance_and_a_second_fork_reads_nothing_new() -> None:
    remote_store, local = MemoryStorage(), MemoryStorage()
    publish(remote_store, *(f"O-{i}" for i in range(7)))
    remote = FakeRemote(remote_store)
    first = fork_service(local).fork(remote, ForkRequest(URL, page_size=3))
    assert (first.records_created, first.pages, first.resumed_from) == (7, 3, None)
    node = remote_store.node_id()
    for record in remote_store.list_records(SETTINGS.convention("order"), None):
        copy = local.get_record(
            SETTINGS.convention("order"), record_srn("order", "fork", node, record.srn)
        )
        assert copy is not None and copy.source == ForkSource(id=record.srn, source_node=node)
    again = fork_service(local).fork(remote, ForkRequest(URL, page_size=3))
    assert (again.received, again.resumed_from) == (0, first.cursor)


def test_a_missing_local_convention_is_refused_by_name_before_any_read() -> None:
    remote = FakeRemote(MemoryStorage(), ("order", "exchange_rate"))
    local = MemoryStorage()
    with pytest.raises(InputError, match=r"'exchange_rate' of node .* does not exist here"):
        fork_service(local, {"order"}).fork(remote, ForkRequest(URL))
    assert remote.pages == 0
    with pytest.raises(InputError, match="no convention 'nope'"):
        fork_service(local).fork(remote, ForkRequest(URL, convention="nope"))


def test_forking_from_itself_is_refused() -> None:
    local = MemoryStorage()
    with pytest.raises(InputError, match="this store itself"):
        fork_service(local).fork(FakeRemote(local), ForkRequest(URL))


def test_a_rejected_record_stops_the_fork_before_its_page_cursor_is_kept() -> None:
    remote_store, local = MemoryStorage(), MemoryStorage()
    publish(remote_store, "A", "B")

    class Broken(FakeRemote):
        def changes(
            self, after: str | None, limit: int, convention: str | None, since: str | None
        ) -> RemotePage:
            page = super().changes(after, limit, convention, since)
            if self.pages == 2:  # the second page's record does not fit the convention
                page.records[0]["metadata"]["created_at"] = "not a time"
            return page

    done = fork_service(local).fork(Broken(remote_store), ForkRequest(URL, page_size=1))
    assert (done.records_created, done.rejected, done.pages) == (1, 1, 2)
    kept = local.change_feed().fork_cursor(remote_store.node_id(), "*")
    assert kept == done.cursor  # the first page's: the next fork reads page two again
    resumed = fork_service(local).fork(FakeRemote(remote_store), ForkRequest(URL, page_size=1))
    assert (resumed.records_created, resumed.resumed_from) == (1, kept)
