"""Settings from `ingestry.yaml` plus environment overrides, validated and frozen.

`load_settings` is the one entry: it reads the file, returns the validated-config
cache's entry when the file, the overrides and ingestry are unchanged
(`config_cache.py`), and otherwise parses it (`config_parse.py`: YAML, pydantic, the
checks; errors name the file, the key and its line) and caches the result. The parser's
models are importable from here as before, on first use (PEP 562), so a command that
hits the cache imports neither pydantic nor YAML.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestry import config_cache
from ingestry.config_settings import (
    DEFAULT_CONFIG,
    DEFAULT_DATABASE,
    Settings,
    config_path,
    max_line_bytes,
)
from ingestry.domain.errors import ConfigError

if TYPE_CHECKING:
    from ingestry.config_conventions import ColumnModel, ConventionModel, HookModel
    from ingestry.config_parse import (
        BackupModel,
        ConfigModel,
        EventsModel,
        HooksModel,
        SourceModel,
    )
    from ingestry.config_pull import (
        AuthModel,
        CursorModel,
        PaginatorModel,
        PullModel,
        cron_problem,
        pull_spec,
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

#: Names of the parser's modules, imported when first asked for.
_LAZY = {
    "AuthModel": "ingestry.config_pull",
    "CursorModel": "ingestry.config_pull",
    "PaginatorModel": "ingestry.config_pull",
    "PullModel": "ingestry.config_pull",
    "cron_problem": "ingestry.config_pull",
    "pull_spec": "ingestry.config_pull",
    "ColumnModel": "ingestry.config_conventions",
    "ConventionModel": "ingestry.config_conventions",
    "HookModel": "ingestry.config_conventions",
    "BackupModel": "ingestry.config_parse",
    "ConfigModel": "ingestry.config_parse",
    "EventsModel": "ingestry.config_parse",
    "HooksModel": "ingestry.config_parse",
    "SourceModel": "ingestry.config_parse",
}


def __getattr__(name: str) -> Any:
    """A parser name (a model, `pull_spec`, `cron_problem`) imported on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ingestry.config' has no attribute {name!r}")
    value = getattr(__import__(module, fromlist=[name]), name)
    globals()[name] = value
    return value


def load_settings(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read, validate and resolve a config file; raises ConfigError naming what is wrong.
    A file already validated with the same overrides comes from the cache, unparsed."""
    env = os.environ if env is None else env
    file = config_path(path, env)
    try:
        data = file.read_bytes()
        text = data.decode("utf-8")
        if "\r" in text:  # as read_text does (universal newlines)
            text = text.replace("\r\n", "\n").replace("\r", "\n")
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: config file not found "
            "(pass --config, set INGESTRY_CONFIG or run `ingestry init`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read config file: {exc}") from None
    if not config_cache.enabled(env):
        return parse_settings(text, file, env)
    resolved = file.resolve()
    key = config_cache.cache_key(resolved, data, env)
    where = config_cache.cache_file(resolved, key)
    cached = config_cache.read(where, key)
    if cached is not None:
        return cached
    settings = parse_settings(text, file, env)
    config_cache.write(where, key, settings)
    return settings


def parse_settings(text: str, file: Path, env: Mapping[str, str]) -> Settings:
    """Parse and validate the text of a config file (never cached: callers check an
    edit with it before writing); raises ConfigError naming what is wrong."""
    from ingestry.config_parse import parse_settings as parse

    return parse(text, file, env)
