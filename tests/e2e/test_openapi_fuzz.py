"""Schemathesis over the served OpenAPI schema: generated requests for every operation
against a real server (SQLite), checking no server error (5xx) and responses that
conform to the schema.

Examples per operation: INGESTRY_FUZZ_EXAMPLES (200 in CI, issue 14; the nightly size
is in docs/reliability.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.cli import run
from tests.e2e.processes import child_env, server
from tests.integration.test_ingest import order

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("INGESTRY_FUZZ_EXAMPLES", "") or 200)


@pytest.fixture
def served(local_project: Path, tmp_path: Path) -> Iterator[tuple[httpx.Client, str]]:
    env = child_env({"INGESTRY_API_RATE_LIMIT": "100000", "INGESTRY_API_RATE_BURST": "100000"})
    made = run("keys", "create", "--name", "fuzz", "--admin", cwd=local_project, env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.decode().strip()
    with server(local_project, env, tmp_path / "server.log") as client:
        seeded = client.post(
            "/v1/sources/customer_orders/payloads", json=order("F1"), headers={"X-API-Key": token}
        )
        assert seeded.status_code == 200
        yield client, token


def no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """Any 5xx is a failure (with the body, which names the error and request id)."""
    if response.status_code >= 500:
        raise AssertionError(f"server error {response.status_code}: {response.text[:500]}")
    return None


def test_generated_requests_get_no_server_errors_and_conform(
    served: tuple[httpx.Client, str],
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
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(base_url=base, headers={"X-API-Key": token}, checks=checks)

        check()
