"""Schemathesis stateful runs (issue 14's suite): sequences of calls that follow the
links Schemathesis infers between operations (a job submitted, then polled and its
result fetched; a payload posted, then its record read), against a real server. Every
response: no 5xx, the documented status, content type and schema.
INGESTRY_FUZZ_STATEFUL_EXAMPLES sequences (CI: 30)."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.errors import Flaky
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.test_openapi_fuzz import no_server_error, served  # noqa: F401  (a fixture)
from tests.reliability.support import env_count


def test_stateful_sequences_get_no_server_errors_and_conform(
    served: tuple[httpx.Client, str],  # noqa: F811
) -> None:
    client, token = served
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    base = str(client.base_url)
    checks = [
        no_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    machine = schema.as_state_machine()
    failures: list[Exception] = []
    ran = [0]

    class Sequences(machine):  # type: ignore[valid-type,misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base, "headers": {"X-API-Key": token}}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            try:
                case.validate_response(response, checks=checks)
            except Exception as exc:  # kept: a replay may not reproduce it (module doc)
                failures.append(exc)
                raise

        def teardown(self) -> None:
            ran[0] += 1
            super().teardown()

    wanted = env_count("INGESTRY_FUZZ_STATEFUL_EXAMPLES", 30)
    for _ in range(ROUNDS):
        try:
            run_state_machine_as_test(
                Sequences,
                settings=settings(
                    max_examples=max(wanted - ran[0], 1),
                    stateful_step_count=8,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                ),
            )
        except Flaky:
            # without a kept failure, the server's state moved under a replay: run more
            if failures:
                first = failures[0]
                raise AssertionError(f"a check failed (its replay differed): {first}") from first
        if ran[0] >= wanted:
            break
    assert ran[0] >= wanted, f"{ran[0]} of {wanted} sequences ran in {ROUNDS} rounds"


#: Runs of the state machine at most (each stops at its first `Flaky`).
ROUNDS = 10
