"""Soft deletes across a fork (issue 18: fork had no deletions): the remote's changes
feed carries a tombstone, the forking node deletes its copy (a tombstone there too),
a record it never had is not created, and new content brings it back. Two real
nodes, the remote served by `ingestry serve`, the real CLI; both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

import ingestry
from ingestry.domain.errors import RecordDeletedError, RecordNotFoundError
from ingestry.domain.records import record_srn
from tests.apiclient import create_key
from tests.e2e import test_fork as base
from tests.integration.test_ingest import order

local = base.local
remote = base.remote


def settled(url: str, key: str, config: Path) -> None:
    """As `test_fork.settled`, counting tombstone versions too."""
    base.settled(url, key, config, deleted=True)


def test_a_remote_delete_deletes_the_forked_copy_and_content_brings_it_back(
    remote: tuple[str, Path], local: Path
) -> None:
    url, origin = remote
    config = origin / "ingestry.yaml"
    key = create_key(config, "peer", [], admin=True)
    with ingestry.open(config) as store:
        node = store.node_id()
        store.ingest("orders_simple", [order("S-1"), order("S-2")])
        gone = record_srn("order", "harvest", "orders_simple", "S-1")
        never = record_srn("order", "harvest", "orders_simple", "S-3")
    settled(url, key, config)
    base.fork(local, url, key)
    mine = record_srn("order", "fork", node, gone)
    with ingestry.open(local / "ingestry.yaml") as store:
        # (no `get` here: this process's record cache would keep version 1 until the
        # local dispatcher delivers the fork's events; docs/cache.md)
        assert mine in {r.srn for r in store.records("order")}
        live_before = store.count("order")
    with ingestry.open(config) as store:
        store.delete(gone, reason="withdrawn upstream", actor="curator")
        store.ingest("orders_simple", [order("S-3")])
        store.delete(never, reason="a mistake")
    settled(url, key, config)
    summary = base.fork(local, url, key)
    assert summary["records_deleted"] == 1 and summary["records_created"] == 0
    with ingestry.open(local / "ingestry.yaml") as store:
        with pytest.raises(RecordDeletedError):
            store.get(mine)
        tombstone = store.get(mine, include_deleted=True)
        assert tombstone.version == 2 and tombstone.deleted is not None
        assert tombstone.deleted.reason == "withdrawn upstream"
        assert tombstone.deleted.actor == f"fork:{node}"
        assert [r.version for r in store.history(mine)] == [1, 2]
        assert store.count("order") == live_before - 1
        with pytest.raises(RecordNotFoundError) as caught:  # never had it: nothing made
            store.get(record_srn("order", "fork", node, never), include_deleted=True)
        assert not isinstance(caught.value, RecordDeletedError)
    again = base.fork(local, url, key)
    assert (again["records_deleted"], again["received"]) == (0, 0)
    # the remote gets the row again: the copy comes back as its next version
    with ingestry.open(config) as store:
        store.ingest("orders_simple", [order("S-1")])
    settled(url, key, config)
    back = base.fork(local, url, key)
    assert (back["records_updated"], back["records_deleted"]) == (1, 0)
    with ingestry.open(local / "ingestry.yaml") as store:
        assert store.get(mine).version == 3
