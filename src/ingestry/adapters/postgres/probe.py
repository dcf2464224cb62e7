"""Record key probes: send a batch's keys first, and full rows only where they changed.

A re-ingest (the same file again, overlapping exports, a retried upload) is mostly
unchanged records. COPYing every metadata document to the server only to find it
already stored costs most of such a batch. A probe COPYs the narrow keys instead
(identity and content hash, ~80 bytes a row), asks which rows are new or changed, and
the full write then carries only those. (Raw rows always go keys first: see `raw`.)

On a first ingest the probe is pure overhead, so it is adaptive (see `Adaptive`), and
a run of new records skips staging altogether. Whatever the mode, the statements that
write keep their own conflict checks, so a guess that is wrong or stale by the time
the write runs (another writer was faster) changes how much work is done, never the
result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ingestry.adapters.postgres.staging import Stage
from ingestry.adapters.postgres.text import escape_text
from ingestry.adapters.sql.conventions import table_name
from ingestry.domain.conventions import Convention
from ingestry.services.ports import RecordRow

RECORD_PROBE = Stage(
    "ingestry_probe_records",
    (
        ("n", "int4"),
        ("source_type", 'text COLLATE "C"'),
        ("upstream", 'text COLLATE "C"'),
        ("source_id", 'text COLLATE "C"'),
        ("content_hash", "bytea"),
    ),
)


def changed_records(convention: Convention) -> str:
    """Rows whose record does not exist or holds other content."""
    return (
        f'SELECT p.n FROM ingestry_probe_records p LEFT JOIN "{table_name(convention.name)}" t'
        " ON t.source_type = p.source_type AND t.upstream = p.upstream"
        " AND t.source_id = p.source_id"
        " WHERE t.id IS NULL OR t.content_hash <> p.content_hash"
    )


def record_keys(rows: Sequence[RecordRow]) -> list[tuple[Any, ...]]:
    return [(n, r[0], escape_text(r[9]), escape_text(r[1]), r[5]) for n, r in enumerate(rows)]


def indexes_of_keys(rows: Sequence[RecordRow], hits: list[int]) -> list[int]:
    """The positions of every row of every identity that has a hit, in batch order: a
    later row equal to the stored content still counts when an earlier one in the batch
    changed it."""
    wanted = {(rows[n][0], rows[n][9], rows[n][1]) for n in hits}
    return [n for n, r in enumerate(rows) if (r[0], r[9], r[1]) in wanted]


class Adaptive:
    """How to write the next batch of a kind, judged by the last one:

    - "direct" after a batch of only new records: COPY straight into the table
      (guarded by a savepoint: a key that exists after all sends the batch down the
      staged path);
    - "probe" after a batch of mostly unchanged records: keys first (see above);
    - "stage" otherwise, and for the first batch: the general staged upsert.
    """

    def __init__(self) -> None:
        self._mode: dict[str, str] = {}

    def mode(self, kind: str) -> str:
        return self._mode.get(kind, "stage")

    def observe(self, kind: str, total: int, created: int, unchanged: int) -> None:
        if not total:
            return
        if created == total:
            self._mode[kind] = "direct"
        elif unchanged * 2 > total:
            self._mode[kind] = "probe"
        else:
            self._mode[kind] = "stage"
