"""Errors the core raises. Each one says what went wrong in words a user can act on.

Entry points map them to exit codes or HTTP statuses; nothing below the entry points
prints or exits.
"""

from __future__ import annotations


class IngestryError(Exception):
    """Base of every error ingestry raises on purpose."""


class ConfigError(IngestryError):
    """The config file is missing, unreadable or invalid (names file, key and reason)."""


def install_hint(extra: str) -> str:
    """The command that installs an optional extra: from a package index, and from a
    checkout of ingestry (where `pip install 'ingestry[x]'` finds no such package)."""
    return f"pip install 'ingestry[{extra}]' (from a checkout: pip install -e '.[{extra}]')"


class UnknownSourceError(IngestryError):
    """A data source name that is not in the registry."""

    def __init__(self, name: str, known: list[str]) -> None:
        hint = ", ".join(sorted(known)) or "none registered"
        super().__init__(f"unknown source '{name}' (registered: {hint})")
        self.name = name


class UnknownConventionError(IngestryError):
    """A convention name that the config does not declare."""


class InvalidSourceError(IngestryError):
    """A provenance object (`RecordSource`) that is not one of the known types."""


class ExtractionError(IngestryError):
    """A payload that the extractor cannot turn into a record; it goes to quarantine."""


class StrictModeError(IngestryError):
    """A bad row under `--strict`: the whole batch was rolled back."""


class InputError(IngestryError):
    """An input file that cannot be read (missing, a directory, not permitted)."""


class RecordNotFoundError(IngestryError):
    """No record with that srn."""


class RecordDeletedError(RecordNotFoundError):
    """The record's current version is a tombstone (soft-deleted; docs/deleting.md)."""


class InvalidCursorError(IngestryError):
    """A keyset cursor (`records list --after`, `?cursor=`) that is no srn of a record of
    the convention listed."""


class ConflictError(IngestryError):
    """An optimistic-lock conflict: the record moved on since the caller read it."""

    def __init__(self, srn: str, expected: int, current: int) -> None:
        super().__init__(
            f"record {srn} is at version {current}, not the expected version {expected}"
        )
        self.srn = srn
        self.expected = expected
        self.current = current


class SchemaError(IngestryError):
    """The database schema is not at the revision this version of ingestry needs."""


class StorageError(IngestryError):
    """A database failure translated at the adapter boundary."""


class ErasureBlockedError(IngestryError):
    """An active legal hold covers the data an erasure would remove."""


class StatementTimeoutError(StorageError):
    """A statement ran past the limit its caller set (docs/limits.md); nothing it was
    writing was kept. The message names the limit and the setting that raises it."""

    def __init__(self, seconds: float, setting: str) -> None:
        super().__init__(
            f"a database statement ran longer than {seconds:g}s and was cancelled "
            f"(limit: {setting}); narrow the request (filters, a smaller limit), run it "
            "as a job, or raise the setting"
        )
        self.seconds = seconds
        self.setting = setting


class PoolExhaustedError(StorageError):
    """Every database connection of this API process stayed busy past the wait limit."""

    def __init__(self, waited: float, size: int, retry_after: int) -> None:
        super().__init__(
            f"all {size} database connections of this API process stayed busy for "
            f"{waited:g}s (limits.pool_wait_seconds / INGESTRY_POOL_WAIT_SECONDS); "
            f"retry in {retry_after}s"
        )
        self.retry_after = retry_after


class HoldReleasedError(IngestryError):
    """A raw hold that was released already."""


class NotPermittedError(IngestryError):
    """A caller (API key) asked for something outside what it was granted."""


class JobNotFoundError(IngestryError):
    """No job with that id (or none the caller may see)."""


class InvalidJobError(IngestryError):
    """A job submission whose kind or parameters cannot be run."""


class PathOutsideDataRootError(InputError):
    """A server-side path that resolves outside the data root (`..`, symlinks)."""


class IdempotencyKeyReusedError(IngestryError):
    """An Idempotency-Key already used with a different request."""


class IdempotencyInFlightError(IngestryError):
    """A request with this Idempotency-Key is still being processed."""


class KeyNameTakenError(IngestryError):
    """`keys create` with the name of an active key: names pick keys out (`keys revoke
    NAME`), so two active keys never share one."""

    def __init__(self, name: str, prefix: str) -> None:
        super().__init__(
            f"an active API key is named '{name}' already (prefix {prefix}): revoke it "
            f"first (`ingestry keys revoke {prefix}`) or choose another name"
        )


class AmbiguousKeyError(IngestryError):
    """A name shared by several active keys (made before names were unique)."""

    def __init__(self, name: str, prefixes: list[str]) -> None:
        super().__init__(
            f"{len(prefixes)} active API keys are named '{name}' (prefixes "
            f"{', '.join(prefixes)}): revoke one by its prefix"
        )


class QueryError(IngestryError):
    """A record query that cannot run: an unreadable filter, a column that is not
    declared (or not filterable), a value that does not fit its column's type."""


class RunNotFoundError(IngestryError):
    """No run with that srn (`runs show`, `GET /v1/runs/{srn}`)."""


class HookNotFoundError(IngestryError):
    """`hooks rerun --hook H` names no hook of the record's convention."""
