"""The `api:` and `jobs:` config sections and their INGESTRY_* overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestry.config import parse_settings
from ingestry.domain.errors import ConfigError

FILE = Path("/nowhere/ingestry.yaml")


def test_defaults_file_values_and_env_overrides() -> None:
    assert parse_settings("", FILE, {}).api.rate_limit == 100.0
    text = "api: {max_body_bytes: 1000, rate_limit: 5, rate_burst: 7}\njobs: {lease_seconds: 9}\n"
    settings = parse_settings(text, FILE, {"INGESTRY_JOBS_MAX_ATTEMPTS": "5"})
    assert (settings.api.max_body_bytes, settings.api.rate_limit, settings.api.rate_burst) == (
        1000,
        5.0,
        7,
    )
    assert (settings.jobs.lease_seconds, settings.jobs.max_attempts) == (9.0, 5)
    env = {"INGESTRY_API_RATE_LIMIT": "0.5", "INGESTRY_API_AUTH_CACHE_SECONDS": "0"}
    overridden = parse_settings(text, FILE, env)
    assert overridden.api.rate_limit == 0.5 and overridden.api.auth_cache_seconds == 0


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("api: {rate_limit: 0}", {}, "api.rate_limit"),
        ("api: {nope: 1}", {}, "unknown key"),
        ("", {"INGESTRY_API_MAX_BODY_BYTES": "lots"}, "INGESTRY_API_MAX_BODY_BYTES"),
        ("", {"INGESTRY_JOBS_LEASE_SECONDS": "0"}, "greater than 0"),
    ],
)
def test_bad_values_are_named(text: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_settings(text, FILE, env)
