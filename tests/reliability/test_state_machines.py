"""Hypothesis state machines (issue 14's suite), on both backends' real databases: any
sequence of updates with right and stale versions (optimistic locking), and any
sequence of requests, completions, failures, renewals and crashes under Idempotency-Keys.
Sizes: INGESTRY_RELIABILITY_MACHINES runs of up to 12 steps each (CI: 15)."""

from __future__ import annotations

import uuid
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from ingestry import ConflictError, DepositionSource
from ingestry.domain.errors import IdempotencyInFlightError, IdempotencyKeyReusedError
from ingestry.services.idempotency import IdempotencyService
from ingestry.store import Store
from tests.reliability.support import env_count

META = {"created_at": "2026-11-01T10:00:00Z", "total_price": "10.00", "note": "n0"}
LEASE = 10.0


def machine_settings() -> settings:
    return settings(
        max_examples=env_count("INGESTRY_RELIABILITY_MACHINES", 15),
        stateful_step_count=12,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


class OptimisticLocking(RuleBasedStateMachine):
    store: ClassVar[Store]

    @initialize()
    def publish(self) -> None:
        record = self.store.publish_record(
            "order", DepositionSource(f"OL-{uuid.uuid4().hex[:12]}"), META
        )
        self.srn, self.version, self.note, self.versions = record.srn, 1, "n0", 1

    @rule(note=st.sampled_from(["n0", "n1", "n2", "n3"]), off=st.sampled_from([0, 0, -1, 1, 5]))
    def update(self, note: str, off: int) -> None:
        expected = self.version + off
        if off != 0 or expected < 1:
            with pytest.raises(ConflictError):
                self.store.update(self.srn, {**META, "note": note}, expected)
            return
        updated = self.store.update(self.srn, {**META, "note": note}, expected)
        if note != self.note:  # the same content is no new version
            self.version += 1
            self.versions += 1
            self.note = note
        assert updated.version == self.version

    @invariant()
    def stored_as_modelled(self) -> None:
        if not hasattr(self, "srn"):
            return
        current = self.store.get(self.srn)
        assert (current.version, current.metadata["note"]) == (self.version, self.note)
        assert len(self.store.history(self.srn)) == self.versions


class IdempotencyKeys(RuleBasedStateMachine):
    store: ClassVar[Store]

    @initialize()
    def begin(self) -> None:
        self.now = 1_800_000_000.0
        self.owner = uuid.uuid4().hex[:12]
        self.service = IdempotencyService(
            self.store.control.idempotency, clock=lambda: self.now, lease_seconds=LEASE
        )
        # key -> (request, "in_flight" | "done", response, last renewal)
        self.model: dict[str, tuple[bytes, str, bytes | None, float]] = {}

    keys = st.sampled_from(["a", "b", "c"])
    requests = st.sampled_from([b"r1", b"r2"])

    @rule(key=keys, request=requests)
    def start(self, key: str, request: bytes) -> None:
        known = self.model.get(key)
        if known is None:
            assert self.service.start(self.owner, key, request) is None
            self.model[key] = (request, "in_flight", None, self.now)
            return
        first, state, response, renewed = known
        if state == "in_flight" and first == request and self.now - renewed > LEASE:
            assert self.service.start(self.owner, key, request) is None  # a lapsed claim
            self.model[key] = (request, "in_flight", None, self.now)
        elif first != request:
            with pytest.raises(IdempotencyKeyReusedError):
                self.service.start(self.owner, key, request)
        elif state == "in_flight":
            with pytest.raises(IdempotencyInFlightError):
                self.service.start(self.owner, key, request)
        else:
            replay = self.service.start(self.owner, key, request)
            assert replay is not None and replay.body == response

    def _in_flight(self, key: str) -> bool:
        return key in self.model and self.model[key][1] == "in_flight"

    @rule(key=keys, status=st.sampled_from([200, 422]))
    def finish(self, key: str, status: int) -> None:
        if self._in_flight(key):
            body = f"{key}:{status}:{self.now}".encode()
            self.service.finish(self.owner, key, status, body)
            request, _, _, renewed = self.model[key]
            self.model[key] = (request, "done", body, renewed)

    @rule(key=keys)
    def fail_on_our_side(self, key: str) -> None:
        if self._in_flight(key):
            self.service.abandon(self.owner, key)
            del self.model[key]

    @rule(key=keys)
    def renew(self, key: str) -> None:
        if self._in_flight(key):
            self.service.renew(self.owner, key)
            request, state, response, _ = self.model[key]
            self.model[key] = (request, state, response, self.now)

    @rule(seconds=st.sampled_from([1.0, 4.0, 11.0]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds


def test_any_sequence_of_updates_keeps_optimistic_locking(store: Store) -> None:
    OptimisticLocking.store = store
    run_state_machine_as_test(OptimisticLocking, settings=machine_settings())


def test_any_sequence_of_idempotent_requests_behaves_as_modelled(store: Store) -> None:
    IdempotencyKeys.store = store
    run_state_machine_as_test(IdempotencyKeys, settings=machine_settings())
