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

    class Sequences(machine):  # type: ignore[valid-type,misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base, "headers": {"X-API-Key": token}}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=checks)

    run_state_machine_as_test(
        Sequences,
        settings=settings(
            max_examples=env_count("INGESTRY_FUZZ_STATEFUL_EXAMPLES", 30),
            stateful_step_count=8,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
