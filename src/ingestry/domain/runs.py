"""Runs (one ingest, replay or harvest each) and their counts over time.

A run is the unit the store records for every write: its srn is the records'
`harvest_run_srn`, its summary the contract's `--json` summary. `runs list` shows them;
`stats --every` sums their summaries per time bucket (by the run's start) and source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RunKind(StrEnum):
    """What a run did; its srn says (see `KIND_PREFIX`)."""

    INGEST = "ingest"
    REPLAY = "replay"
    HARVEST = "harvest"


class Every(StrEnum):
    """A stats bucket's width."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


#: The counters a bucket sums, in the contract's order (`stats --every --json`).
STAT_COUNTS = (
    "received",
    "raw_stored",
    "raw_duplicates",
    "records_created",
    "records_updated",
    "records_unchanged",
    "quarantined",
)


@dataclass(frozen=True, slots=True)
class Run:
    srn: str
    source: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    origins: list[str]
    summary: dict[str, Any] | None

    @property
    def kind(self) -> RunKind:
        return run_kind(self.srn)

    def as_dict(self) -> dict[str, Any]:
        return {
            "srn": self.srn,
            "kind": self.kind.value,
            "source": self.source,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "origins": self.origins,
            "summary": self.summary,
        }


@dataclass(frozen=True, slots=True)
class StatsBucket:
    """One bucket of one source: the counters of the runs that started in it."""

    bucket: datetime
    source: str
    counts: dict[str, int] = field(default_factory=dict)
    runs: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket.isoformat(),
            "source": self.source,
            **{name: self.counts.get(name, 0) for name in STAT_COUNTS},
            "runs": self.runs,
            "seconds": round(self.seconds, 3),
        }


#: The srn prefix of each kind's runs. File, stdin and API ingests are `harvest-run`s
#: (their records' `harvest_run_srn`); HTTP pulls (issue 18) get their own `pull-run`, so
#: the kind is told from the srn alone and `runs list --kind` filters exactly in SQL.
KIND_PREFIX = {
    RunKind.INGEST: "srn:ingestry:harvest-run:",
    RunKind.REPLAY: "srn:ingestry:replay-run:",
    RunKind.HARVEST: "srn:ingestry:pull-run:",
}


def run_kind(srn: str) -> RunKind:
    for kind, prefix in KIND_PREFIX.items():
        if srn.startswith(prefix):
            return kind
    return RunKind.INGEST  # a run of an older, unknown kind: it ingested
