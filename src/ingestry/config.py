"""Settings from `ingestry.yaml` plus environment overrides, validated and frozen.

Errors name the file, the key (and its line) and what is wrong. Relative paths in the
file (a SQLite database, source `files`) resolve against the file's directory, so a
config works from any working directory; relative paths from the environment resolve
against the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingestry.adapters.backends import backend_for, supported_urls
from ingestry.config_api import (
    ApiModel,
    ApiSettings,
    CacheModel,
    CacheSettings,
    JobSettings,
    JobsModel,
    LimitSettings,
    LimitsModel,
    api_settings,
    cache_settings,
    job_settings,
    limit_settings,
)
from ingestry.config_conventions import ColumnModel, ConventionModel, HookModel, resolve_conventions
from ingestry.config_pull import (
    AuthModel,
    CursorModel,
    PaginatorModel,
    PullModel,
    cron_problem,
    pull_spec,
)
from ingestry.config_reading import ReadingError, SourceReadingModel, source_reading
from ingestry.config_yaml import describe, key_lines, load_yaml, nearest_line
from ingestry.domain.backups import BackupSettings
from ingestry.domain.conventions import IDENTIFIER, Convention, split_path
from ingestry.domain.errors import ConfigError, UnknownConventionError, UnknownSourceError
from ingestry.domain.events import EventSettings
from ingestry.domain.features import DEFAULT_HOOK_RUNNER, HooksSettings
from ingestry.domain.sources import (
    DEFAULT_MAX_LINE_BYTES,
    MAX_PAYLOAD_BYTES,
    DataSource,
    SourceFormat,
    StorageStrategy,
)

#: The public names; the column, hook, convention and pull models and `pull_spec` /
#: `cron_problem` live in config_conventions.py and config_pull.py and stay importable here.
__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_DATABASE",
    "AuthModel",
    "BackupModel",
    "ColumnModel",
    "ConfigModel",
    "ConventionModel",
    "CursorModel",
    "EventsModel",
    "HookModel",
    "HooksModel",
    "PaginatorModel",
    "PullModel",
    "Settings",
    "SourceModel",
    "config_path",
    "cron_problem",
    "load_settings",
    "max_line_bytes",
    "parse_settings",
    "pull_spec",
]

DEFAULT_CONFIG = "ingestry.yaml"
DEFAULT_DATABASE = "sqlite:///data/ingestry.db"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceModel(SourceReadingModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: StorageStrategy
    convention: str
    rationale: str = Field(min_length=1)
    retention_days: int | None = Field(default=None, gt=0)
    format: SourceFormat = SourceFormat.JSONL
    id: str | list[str] = "id"
    entity_type: str | None = None
    extractor: str | None = None
    files: str | list[str] = Field(default_factory=list)
    max_line_bytes: int | None = Field(default=None, ge=1, le=MAX_PAYLOAD_BYTES)
    pull: PullModel | None = None
    schedule: str | None = Field(default=None, min_length=1)


class EventsModel(_Model):
    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=1.0, ge=0)
    max_backoff_seconds: float = Field(default=300.0, ge=0)
    lease_seconds: float | None = Field(default=None, gt=0)
    batch_size: int = Field(default=500, ge=1)


class HooksModel(_Model):
    runner: str = Field(default=DEFAULT_HOOK_RUNNER, min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)


class BackupModel(_Model):
    """`backup: {schedule: CRON, keep: N, out: DIR}`: scheduled backups by the worker."""

    schedule: str
    keep: int = Field(default=7, ge=1)
    out: str = "data/backups"


class ConfigModel(_Model):
    database: str = DEFAULT_DATABASE
    cache: str = "memory"
    conventions: dict[str, ConventionModel] = Field(default_factory=dict)
    sources: dict[str, SourceModel] = Field(default_factory=dict)
    events: EventsModel = Field(default_factory=EventsModel)
    hooks: HooksModel = Field(default_factory=HooksModel)

    api: ApiModel = Field(default_factory=ApiModel)
    jobs: JobsModel = Field(default_factory=JobsModel)
    backup: BackupModel | None = None
    cache_options: CacheModel = Field(default_factory=CacheModel)
    limits: LimitsModel = Field(default_factory=LimitsModel)


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


def load_settings(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read, validate and resolve a config file; raises ConfigError naming what is wrong."""
    env = os.environ if env is None else env
    file = config_path(path, env)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: config file not found "
            "(pass --config, set INGESTRY_CONFIG or run `ingestry init`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read config file: {exc}") from None
    return parse_settings(text, file, env)


def parse_settings(text: str, file: Path, env: Mapping[str, str]) -> Settings:
    data = load_yaml(text, file)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{file}: the top level must be a mapping of keys (database, conventions, sources)"
        )
    try:
        model = ConfigModel.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, file, text)) from None
    return _resolve(model, file.resolve(), env, text)


def _resolve(model: ConfigModel, file: Path, env: Mapping[str, str], text: str) -> Settings:
    lines = key_lines(text)

    def fail(loc: tuple[str, ...], message: str) -> ConfigError:
        line = nearest_line(lines, loc)
        where = f" (line {line})" if line else ""
        return ConfigError(f"{file}: {'.'.join(loc)}{where}: {message}")

    conventions = resolve_conventions(model.conventions, fail)

    sources: dict[str, DataSource] = {}
    default_max_line = max_line_bytes(env)
    for name, src in model.sources.items():
        loc = ("sources", name)
        if not IDENTIFIER.match(name):
            raise fail(loc, f"source name must match {IDENTIFIER.pattern}")
        if src.convention not in conventions:
            known = ", ".join(sorted(conventions)) or "none declared"
            raise fail(
                (*loc, "convention"), f"unknown convention '{src.convention}' (declared: {known})"
            )
        if src.retention_days is not None and src.strategy is StorageStrategy.SIMPLE:
            raise fail((*loc, "retention_days"), "only raw sources keep raw rows to expire")
        ids = [src.id] if isinstance(src.id, str) else src.id
        if not ids:
            raise fail((*loc, "id"), "needs at least one path")
        try:
            id_paths = tuple(split_path(p) for p in ids)
            entity = split_path(src.entity_type) if src.entity_type else None
        except ValueError as exc:
            raise fail(loc, str(exc)) from None
        files = (src.files,) if isinstance(src.files, str) else tuple(src.files)
        max_line = src.max_line_bytes or default_max_line
        fmt = SourceFormat.JSON if src.pull is not None else src.format
        try:
            reading = source_reading(src, fmt)
        except ReadingError as exc:
            raise fail((*loc, exc.key), str(exc)) from None
        pull = None
        if src.pull is not None:
            if "format" in src.model_fields_set and src.format is not SourceFormat.JSON:
                raise fail((*loc, "format"), "a pulled source's responses are json")
            try:
                pull = pull_spec(src.pull)
            except ValueError as exc:
                raise fail((*loc, "pull"), str(exc)) from None
            if pull.items is not None and reading.records_path is None:
                reading = replace(reading, records_path=pull.items)
        if src.schedule is not None:
            if src.pull is None and not files:
                message = "only a source with pull: or files: runs on a schedule"
                raise fail((*loc, "schedule"), message)
            if (problem := cron_problem(src.schedule)) is not None:
                raise fail((*loc, "schedule"), problem)
        sources[name] = DataSource(
            name=name,
            strategy=src.strategy,
            convention=src.convention,
            rationale=src.rationale,
            format=fmt,
            id_paths=id_paths,
            entity_type_path=entity,
            retention_days=src.retention_days,
            extractor=src.extractor,
            files=tuple(str(file.parent / f) for f in files),
            max_line_bytes=max_line,
            reading=reading,
            pull=pull,
            schedule=src.schedule,
        )

    database = env.get("INGESTRY_DATABASE_URL") or model.database
    base = Path.cwd() if env.get("INGESTRY_DATABASE_URL") else file.parent
    backend = backend_for(database)
    if backend is None:
        raise fail(("database",), f"unsupported database URL '{database}' (use {supported_urls()})")
    database = _relative_file(database, backend.file_prefix, base)
    mode = env.get("INGESTRY_ENV", "development")
    if mode not in ("development", "production"):
        raise ConfigError(f"INGESTRY_ENV must be 'development' or 'production', not '{mode}'")
    return Settings(
        path=file,
        database_url=database,
        cache_url=env.get("INGESTRY_CACHE_URL") or model.cache,
        conventions=conventions,
        sources=sources,
        env="production" if mode == "production" else "development",
        events=EventSettings(**model.events.model_dump()),
        hooks=HooksSettings(model.hooks.runner, dict(model.hooks.options)),
        api=api_settings(model.api, env),
        jobs=job_settings(model.jobs, env),
        backup=_backup_settings(model.backup, file),
        cache=cache_settings(model.cache_options, env),
        limits=limit_settings(model.limits, env),
    )


def _backup_settings(model: BackupModel | None, file: Path) -> BackupSettings | None:
    """The scheduled backups; `out` relative to the config file's directory."""
    if model is None:
        return None
    fields = model.schedule.split()
    if len(fields) != 5:
        raise ConfigError(
            f"{file}: backup.schedule: '{model.schedule}' is not a cron expression of five "
            'fields (minute hour day month weekday), e.g. "0 3 * * *"'
        )
    return BackupSettings(model.schedule, model.keep, file.parent / model.out)


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


def _relative_file(url: str, prefix: str | None, base: Path) -> str:
    """A file backend's relative path made absolute against `base` (the config's
    directory, or the working directory for a URL from the environment)."""
    if prefix is None:
        return url
    path = url.removeprefix(prefix)
    if path.startswith("/") or path == ":memory:":
        return url
    return f"{prefix}{(base / path).resolve()}"
