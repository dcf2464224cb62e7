"""Hooks' outcomes: features stored against a record version, and hook runs.

A hook writes `features/<name>.json` in its work_dir; each file is one feature named
`<name>` whose value is the file's JSON document. Parsing and validating those files
is pure and lives here; reading them is an adapter's job. The JSON parser is passed
in (the service hands it `extract.jsonio.loads`), so the domain needs only the
standard library.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

FEATURE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_FEATURE_BYTES = 1 << 20
MAX_FEATURES = 100

HOOK_SUCCEEDED = "succeeded"
HOOK_FAILED = "failed"


class MalformedFeaturesError(ValueError):
    """A hook's features/ does not hold valid features (the message says which file)."""


@dataclass(frozen=True, slots=True)
class Feature:
    """A value a hook produced for one version of a record."""

    name: str
    value: Any
    record_version: int
    hook: str
    produced_at: datetime

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["produced_at"] = self.produced_at.isoformat()
        return out


@dataclass(frozen=True, slots=True)
class HookResult:
    """What running one hook gave: exit code (None when it never ran or was killed),
    whether it timed out, why it could not start, the tails of its output."""

    exit_code: int | None
    duration_seconds: float
    stdout_tail: str = ""
    stderr_tail: str = ""
    timed_out: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and self.error is None

    def failure(self, timeout: float) -> str | None:
        """Why the run failed, in words; None when it succeeded."""
        if self.error is not None:
            return self.error
        if self.timed_out:
            return f"timed out after {timeout:g} s"
        if self.exit_code != 0:
            return f"exited with status {self.exit_code}"
        return None


#: The runner hooks use unless `hooks: {runner: …}` names another.
DEFAULT_HOOK_RUNNER = "subprocess"


@dataclass(frozen=True, slots=True)
class HooksSettings:
    """`hooks:` in ingestry.yaml: which runner runs every convention's hooks (built in:
    `subprocess`; others registered under the entry point group
    `ingestry.hook_runners`) and the options handed to it."""

    runner: str = DEFAULT_HOOK_RUNNER
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HookOutcome:
    """What one hook run just did (`hooks rerun` reports one per hook)."""

    srn: str
    version: int
    hook: str
    status: str
    exit_code: int | None
    reason: str | None
    features: int
    started_at: datetime
    duration_seconds: float

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        return out


@dataclass(frozen=True, slots=True)
class HookRun:
    """One run of one hook on one record version, as recorded."""

    id: int
    event_id: int | None
    srn: str
    version: int
    convention: str
    hook: str
    status: str
    exit_code: int | None
    reason: str | None
    stdout_tail: str | None
    stderr_tail: str | None
    features: int
    started_at: datetime
    duration_seconds: float

    @property
    def failed(self) -> bool:
        return self.status == HOOK_FAILED

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["started_at"] = self.started_at.isoformat()
        return out


def parse_features(
    files: list[tuple[str, bytes]], loads: Callable[[bytes], Any]
) -> list[tuple[str, Any]]:
    """(file name, bytes) of `features/*.json` → (feature name, value), sorted by name;
    `loads` parses one file and raises ValueError on bad JSON.

    All or nothing: one bad file makes the whole set malformed."""
    if len(files) > MAX_FEATURES:
        raise MalformedFeaturesError(f"{len(files)} feature files, at most {MAX_FEATURES}")
    out: list[tuple[str, Any]] = []
    for file_name, data in sorted(files):
        name = file_name.removesuffix(".json")
        if not FEATURE_NAME.match(name):
            raise MalformedFeaturesError(
                f"{file_name}: feature name must match {FEATURE_NAME.pattern}"
            )
        if len(data) > MAX_FEATURE_BYTES:
            raise MalformedFeaturesError(
                f"{file_name}: {len(data)} bytes, at most {MAX_FEATURE_BYTES}"
            )
        try:
            value = loads(data)
        except ValueError as exc:  # JSONError is one
            raise MalformedFeaturesError(f"{file_name}: invalid JSON: {exc}") from None
        out.append((name, value))
    return out
