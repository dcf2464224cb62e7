"""Where hooks run and work: small on purpose, one adapter per technology."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ingestry.domain.conventions import HookSpec
from ingestry.domain.features import HookResult


class HookRunner(Protocol):
    """Runs one hook program on a prepared work_dir. Small on purpose: a runner that
    starts a Kubernetes Job (work_dir on a shared volume) is one new adapter."""

    def run(
        self, hook: HookSpec, work_dir: Path, env: Mapping[str, str], timeout: float
    ) -> HookResult: ...


@dataclass(frozen=True, slots=True)
class RunnerContext:
    """What a hook runner is built from: the config's directory (where hooks' relative
    paths resolve) and `hooks.options` from ingestry.yaml."""

    root: Path
    options: Mapping[str, Any] = field(default_factory=dict)


#: What an `ingestry.hook_runners` entry point names: context → runner (a class whose
#: constructor takes the context will do).
HookRunnerFactory = Callable[[RunnerContext], HookRunner]


class WorkSpace(Protocol):
    """Where hooks work: a fresh work_dir per run, the features it left, cleanup."""

    def prepare(self, base: Path, hook: str, record_json: bytes, raw: bytes | None) -> Path:
        """A new work_dir under `base` holding record.json, raw.bin (when given) and
        an empty features/."""
        ...

    def read_features(self, work_dir: Path) -> list[tuple[str, bytes]]:
        """(file name, bytes) of every `features/*.json`."""
        ...

    def remove(self, work_dir: Path) -> None: ...
