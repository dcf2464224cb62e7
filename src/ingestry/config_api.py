"""The `api:` and `jobs:` sections of `ingestry.yaml`, with INGESTRY_* overrides.

Kept apart from `config.py` so the capability adds its keys without reshaping the core
config; `config.py` only hooks them in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ingestry.config_settings import ApiSettings, CacheSettings, JobSettings, LimitSettings
from ingestry.domain.errors import ConfigError

__all__ = [
    "ApiModel",
    "ApiSettings",
    "CacheModel",
    "CacheSettings",
    "JobSettings",
    "JobsModel",
    "LimitSettings",
    "LimitsModel",
    "api_settings",
    "cache_settings",
    "job_settings",
    "limit_settings",
]

T = TypeVar("T", int, float)


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_body_bytes: int = Field(default=16 << 20, gt=0)
    rate_limit: float = Field(default=100.0, gt=0)  # requests per second, per key
    rate_burst: int = Field(default=200, ge=1)
    auth_cache_seconds: float = Field(default=5.0, ge=0)  # how late a revocation may bite
    # how soon a retry takes over an Idempotency-Key claim its crashed holder left
    idempotency_lease_seconds: float = Field(default=20.0, gt=0)
    ui: bool = True  # serve the /ui dashboard (docs/dashboard.md)


class JobsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    lease_seconds: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)


def _env(
    env: Mapping[str, str], name: str, kind: Callable[[str], T], default: T, *, zero: bool = False
) -> T:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not '{raw}'") from None
    if value < 0 or (value == 0 and not zero):
        raise ConfigError(f"{name} must be greater than 0, not '{raw}'")
    return value


def api_settings(model: ApiModel, env: Mapping[str, str]) -> ApiSettings:
    return ApiSettings(
        max_body_bytes=_env(env, "INGESTRY_API_MAX_BODY_BYTES", int, model.max_body_bytes),
        rate_limit=_env(env, "INGESTRY_API_RATE_LIMIT", float, model.rate_limit),
        rate_burst=_env(env, "INGESTRY_API_RATE_BURST", int, model.rate_burst),
        auth_cache_seconds=_env(
            env, "INGESTRY_API_AUTH_CACHE_SECONDS", float, model.auth_cache_seconds, zero=True
        ),
        idempotency_lease_seconds=_env(
            env,
            "INGESTRY_API_IDEMPOTENCY_LEASE_SECONDS",
            float,
            model.idempotency_lease_seconds,
        ),
        ui=_flag(env, "INGESTRY_API_UI", model.ui),
    )


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false (1/0), not '{raw}'")


def job_settings(model: JobsModel, env: Mapping[str, str]) -> JobSettings:
    return JobSettings(
        lease_seconds=_env(env, "INGESTRY_JOBS_LEASE_SECONDS", float, model.lease_seconds),
        max_attempts=_env(env, "INGESTRY_JOBS_MAX_ATTEMPTS", int, model.max_attempts),
    )


class LimitsModel(BaseModel):
    """`limits:` (docs/limits.md): seconds, 0 = no limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    statement_timeout_seconds: float = Field(default=30.0, ge=0)  # per API request
    job_statement_timeout_seconds: float = Field(default=3600.0, ge=0)  # per job / CLI
    pool_wait_seconds: float = Field(default=5.0, ge=0)  # then 503 + Retry-After


def limit_settings(model: LimitsModel, env: Mapping[str, str]) -> LimitSettings:
    return LimitSettings(
        statement_timeout_seconds=_env(
            env, "INGESTRY_STATEMENT_TIMEOUT", float, model.statement_timeout_seconds, zero=True
        ),
        job_statement_timeout_seconds=_env(
            env,
            "INGESTRY_JOB_STATEMENT_TIMEOUT",
            float,
            model.job_statement_timeout_seconds,
            zero=True,
        ),
        pool_wait_seconds=_env(
            env, "INGESTRY_POOL_WAIT_SECONDS", float, model.pool_wait_seconds, zero=True
        ),
    )


class CacheModel(BaseModel):
    """`cache_options:` beside `cache:` (the URL stays a string, as in the Contract)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ttl_seconds: float = Field(default=300.0, gt=0)
    max_entries: int = Field(default=10_000, ge=1)  # the in-process LRU only


def cache_settings(model: CacheModel, env: Mapping[str, str]) -> CacheSettings:
    return CacheSettings(
        ttl_seconds=_env(env, "INGESTRY_CACHE_TTL_SECONDS", float, model.ttl_seconds),
        max_entries=_env(env, "INGESTRY_CACHE_MAX_ENTRIES", int, model.max_entries),
    )
