"""Extractor upgrades: which sources hold records made by another extractor version.

A source's extractor version is a fingerprint of everything that shapes its output
(format, id and entity paths, the convention's columns, a Python extractor's version),
so changing the convention or bumping an extractor changes it. Records remember the
version that made them; those made by another one are stale until a replay (raw
sources) or a re-ingest (simple sources) re-derives them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ingestry.domain.errors import ConfigError
from ingestry.domain.sources import DataSource
from ingestry.extract.compiler import Extractor
from ingestry.services.ports import Storage


@dataclass(slots=True)
class ExtractorStatus:
    source: str
    strategy: str
    convention: str
    current_version: str
    records: int = 0
    stale: int = 0
    versions: dict[str, int] = field(default_factory=dict)  # extractor version → records
    fix: str = ""
    error: str = ""  # why the source's extractor cannot be loaded (its commands fail)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def extractor_status(
    storage: Storage,
    sources: Sequence[DataSource],
    extractor_for: Callable[[DataSource], Extractor],
) -> list[ExtractorStatus]:
    ops = storage.raw_operations()
    out: list[ExtractorStatus] = []
    for source in sorted(sources, key=lambda s: s.name):
        try:
            extractor = extractor_for(source)
        except ConfigError as exc:  # only this source's extractor: report it, go on
            out.append(
                ExtractorStatus(
                    source.name, source.strategy.value, source.convention, "", error=str(exc)
                )
            )
            continue
        status = ExtractorStatus(
            source.name, source.strategy.value, source.convention, extractor.version
        )
        status.versions = ops.extractor_versions(extractor.convention, source.name)
        status.records = sum(status.versions.values())
        status.stale = status.records - status.versions.get(extractor.version, 0)
        if status.stale:
            status.fix = (
                f"ingestry replay {source.name}"
                if source.is_raw
                else f"ingestry ingest {source.name} FILE… (a simple source keeps no raw rows)"
            )
        out.append(status)
    return out
