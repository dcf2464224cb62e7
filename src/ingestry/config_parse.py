"""Parsing `ingestry.yaml`: the pydantic models of the file, then the checks and
resolution that make `Settings` of them.

Errors name the file, the key (and its line) and what is wrong. Relative paths in the
file (a SQLite database, source `files`) resolve against the file's directory, so a
config works from any working directory; relative paths from the environment resolve
against the working directory. Imported only when a config is parsed (not on a hit of
the validated-config cache, `config_cache.py`): it loads pydantic and YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingestry.adapters.backends import backend_for, supported_urls
from ingestry.config_api import (
    ApiModel,
    CacheModel,
    JobsModel,
    LimitsModel,
    api_settings,
    cache_settings,
    job_settings,
    limit_settings,
)
from ingestry.config_conventions import ConventionModel, resolve_conventions
from ingestry.config_pull import PullModel, cron_problem, pull_spec
from ingestry.config_reading import ReadingError, SourceReadingModel, source_reading
from ingestry.config_settings import DEFAULT_DATABASE, Settings, max_line_bytes
from ingestry.config_yaml import describe, key_lines, load_yaml, nearest_line
from ingestry.domain.backups import BackupSettings
from ingestry.domain.conventions import IDENTIFIER, split_path
from ingestry.domain.errors import ConfigError
from ingestry.domain.events import EventSettings
from ingestry.domain.features import DEFAULT_HOOK_RUNNER, HooksSettings
from ingestry.domain.sources import MAX_PAYLOAD_BYTES, DataSource, SourceFormat, StorageStrategy


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
        simple = src.strategy is StorageStrategy.SIMPLE
        if src.retention_days is not None and simple and src.pull is None:
            raise fail(
                (*loc, "retention_days"),
                "only raw sources (raw rows) and pulled sources (pages) keep rows to expire",
            )
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

    for name, found in sources.items():
        each = found.pull.for_each if found.pull is not None else None
        if each is None:
            continue
        at = ("sources", name, "pull", "for_each")
        parent = sources.get(each.source)
        if parent is None or parent.name == name:
            others = ", ".join(sorted(set(sources) - {name})) or "none"
            raise fail(at, f"'{each.source}' is not another source (sources: {others})")
        columns = [c.name for c in conventions[parent.convention].columns]
        if each.field not in columns:
            raise fail(
                at,
                f"'{each.field}' is not a column of {parent.convention}, {each.source}'s "
                f"convention (columns: {', '.join(columns)})",
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


def _relative_file(url: str, prefix: str | None, base: Path) -> str:
    """A file backend's relative path made absolute against `base` (the config's
    directory, or the working directory for a URL from the environment)."""
    if prefix is None:
        return url
    path = url.removeprefix(prefix)
    if path.startswith("/") or path == ":memory:":
        return url
    return f"{prefix}{(base / path).resolve()}"
