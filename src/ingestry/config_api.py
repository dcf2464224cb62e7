"""The `api:` and `jobs:` sections of `ingestry.yaml`, with INGESTRY_* overrides.

Kept apart from `config.py` so the capability adds its keys without reshaping the core
config; `config.py` only hooks them in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ingestry.domain.errors import ConfigError

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


@dataclass(frozen=True)
class ApiSettings:
    max_body_bytes: int = 16 << 20
    rate_limit: float = 100.0
    rate_burst: int = 200
    auth_cache_seconds: float = 5.0
    idempotency_lease_seconds: float = 20.0
    ui: bool = True


@dataclass(frozen=True)
class JobSettings:
    lease_seconds: float = 60.0
    max_attempts: int = 3


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
