"""Bug 7 of issue 14: an Idempotency-Key claim is a lease. A claim its holder keeps
renewing is never taken over; one left by a crashed server is taken over by the next
retry within one lease (was: 409 for 10 minutes), and the window is configurable."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

import ingestry
from ingestry.domain.errors import IdempotencyInFlightError
from ingestry.services.idempotency import IdempotencyService, fingerprint
from tests.apiclient import api_client, auth, create_key
from tests.backends import Database
from tests.integration.test_ingest import order

T0 = 1_800_000_000.0


def test_a_renewed_claim_is_kept_and_a_lapsed_one_taken_over(config_path: Path) -> None:
    clock = [T0]
    with ingestry.open(config_path) as store:
        service = IdempotencyService(
            store.control.idempotency, clock=lambda: clock[0], lease_seconds=10
        )
        assert service.start("o", "k", b"req") is None
        for _ in range(5):  # the holder renews while its request runs, 40 s in all
            clock[0] += 8
            service.renew("o", "k")
            with pytest.raises(IdempotencyInFlightError):
                service.start("o", "k", b"req")
        clock[0] += 11  # the holder died: no renewal for longer than the lease
        assert service.start("o", "k", b"req") is None, "the lapsed claim was not taken over"


def test_a_retry_after_a_crashed_claim_runs_within_the_lease(
    config_path: Path, db: Database
) -> None:
    token = create_key(config_path, "orders", ["customer_orders"])
    body = orjson.dumps(order("LEASE-1"))
    path = "/v1/sources/customer_orders/payloads"
    env = {"INGESTRY_API_IDEMPOTENCY_LEASE_SECONDS": "1"}
    with api_client(config_path, env) as client, ingestry.open(config_path) as store:
        key = store.api_keys().authenticate(token)
        assert key is not None
        # the claim a server made before it was killed mid-request; made once the new
        # server is up (a slow start under load outlasted the 1 s lease: no 409 to see)
        crashed = IdempotencyService(store.control.idempotency)
        claim = fingerprint("POST", path, b"application/json" + body)
        assert crashed.start(key.prefix, "retry-me", claim) is None
        headers = auth(token, **{"Idempotency-Key": "retry-me", "content-type": "application/json"})
        early = client.post(path, content=body, headers=headers)
        assert early.status_code == 409, early.text
        started = time.monotonic()
        while (answer := client.post(path, content=body, headers=headers)).status_code == 409:
            assert time.monotonic() - started < 10, "the crashed claim was never taken over"
            time.sleep(0.2)
        assert answer.status_code == 200, answer.text
        replay = client.post(path, content=body, headers=headers)
        assert replay.headers.get("idempotent-replayed") == "true"
        assert replay.content == answer.content
    assert db.count("records_order") == 1
