"""The resolved settings (`Settings` and its parts): plain frozen dataclasses.

Apart from the parser (`config_parse.py`, pydantic and YAML) so a command that finds
its settings in the validated-config cache (`config_cache.py`) never imports either:
every class here, and every domain value it holds, unpickles without them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ingestry.domain.backups import BackupSettings
from ingestry.domain.conventions import Convention
from ingestry.domain.errors import ConfigError, UnknownConventionError, UnknownSourceError
from ingestry.domain.events import EventSettings
from ingestry.domain.features import HooksSettings
from ingestry.domain.sources import DEFAULT_MAX_LINE_BYTES, MAX_PAYLOAD_BYTES, DataSource

DEFAULT_CONFIG = "ingestry.yaml"
DEFAULT_DATABASE = "sqlite:///data/ingestry.db"


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


@dataclass(frozen=True)
class LimitSettings:
    statement_timeout_seconds: float = 30.0
    job_statement_timeout_seconds: float = 3600.0
    pool_wait_seconds: float = 5.0


@dataclass(frozen=True)
class CacheSettings:
    ttl_seconds: float = 300.0
    max_entries: int = 10_000


@dataclass(frozen=True)
class Settings:
    """Everything ingestry needs to know, resolved; built once per process."""

    path: Path
    database_url: str
    cache_url: str
    conventions: Mapping[str, Convention]
    sources: Mapping[str, DataSource]
    env: Literal["development", "production"] = "development"
    events: EventSettings = field(default_factory=EventSettings)
    hooks: HooksSettings = field(default_factory=HooksSettings)

    api: ApiSettings = field(default_factory=ApiSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    backup: BackupSettings | None = None
    cache: CacheSettings = field(default_factory=CacheSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def source(self, name: str) -> DataSource:
        try:
            return self.sources[name]
        except KeyError:
            raise UnknownSourceError(name, list(self.sources)) from None

    def convention(self, name: str) -> Convention:
        try:
            return self.conventions[name]
        except KeyError:
            known = ", ".join(sorted(self.conventions)) or "none"
            raise UnknownConventionError(
                f"unknown convention '{name}' (declared: {known})"
            ) from None


def config_path(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    return Path(explicit or env.get("INGESTRY_CONFIG") or DEFAULT_CONFIG)


def max_line_bytes(env: Mapping[str, str]) -> int:
    """Every source's `max_line_bytes` unless it sets its own: INGESTRY_MAX_LINE_BYTES,
    else DEFAULT_MAX_LINE_BYTES."""
    raw = env.get("INGESTRY_MAX_LINE_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_LINE_BYTES
    if not raw.isdigit() or not 0 < int(raw) <= MAX_PAYLOAD_BYTES:
        raise ConfigError(
            f"INGESTRY_MAX_LINE_BYTES must be a whole number of bytes from 1 to "
            f"{MAX_PAYLOAD_BYTES}, not '{raw}'"
        )
    return int(raw)
