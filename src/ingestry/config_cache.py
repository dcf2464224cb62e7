"""The validated-config cache: a config file's resolved `Settings`, kept beside the
project's data (`data/.config-cache/`, one small file per key, the newest 8 kept) so
the next command skips YAML and pydantic.

Parsing and validating `ingestry.yaml` (importing pydantic, building its models,
parsing YAML) was about a third of a 10-line ingest (bench/README.md, "Start-up").
The key is a sha256 of everything the result depends on: the file's bytes and resolved
path, the environment overrides the parser reads (`OVERRIDES`; the working directory
too when `INGESTRY_DATABASE_URL` is set, as a relative one resolves against it),
the size and mtime of ingestry's modules that parse and hold settings (its version
is in `__init__.py`, one of them),
the Python version, and whether croniter (which checks `schedule:`) is installed. Any
change is a miss. Only a config that parsed is written, so errors are reported exactly
as before, by the parser, every time. An entry that does not read back (unreadable,
truncated, another key, another layout) is ignored and rewritten. `INGESTRY_CONFIG_CACHE=off`
turns it off. Unpickling takes only ingestry's settings and domain classes and `pathlib`
paths: a tampered file cannot name anything else.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import sys
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path

from ingestry.config_settings import Settings

#: The file's first bytes; bump the number when the layout of the file changes.
MAGIC = b"ingestry-config-cache 1\n"
NAME = ".config-cache"
#: Entries kept: one per combination of overrides in use (the CLI, the API, a test run).
KEEP = 8
#: The environment variables the parser reads (`tests/integration/test_config_cache.py`
#: checks that the parser's modules name no other): each one's value is in the key.
OVERRIDES = (
    "INGESTRY_API_AUTH_CACHE_SECONDS",
    "INGESTRY_API_IDEMPOTENCY_LEASE_SECONDS",
    "INGESTRY_API_MAX_BODY_BYTES",
    "INGESTRY_API_RATE_BURST",
    "INGESTRY_API_RATE_LIMIT",
    "INGESTRY_API_UI",
    "INGESTRY_CACHE_MAX_ENTRIES",
    "INGESTRY_CACHE_TTL_SECONDS",
    "INGESTRY_CACHE_URL",
    "INGESTRY_DATABASE_URL",
    "INGESTRY_ENV",
    "INGESTRY_JOBS_LEASE_SECONDS",
    "INGESTRY_JOBS_MAX_ATTEMPTS",
    "INGESTRY_JOB_STATEMENT_TIMEOUT",
    "INGESTRY_MAX_LINE_BYTES",
    "INGESTRY_POOL_WAIT_SECONDS",
    "INGESTRY_STATEMENT_TIMEOUT",
)
#: Modules (besides ingestry's own) whose classes a cached Settings may hold.
_ALLOWED_MODULES = frozenset({"pathlib"})
_PACKAGE = Path(__file__).parent


def enabled(env: Mapping[str, str]) -> bool:
    return env.get("INGESTRY_CONFIG_CACHE", "").strip().lower() not in {"0", "off", "false", "no"}


def cache_file(config: Path, key: bytes) -> Path:
    """Where the entry for `key` of the config file at `config` (resolved) lives."""
    return config.parent / "data" / NAME / key.hex()[:32]


def cache_key(config: Path, data: bytes, env: Mapping[str, str]) -> bytes:
    """The sha256 of the file's bytes and of everything else its Settings depend on."""
    overrides = [env.get(name) for name in OVERRIDES]
    cwd = str(Path.cwd()) if env.get("INGESTRY_DATABASE_URL") else ""
    parts = (
        sys.version,
        str(config),
        overrides,
        cwd,
        _code_stamp(),
        find_spec("croniter") is not None,
    )
    digest = hashlib.sha256(repr(parts).encode())
    digest.update(data)
    return digest.digest()


def _code_stamp() -> list[tuple[str, int, int]]:
    """Name, mtime and size of the modules that parse and hold settings, so an upgrade
    or an edit of ingestry (a changed check, a new field) is a miss."""
    stamp = []
    for folder in (_PACKAGE, _PACKAGE / "domain"):
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.endswith(".py"):
                    info = entry.stat()
                    stamp.append((entry.path, info.st_mtime_ns, info.st_size))
    return sorted(stamp)


class _Unpickler(pickle.Unpickler):
    """Only ingestry's classes and paths: no other global can be named by the file."""

    def find_class(self, module: str, name: str) -> object:
        if module.startswith("ingestry.") or module in _ALLOWED_MODULES:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in the config cache")


def read(file: Path, key: bytes) -> Settings | None:
    """The cached Settings under `key`, or None (missing, another key, unreadable)."""
    try:
        blob = file.read_bytes()
    except OSError:
        return None
    head = MAGIC + key
    if not blob.startswith(head):
        return None
    try:
        value = _Unpickler(io.BytesIO(blob[len(head) :])).load()
    except Exception:  # any damage is a miss: the parser rebuilds it
        return None
    return value if isinstance(value, Settings) else None


def write(file: Path, key: bytes, settings: Settings) -> None:
    """Keep `settings` under `key`, replacing the file atomically; a cache that cannot be
    written (read-only project, full disk) is skipped: it only saves time."""
    tmp = file.with_name(f"{file.name}.{os.getpid()}.tmp")
    try:
        blob = MAGIC + key + pickle.dumps(settings, protocol=pickle.HIGHEST_PROTOCOL)
        file.parent.mkdir(parents=True, exist_ok=True)
        ignore = file.parent / ".gitignore"  # a cache: never shows in the user's git status
        if not ignore.exists():
            ignore.write_text("# written by ingestry: a cache of the validated config\n*\n")
        tmp.write_bytes(blob)
        tmp.replace(file)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        return
    _prune(file.parent)


def _prune(folder: Path) -> None:
    """Keep the KEEP newest entries (a stale one is only never read again)."""
    with contextlib.suppress(OSError):
        entries = sorted(
            (e.stat().st_mtime_ns, e.path)
            for e in os.scandir(folder)
            if e.is_file() and not e.name.startswith(".")
        )
        for _, path in entries[:-KEEP]:
            Path(path).unlink(missing_ok=True)
