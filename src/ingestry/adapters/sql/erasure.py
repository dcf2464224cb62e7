"""Erasure SQL shared by SQLite and PostgreSQL (placeholders `?`, turned into `%s` for
psycopg): find what the record holds, delete it table by table, write the audit.

The caller runs it inside one transaction on one connection (DB-API `execute`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from ingestry.adapters.sql.intake import UNTAKEN
from ingestry.adapters.sql.names import table_name
from ingestry.adapters.sql.spans import covers, drop_orphans
from ingestry.domain.conventions import Convention
from ingestry.domain.erasure import AuditDraft, ErasureAudit, ErasureCounts, srn_digest
from ingestry.domain.records import parse_srn

#: How many receipts (arrivals) a raw id has, and its receipt rows that hold no payload
#: any more (parameter: the id, three times; a receipt row may hold a span).
_COUNT = f"SELECT count(*) FROM raw_receipts r WHERE {covers('r', '?')}"
_ORPHANS = drop_orphans("?")


class Dialect:
    """How one backend spells a parameter and a JSON parameter."""

    def __init__(self, param: str, json_param: str, *, events_by_record: bool = False) -> None:
        self.param = param
        self.json_param = json_param
        #: SQLite keys events by their record's rowid (migration 20261203_110000)
        self.events_by_record = events_by_record

    def sql(self, text: str) -> str:
        return text.replace("?j", self.json_param).replace("?", self.param)


SQLITE = Dialect("?", "?", events_by_record=True)
POSTGRES = Dialect("%s", "%s::jsonb")

AUDIT_COLUMNS = (
    "id, at, actor, reason, convention, data_source, srn_sha256, content_hashes, "
    "raw_sha256s, counts"
)


def _hex(value: Any) -> str | None:
    return bytes(value).hex() if value is not None else None


def erase(
    conn: Any,
    dialect: Dialect,
    convention: Convention,
    srn: str,
    raw_sources: frozenset[str],
    audit: AuditDraft,
) -> ErasureCounts | None:
    """See `ErasureStorage.erase_record`."""
    q = dialect.sql
    _, source_type, upstream, source_id = parse_srn(srn)
    table = table_name(convention.name)
    identity = "source_type = ? AND upstream = ? AND source_id = ?"
    key = (source_type, upstream, source_id)
    current = conn.execute(
        q(f'SELECT data_source, content_hash FROM "{table}" WHERE {identity}'), key
    ).fetchall()
    if not current and not audit.harvest_pages:
        return None  # pages held it with no record left (erased before pages were): audited
    history = conn.execute(
        q("SELECT data_source, content_hash FROM record_versions WHERE srn = ?"), (srn,)
    ).fetchall()
    rows = [*history, *current]
    swept = {upstream} if audit.harvest_pages else set()
    data_sources = sorted({r[0] for r in rows if r[0] is not None} | swept)
    hashes = tuple(h for h in (_hex(r[1]) for r in rows) if h is not None)
    raw_ids: list[int] = []
    raw_hashes: list[str] = []
    for source in (s for s in data_sources if s in raw_sources):
        for raw_id, sha in conn.execute(
            q("SELECT id, sha256 FROM raw_payloads WHERE source = ? AND source_id = ?"),
            (source, source_id),
        ).fetchall():
            raw_ids.append(int(raw_id))
            raw_hashes.append(bytes(sha).hex())
    receipts = sum(int(conn.execute(q(_COUNT), (i,) * 3).fetchone()[0]) for i in raw_ids)
    if source_type == "harvest":  # a far-apart id kept for the next run (services.repeats)
        conn.execute(
            q("DELETE FROM repeated_ids WHERE source = ? AND source_id = ?"), (upstream, source_id)
        )
    payloads = _delete_ids(conn, q, "raw_payloads", "id", raw_ids)
    for raw_id in raw_ids:  # their receipts: spans no payload is left in
        conn.execute(q(_ORPHANS), (raw_id,) * 3)

    def gone(sql: str, params: Sequence[Any]) -> int:
        return int(conn.execute(q(sql), params).rowcount)

    gone("DELETE FROM record_deletions WHERE srn = ?", (srn,))  # soft deletes' who and why
    untaken = 0
    if dialect.events_by_record:
        # SQLite: its changes not yet taken in are its pending events (adapters/sql/
        # intake.py); they go too, or a record given its rowid later would get them
        untaken = gone(
            "DELETE FROM record_changes AS c WHERE c.convention = ? AND c.xid = 0"
            f' AND c.record_id = (SELECT id FROM "{table}" WHERE {identity}) AND {UNTAKEN}',
            (convention.name, *key),
        )
    counts = ErasureCounts(
        features=gone("DELETE FROM record_features WHERE srn = ?", (srn,)),
        hook_runs=gone("DELETE FROM hook_runs WHERE srn = ?", (srn,)),
        events=untaken + gone(*_events(dialect, convention.name, table, identity, srn, key)),
        versions=gone("DELETE FROM record_versions WHERE srn = ?", (srn,)),
        records=gone(f'DELETE FROM "{table}" WHERE {identity}', key),
        raw_payloads=payloads,
        receipts=receipts,
        harvest_pages=audit.harvest_pages,
        data_sources=tuple(data_sources),
        content_hashes=hashes,
        raw_sha256s=tuple(raw_hashes),
    )
    audit_id = _write_audit(conn, q, convention, srn, audit, counts)
    return ErasureCounts(**{**counts.__dict__, "audit_id": audit_id})


def _events(
    dialect: Dialect,
    convention: str,
    table: str,
    identity: str,
    srn: str,
    key: tuple[str, str, str],
) -> tuple[str, tuple[str, ...]]:
    """The record's events: by srn, or on SQLite through their record's rowid (its
    index), before the record row goes."""
    if not dialect.events_by_record:
        return "DELETE FROM record_events WHERE srn = ?", (srn,)
    return (
        "DELETE FROM record_events WHERE convention = ?"
        f' AND record_id IS (SELECT id FROM "{table}" WHERE {identity}) AND srn = ?',
        (convention, *key, srn),
    )


def _delete_ids(conn: Any, q: Any, table: str, column: str, ids: list[int]) -> int:
    removed = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        removed += int(
            conn.execute(q(f"DELETE FROM {table} WHERE {column} IN ({marks})"), chunk).rowcount
        )
    return removed


def _write_audit(
    conn: Any, q: Any, convention: Convention, srn: str, audit: AuditDraft, counts: ErasureCounts
) -> int:
    row = conn.execute(
        q(
            "INSERT INTO erasure_audit (at, actor, reason, convention, data_source, srn_sha256,"
            " content_hashes, raw_sha256s, counts) VALUES (?, ?, ?, ?, ?, ?, ?j, ?j, ?j)"
            " RETURNING id"
        ),
        (
            audit.at,
            audit.actor,
            audit.reason,
            convention.name,
            ",".join(counts.data_sources) or None,
            srn_digest(srn),
            orjson.dumps(list(counts.content_hashes)).decode(),
            orjson.dumps(list(counts.raw_sha256s)).decode(),
            orjson.dumps(counts.counts()).decode(),
        ),
    ).fetchone()
    return int(row[0])


def audits(
    conn: Any, dialect: Dialect, srn_sha256: str | None, limit: int | None
) -> list[ErasureAudit]:
    sql = f"SELECT {AUDIT_COLUMNS} FROM erasure_audit"
    params: list[Any] = []
    if srn_sha256 is not None:
        sql += " WHERE srn_sha256 = ?"
        params.append(srn_sha256)
    sql += " ORDER BY id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_audit(row) for row in conn.execute(dialect.sql(sql), params).fetchall()]


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _audit(row: Sequence[Any]) -> ErasureAudit:
    at = row[1] if isinstance(row[1], datetime) else datetime.fromisoformat(str(row[1]))
    return ErasureAudit(
        id=int(row[0]), at=at, actor=row[2], reason=row[3], convention=row[4],
        data_source=row[5], srn_sha256=row[6], content_hashes=list(_json(row[7])),
        raw_sha256s=list(_json(row[8])), counts=dict(_json(row[9])),
    )  # fmt: skip
