"""The Redis Streams consumer against a real Redis (unique streams per test), on both
storage backends: ingest, ack only after commit, reclaim a dead consumer's messages."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from ingestry.adapters.redis.streams import DEAD_LETTER_SUFFIX, RedisStream
from ingestry.bootstrap import redis_client
from ingestry.domain.errors import StorageError
from ingestry.services.streams import StreamConsumer
from ingestry.store import Store
from tests.backends import Database
from tests.integration.test_ingest import order

pytestmark = pytest.mark.redis


@pytest.fixture
def client(redis_url: str) -> Iterator[Any]:
    found = redis_client(redis_url)
    yield found
    found.close()


@pytest.fixture
def stream_name(client: Any) -> Iterator[str]:
    name = f"ingestry:test:{secrets.token_hex(6)}"
    yield name
    client.delete(name, name + DEAD_LETTER_SUFFIX)


def push(client: Any, stream: str, source: str, payload: object) -> None:
    client.xadd(stream, {"source": source, "payload": orjson.dumps(payload)})


def pending(client: Any, stream: str) -> int:
    return int(client.xpending(stream, "g")["pending"])


def consumer(client: Any, stream: str, name: str, ingest: Any, idle: float = 60) -> StreamConsumer:
    port = RedisStream(client, stream, "g", name)
    port.ensure_group()
    return StreamConsumer(port, ingest, block_ms=100, claim_idle=idle)


def test_messages_are_ingested_then_acked(
    client: Any, stream_name: str, store: Store, db: Database
) -> None:
    c = consumer(client, stream_name, "c1", store.ingest)
    push(client, stream_name, "customer_orders", order("Q1"))
    push(client, stream_name, "customer_orders", order("Q2"))
    push(client, stream_name, "orders_simple", order("Q3"))
    push(client, stream_name, "no_such_source", order("Q4"))
    client.xadd(stream_name, {"source": "customer_orders"})  # no payload
    assert c.run_once() == 5
    assert pending(client, stream_name) == 0
    assert db.count("records_order") == 3
    dead = client.xrange(stream_name + DEAD_LETTER_SUFFIX)
    reasons = sorted(fields[b"reason"].decode() for _, fields in dead)
    assert len(reasons) == 2 and any("unknown source" in r for r in reasons)
    # exact bytes kept in the raw store
    raw = db.rows("SELECT payload FROM raw_payloads WHERE source_id = 'Q1'")
    assert bytes(raw[0][0]) == orjson.dumps(order("Q1"))


def test_no_ack_before_commit_and_a_dead_consumers_messages_are_reclaimed(
    client: Any, stream_name: str, store: Store, db: Database
) -> None:
    def database_down(source: str, payloads: list[bytes]) -> None:
        raise StorageError("database unreachable")

    failing = consumer(client, stream_name, "c1", database_down)
    push(client, stream_name, "customer_orders", order("P1"))
    push(client, stream_name, "customer_orders", order("P2"))
    assert failing.run_once() == 0
    assert pending(client, stream_name) == 2  # not acked: nothing was committed
    assert store.stats()["customer_orders"]["records"] == 0
    # c1 dies; c2 claims its pending messages once idle (0 s here) and ingests them
    push(client, stream_name, "customer_orders", order("P3"))
    reader = RedisStream(client, stream_name, "g", "c3")
    assert len(reader.read(10, 100)) == 1  # c3 reads P3, then dies before ingesting
    rescuer = consumer(client, stream_name, "c2", store.ingest, idle=0)
    assert rescuer.run_once() == 3
    assert pending(client, stream_name) == 0
    assert db.count("records_order") == 3
    # a redelivered message writes nothing new
    push(client, stream_name, "customer_orders", order("P1"))
    assert rescuer.run_once() == 1
    assert db.count("raw_payloads") == 3 and db.count("records_order") == 3
