"""The outbox's intake on SQLite: changes after `outbox_cursor` become events
(`adapters/sql/intake.py` says why). Events carry their record's rowid (`record_id`,
migration 20261203_110000), the key of the events-of-a-record index, and go in many
rows to a statement.

A step, in the caller's transaction (a claim's `BEGIN IMMEDIATE`):
- the changes after the cursor, in `seq` order (a walk of the rowid);
- each record looked up by rowid for its srn: a change whose record is gone (erased)
  has no event; the newest version's event is dated by its record's `updated_at` (when
  it was written), an older version's, overtaken before it was taken in, by the intake;
- the events inserted in change order, the cursor moved to the last change read.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ingestry.adapters.sql.intake import FIRST_UNTAKEN, UNTAKEN, UNTAKEN_COUNT
from ingestry.adapters.sql.names import table_name
from ingestry.adapters.sqlite.multirow import insert_rows
from ingestry.domain.records import SRN_PREFIX, plain_text, spell_srn

_EVENTS_INTO = "INSERT INTO record_events (srn, convention, version, created_at, record_id)"
#: Changes taken in per step: a claim after a large ingest moves the backlog in steps
#: of this size.
INTAKE_BATCH = 5000
_CHUNK = 900  # rowids per lookup (SQLite's default limit is 999 parameters)

Found = dict[tuple[str, int], tuple[str, int, Any]]


def take_in(conn: sqlite3.Connection, now: str, limit: int = INTAKE_BATCH) -> int:
    """One step; returns how many changes it read (0: none after the cursor)."""
    changes = conn.execute(
        "SELECT c.seq, c.convention, c.record_id, c.version FROM record_changes c"
        f" WHERE {UNTAKEN} ORDER BY c.seq LIMIT ?",
        (limit,),
    ).fetchall()
    if not changes:
        return 0
    records = _records(conn, changes)
    events: list[tuple[str, str, int, Any, int]] = []
    for _, convention, record_id, version in changes:
        record = records.get((convention, record_id))
        if record is None:
            continue  # erased since: no event
        srn, current, updated_at = record
        at = updated_at if current == version else now
        events.append((srn, convention, version, at, record_id))
    if events:
        insert_rows(conn, _EVENTS_INTO, 5, {}, events)
    conn.execute(
        "INSERT INTO outbox_cursor (id, seq) VALUES (1, ?)"
        " ON CONFLICT (id) DO UPDATE SET seq = excluded.seq",
        (changes[-1][0],),
    )
    return len(changes)


def _records(conn: sqlite3.Connection, changes: list[Any]) -> Found:
    """(convention, rowid) → (srn, current version, updated_at) of each record."""
    wanted: dict[str, set[int]] = {}
    for _, convention, record_id, _ in changes:
        wanted.setdefault(convention, set()).add(record_id)
    found: Found = {}
    for convention, ids in wanted.items():
        if not _exists(conn, convention):
            continue
        ordered = sorted(ids)
        for i in range(0, len(ordered), _CHUNK):
            chunk = ordered[i : i + _CHUNK]
            rows = conn.execute(
                "SELECT id, source_type, upstream, source_id, version, updated_at"
                f' FROM "{table_name(convention)}" WHERE id IN ({",".join("?" * len(chunk))})',
                chunk,
            ).fetchall()
            # ids `quote` leaves alone (the usual case): spelled by joining, checked by
            # one C-level match for the chunk (`domain.records.change_srns`)
            plain = plain_text("".join([r[2] + r[3] for r in rows]))
            prefix = f"{SRN_PREFIX}{convention}:"
            for rowid, source_type, upstream, source_id, version, updated_at in rows:
                srn = (
                    f"{prefix}{source_type}:{upstream}:{source_id}"
                    if plain
                    else spell_srn(convention, source_type, upstream, source_id)
                )
                found[(convention, rowid)] = (srn, version, updated_at)
    return found


def _exists(conn: sqlite3.Connection, convention: str) -> bool:
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
        (table_name(convention),),
    ).fetchone()
    return found is not None


def untaken(conn: sqlite3.Connection) -> int:
    """How many changes wait after the cursor (pending events not yet taken in)."""
    return int(conn.execute(UNTAKEN_COUNT).fetchone()[0])


def oldest_untaken_at(conn: sqlite3.Connection) -> str | None:
    """When the first change after the cursor was written (its record's `updated_at`;
    None when there is none or its record is gone)."""
    first = conn.execute(FIRST_UNTAKEN).fetchone()
    if first is None or not _exists(conn, first[0]):
        return None
    found = conn.execute(
        f'SELECT updated_at FROM "{table_name(first[0])}" WHERE id = ?', (first[1],)
    ).fetchone()
    return None if found is None else str(found[0])
