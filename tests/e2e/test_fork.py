"""Federation end to end (issue 18 item 5): two real nodes, one served by `ingestry
serve` on 127.0.0.1, the other forking from it with the real CLI; both backends."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

import ingestry
from ingestry.domain.provenance import ForkSource
from ingestry.domain.records import Record, record_srn
from tests.apiclient import api_client, auth, create_key
from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE, write_project
from tests.e2e.cli import run
from tests.e2e.processes import child_env, server, spawn, stop, wait_for
from tests.integration.test_ingest import order
from tests.integration.test_worker import worker

ORDERS = "data/samples/orders.jsonl"


@pytest.fixture
def local(tmp_path: Path, other_db: Database) -> Path:
    """The forking node: same config, its own database."""
    root = tmp_path / "local"
    root.mkdir()
    return write_project(root, other_db.url if other_db.kind == "postgres" else DEFAULT_SQLITE)


@pytest.fixture
def remote(project: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The node forked from, with orders and exchange rates, served over HTTP."""
    assert run("ingest", "customer_orders", ORDERS, cwd=project).returncode == 0
    assert run("ingest", "exchange_rates", "data/samples/exchange_rates.csv",
               cwd=project).returncode == 0  # fmt: skip
    with server(project, child_env(), tmp_path / "serve.log") as client:
        yield str(client.base_url), project


def settled(
    url: str, key: str, config: Path, sources: set[str] | None = None, *, deleted: bool = False
) -> None:
    """Wait (up to 90 s) until the remote's feed shows every current version of its
    records (of `sources`). The feed shows a change once every older transaction on the
    server has ended (docs/federation.md); under a loaded CI other tests' transactions
    hold that back, and a fork started before then rightly reads nothing new. `deleted`:
    count tombstone versions too."""
    with ingestry.open(config) as store:
        want = {(r.srn, r.version) for c in ("order", "exchange_rate")
                for r in store.records(c, include_deleted=deleted)
                if sources is None or r.data_source in sources}  # fmt: skip
    seen: set[tuple[str, int]] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        seen, after, more = set(), None, True
        while more:
            params: dict[str, str | int] = {"limit": 1000} | ({"after": after} if after else {})
            page = httpx.get(f"{url}/v1/changes", params=params, headers={"X-API-Key": key})
            assert page.status_code == 200, page.text
            body = page.json()
            seen |= {(item["srn"], item["version"]) for item in body["items"]}
            after, more = body["next_cursor"], body["has_more"]
        if want <= seen:
            return
        time.sleep(0.5)
    raise AssertionError(f"the feed never showed {sorted(want - seen)[:5]}")


def fork(local: Path, url: str, key: str, *args: str) -> dict[str, object]:
    done = run("fork", "--from", url, "--key", key, *args, "--json", cwd=local)
    assert done.returncode == 0, done.stderr
    summary: dict[str, object] = orjson.loads(done.stdout)
    return summary


def records(config: Path) -> dict[str, Record]:
    with ingestry.open(config) as store:
        return {r.srn: r for c in ("order", "exchange_rate") for r in store.records(c)}


def test_fork_again_unchanged_then_a_remote_change_is_a_new_version(
    remote: tuple[str, Path], local: Path
) -> None:
    url, origin = remote
    key = create_key(origin / "ingestry.yaml", "peer", [], admin=True)
    theirs = records(origin / "ingestry.yaml")
    with ingestry.open(origin / "ingestry.yaml") as store:
        node = store.node_id()
    settled(url, key, origin / "ingestry.yaml")
    first = fork(local, url, key)
    assert set(first) >= {"records_created", "records_updated", "records_unchanged",
                          "raw_stored", "raw_duplicates"}  # fmt: skip
    assert (first["records_created"], first["node_id"]) == (len(theirs), node)
    mine = records(local / "ingestry.yaml")
    assert len(mine) == len(theirs)
    for srn, record in theirs.items():
        copy = mine[record_srn(record.convention, "fork", node, srn)]
        assert copy.source == ForkSource(id=srn, source_node=node)
        assert dict(copy.columns) == dict(record.columns)
        assert dict(copy.metadata) == dict(record.metadata)
    again = fork(local, url, key)  # nothing changed there: nothing read again
    assert (again["records_created"], again["records_updated"]) == (0, 0)
    assert again["resumed_from"] == first["cursor"]
    # change one remote record: the next fork makes it a new local version
    with ingestry.open(origin / "ingestry.yaml") as store:
        store.ingest("orders_simple", [order("S-9", note="first")])
    settled(url, key, origin / "ingestry.yaml")
    fork(local, url, key)
    with ingestry.open(origin / "ingestry.yaml") as store:
        store.ingest("orders_simple", [order("S-9", note="second")])
        changed = next(r.srn for r in store.records("order") if r.source.id == "S-9")
    settled(url, key, origin / "ingestry.yaml")
    third = fork(local, url, key)
    assert (third["records_created"], third["records_updated"]) == (0, 1)
    with ingestry.open(local / "ingestry.yaml") as store:
        copy = store.get(record_srn("order", "fork", node, changed))
    assert copy.version == 2 and copy.metadata["note"] == "second"
    # the kept cursor: a fourth fork reads nothing it has already published
    fourth = fork(local, url, key)
    assert (fourth["received"], fourth["records_created"]) == (0, 0)


def test_a_killed_fork_resumes_without_duplicates(remote: tuple[str, Path], local: Path) -> None:
    url, origin = remote
    key = create_key(origin / "ingestry.yaml", "peer", [], admin=True)
    theirs = records(origin / "ingestry.yaml")
    settled(url, key, origin / "ingestry.yaml")
    log = local / "fork.log"
    proc = spawn("fork", "--from", url, "--key", key, "--page-size", "1", cwd=local,
                 env=child_env(), log=log)  # fmt: skip
    with ingestry.open(local / "ingestry.yaml") as store:
        wait_for("a few pages to commit", lambda: store.count("order") >= 5 or None, 120)
    stop(proc, signal.SIGKILL)
    with ingestry.open(local / "ingestry.yaml") as store:
        part = store.count("order") + store.count("exchange_rate")
    assert 0 < part < len(theirs), "the fork finished before it was killed"
    resumed = fork(local, url, key)
    assert resumed["resumed_from"] is not None
    assert resumed["records_created"] + part >= len(theirs)
    mine = records(local / "ingestry.yaml")
    assert sorted(r.source.id for r in mine.values()) == sorted(theirs)  # each exactly once


def test_a_scoped_key_forks_only_its_sources(remote: tuple[str, Path], local: Path) -> None:
    url, origin = remote
    key = create_key(origin / "ingestry.yaml", "rates", ["exchange_rates"])
    theirs = records(origin / "ingestry.yaml")
    rates = {s for s, r in theirs.items() if r.data_source == "exchange_rates"}
    settled(url, key, origin / "ingestry.yaml", {"exchange_rates"})
    summary = fork(local, url, key)
    assert summary["conventions"] == ["exchange_rate"]
    mine = records(local / "ingestry.yaml")
    assert {r.source.id for r in mine.values()} == rates and rates
    # a convention the key may not read is refused by name
    refused = run("fork", "--from", url, "--key", key, "--convention", "order", cwd=local)
    assert refused.returncode == 1 and b"'order'" in refused.stderr, refused.stderr


def test_fork_as_an_api_job_reads_the_key_from_the_workers_environment(
    remote: tuple[str, Path], local: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, origin = remote
    peer = create_key(origin / "ingestry.yaml", "peer", [], admin=True)
    config = local / "ingestry.yaml"
    admin = create_key(config, "ops", [], admin=True)
    scoped = create_key(config, "orders", ["customer_orders"])
    spec = {"kind": "fork", "url": url, "key_env": "PEER_KEY", "convention": "exchange_rate"}
    with api_client(config) as client:
        refused = client.post("/v1/jobs", json=spec, headers=auth(scoped))
        assert refused.status_code == 403, refused.text
        secret = client.post("/v1/jobs", json={**spec, "key": peer}, headers=auth(admin))
        assert secret.status_code == 422  # no key in a job's parameters, ever
        submitted = client.post("/v1/jobs", json=spec, headers=auth(admin))
        assert submitted.status_code == 202, submitted.text
    monkeypatch.setenv("PEER_KEY", peer)
    settled(url, peer, origin / "ingestry.yaml")
    with ingestry.open(config) as store:
        assert worker(store).drain(threading.Event()) == 1
        job = store.jobs().get(submitted.json()["id"])
        assert job.status == "succeeded", job.error
        assert (
            job.result is not None
            and job.result["records_created"] == store.count("exchange_rate") > 0
        )
        assert peer not in orjson.dumps(dict(job.params)).decode()
