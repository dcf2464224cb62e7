"""The source registry's model: data sources, storage strategies, and the decision tree
that picks a strategy (seed 000)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ingestry.domain.harvest import PullSpec
from ingestry.domain.reading import Reading


class StorageStrategy(StrEnum):
    """`raw` keeps the exact bytes received; `simple` parses straight to records."""

    RAW = "raw"
    SIMPLE = "simple"


class SourceFormat(StrEnum):
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"
    GEOJSON = "geojson"
    PARQUET = "parquet"
    XLSX = "xlsx"


#: The longest JSON Lines line (or unframeable document) read into memory and parsed;
#: a longer one is quarantined with its bytes, streamed to the database, never held.
#: 16 MiB: what a document database allows one document, far beyond real-world rows.
DEFAULT_MAX_LINE_BYTES = 16 << 20
#: The longest payload kept at all: a database value holds about 1 GB (PostgreSQL's
#: bytea, SQLite's default blob limit), and PostgreSQL sends bytea as hex text, twice
#: as long, on read. A longer line fails its run (exit 1) naming the file and line.
MAX_PAYLOAD_BYTES = 256 << 20


@dataclass(frozen=True, slots=True)
class DataSource:
    """A registry entry: how one source's data is received and stored."""

    name: str
    strategy: StorageStrategy
    convention: str
    rationale: str
    format: SourceFormat
    id_paths: tuple[tuple[str, ...], ...]
    entity_type_path: tuple[str, ...] | None = None
    retention_days: int | None = None
    extractor: str | None = None
    files: tuple[str, ...] = ()
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    #: how its files are read and its cells spelled (dialect, encoding, nulls, …)
    reading: Reading = field(default_factory=Reading)
    #: an HTTP source (`pull:`, see docs/harvest.md); None for file sources
    pull: PullSpec | None = None
    #: cron expression: the worker runs the source's pull (or its `files:`) when due
    schedule: str | None = None

    @property
    def is_raw(self) -> bool:
        return self.strategy is StorageStrategy.RAW


@dataclass(frozen=True, slots=True)
class ClassifyAnswers:
    """Answers to the five questions of the decision tree; None means "not sure"."""

    refetchable: bool | None
    customer_provided: bool = False
    rate_limited: bool = False
    audit: bool = False
    unstable_schema: bool = False


@dataclass(frozen=True, slots=True)
class Classification:
    strategy: StorageStrategy
    rationale: str


CLASSIFY_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("refetchable", "Can you re-fetch this data at any time?"),
    ("customer_provided", "Is this customer-provided data?"),
    ("rate_limited", "Does the source have aggressive rate limits?"),
    ("audit", "Is there an audit/compliance requirement?"),
    ("unstable_schema", "Is the API schema unstable or undocumented?"),
)


def classify(answers: ClassifyAnswers) -> Classification:
    """Walk the decision tree. Any reason for raw wins; uncertainty defaults to raw."""
    reasons = []
    if answers.customer_provided:
        reasons.append("Customer-provided data, cannot re-fetch")
    if answers.rate_limited:
        reasons.append("Rate-limited source, might not be able to re-pull")
    if answers.audit:
        reasons.append("Audit/compliance requirement, need proof of original data")
    if answers.unstable_schema:
        reasons.append("Unstable or undocumented schema, raw survives schema changes")
    if answers.refetchable is True and not reasons:
        return Classification(
            StorageStrategy.SIMPLE, "Re-fetchable at any time, no raw layer needed"
        )
    if answers.refetchable is True:
        # Re-fetchable in principle, but another answer says the original bytes matter.
        return Classification(StorageStrategy.RAW, "; ".join(reasons))
    if not reasons:
        reasons.append("Cannot be re-fetched with certainty, keep the original bytes")
    return Classification(StorageStrategy.RAW, "; ".join(reasons))


def sources_table(sources: list[DataSource]) -> str:
    """The Data Sources markdown table (Source | Strategy | Rationale)."""
    lines = ["| Source | Strategy | Rationale |", "|--------|----------|-----------|"]
    for s in sorted(sources, key=lambda s: s.name):
        rationale = s.rationale.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {s.name} | {s.strategy.value.upper()} | {rationale} |")
    return "\n".join(lines) + "\n"


#: The marks around the section `sources docs --write` keeps up to date in a file.
SECTION_START = "<!-- ingestry:sources:start (written by `ingestry sources docs --write`) -->"
SECTION_END = "<!-- ingestry:sources:end -->"


def sources_section(sources: list[DataSource]) -> str:
    """The Data Sources section, between its marks."""
    return f"{SECTION_START}\n## Data Sources\n\n{sources_table(sources)}{SECTION_END}\n"


def with_sources_section(text: str, section: str) -> str:
    """`text` with its marked section replaced by `section` (appended, after a blank
    line, when the file has none); everything outside the marks is kept byte for byte,
    so writing twice changes nothing."""
    start = text.find(SECTION_START)
    end = text.find(SECTION_END, start + 1) if start >= 0 else -1
    if start >= 0 and end < 0:
        raise ValueError(
            f"the file has the mark {SECTION_START!r} but not {SECTION_END!r} after it: "
            "put the end mark back (or remove the start mark) and write again"
        )
    if start < 0:
        if not text:
            return section
        return text + ("\n" if text.endswith("\n") else "\n\n") + section
    after = end + len(SECTION_END)
    if text[after : after + 1] == "\n":
        after += 1
    return text[:start] + section + text[after:]
