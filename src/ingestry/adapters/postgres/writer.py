"""The set-based write statements of one PostgreSQL connection.

Each call stages its rows with one COPY and moves them with one statement (records: two
per round; raw rows: keys first, then new payloads straight into place, see `raw`), so a
batch costs a handful of round trips whatever its size. After a batch of mostly
unchanged records, the next one first probes its keys and sends only the rows that are
new or changed (see `probe`). The writer remembers which staging tables and
partitions exist for its connection; what it creates inside a transaction only counts
once that transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
import psycopg

from ingestry.adapters.postgres import binary, feed, probe, raw, rescan
from ingestry.adapters.postgres.partitions import ensure_partitions, month_of
from ingestry.adapters.postgres.receipts import lined_receipts
from ingestry.adapters.postgres.records import RecordSQL
from ingestry.adapters.postgres.rows import record_stage_rows
from ingestry.adapters.postgres.staging import Stage, copy_rows
from ingestry.adapters.postgres.statements import INSERT_HEADER, INSERT_QUARANTINE, QUARANTINE
from ingestry.adapters.postgres.text import escape_json, escape_text, unescape_text
from ingestry.adapters.postgres.transaction import Transaction
from ingestry.adapters.postgres.wire import record_block, write_block
from ingestry.adapters.sql.conventions import table_name
from ingestry.domain.conventions import Convention
from ingestry.services.ports import (
    Arrivals,
    NewRecords,
    QuarantineRow,
    RawRow,
    Receipt,
    ReceiptKey,
    RecordChange,
    RecordRow,
    RowTimes,
    UpsertResult,
    Wire,
)


class Writer:
    """Implements the StorageSession calls on one connection (see PostgresSession)."""

    def __init__(
        self, conn: psycopg.Connection[Any], adaptive: probe.Adaptive | None = None
    ) -> None:
        self.conn = conn
        self._stages: dict[str, Stage] = {}
        self._partitions: set[tuple[int, int]] = set()
        self._pending_stages: dict[str, Stage] = {}
        self._pending_partitions: set[tuple[int, int]] = set()
        self._filled: set[str] = set()
        self._sql: dict[str, RecordSQL] = {}
        self._sequences: dict[str, str] = {}
        self.adaptive = adaptive or probe.Adaptive()
        binary.register(conn)
        # A batch statement over a temp table without statistics can be estimated past
        # jit_above_cost; compiling it (~30 ms) costs more than running it.
        conn.execute("SET jit = off")

    # --- transaction hooks ------------------------------------------------------------

    def on_begin(self) -> None:
        self._filled.clear()

    def on_end(self, committed: bool) -> None:
        if committed:
            self._stages.update(self._pending_stages)
            self._partitions |= self._pending_partitions
        self._pending_stages.clear()
        self._pending_partitions.clear()
        self._filled.clear()

    # --- the calls --------------------------------------------------------------------

    def append_raw(
        self,
        tx: Transaction,
        rows: Sequence[RawRow],
        headers: Sequence[tuple[bytes, bytes]],
        wire: Wire | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        receipt = receipt or Receipt(None)
        if rows:
            # the worker lists the batch's receipt moments, so the rows stay packed
            received = wire.get("received") if wire is not None else None
            self._ensure_partitions(tx, received or {row[6] for row in rows})
        tx.begin()
        if headers:
            with self.conn.cursor() as cur:
                cur.executemany(INSERT_HEADER, sorted(headers))
        if not rows:
            return 0
        stored = None
        if self.adaptive.mode("raw") == "direct":
            stored = raw.append_direct(self.conn, rows, wire, receipt)
        if stored is None:
            fill = lambda stage, data: self._fill(tx, stage, data)  # noqa: E731
            stored = raw.append(self.conn, fill, rows, wire, receipt)
        self.adaptive.observe("raw", len(rows), stored, len(rows) - stored)
        return stored

    def append_receipts(
        self, tx: Transaction, keys: Sequence[ReceiptKey], receipt: Receipt
    ) -> None:
        if not keys:
            return
        tx.begin()
        raw.append_receipts(
            self.conn, lambda stage, data: self._fill(tx, stage, data), keys, receipt
        )

    def quarantine(self, tx: Transaction, rows: Sequence[QuarantineRow]) -> None:
        if not rows:
            return
        tx.begin()
        self._fill(
            tx,
            QUARANTINE,
            (
                (n, source, sha, payload, line, _text(origin), escape_text(reason), received)
                for n, (source, sha, payload, line, origin, reason, received) in enumerate(rows)
            ),
        )
        self.conn.execute(INSERT_QUARANTINE)

    def upsert_records(
        self,
        tx: Transaction,
        convention: Convention,
        rows: Sequence[RecordRow],
        now: str,
        wire: Wire | None = None,
        times: Sequence[RowTimes | None] | None = None,
    ) -> UpsertResult:
        """`times`: an import's, one per row (see `StorageSession.upsert_records`); every
        path writes them in the statement that writes the row."""
        if not rows:
            return UpsertResult(0, 0, 0, [])
        sql = self._record_sql(convention)
        tx.begin()
        kind = f"records:{convention.name}"
        mode = self.adaptive.mode(kind)
        todo, stamps = rows, times
        if mode == "probe":
            self._fill(tx, probe.RECORD_PROBE, probe.record_keys(rows))
            hits = [n for (n,) in self.conn.execute(sql.changed)]
            kept = probe.indexes_of_keys(rows, hits)
            todo = [rows[n] for n in kept]
            stamps = None if times is None else [times[n] for n in kept]
        created = updated = 0
        changes: Sequence[RecordChange] = []
        if todo:
            usable = wire is not None and todo is rows and stamps is None
            encoded = wire.get("records") if usable and wire is not None else None
            done = False
            staged = None
            if mode == "direct" and encoded is not None:
                ids = self._draw_ids(convention, len(encoded))
                block = record_block(encoded, datetime.fromisoformat(now), ids)
                send = lambda copy: write_block(copy, block)  # noqa: E731
                done = self._copy_new(sql.direct_wire, send, convention.name, ids)
            elif mode == "direct":
                staged, sizes, full = record_stage_rows(convention, todo)
                done = not full and self._direct(sql, convention, staged, now, stamps)
            if done:
                created = len(todo)
                lines = wire.get("srn_lines") if wire is not None and encoded is not None else None
                changes = NewRecords(convention.name, todo, lines)
            else:
                if staged is None or stamps is not None:
                    staged, sizes, full = record_stage_rows(convention, todo, stamps)
                created, updated, changes = self._upsert(
                    tx, sql, convention, staged, sizes, full, now
                )
        unchanged = len(rows) - created - updated
        self.adaptive.observe(kind, len(rows), created, unchanged)
        return UpsertResult(created, updated, unchanged, changes)

    def _direct(
        self,
        sql: RecordSQL,
        convention: Convention,
        staged: list[tuple[Any, ...]],
        now: str,
        times: Sequence[RowTimes | None] | None = None,
    ) -> bool:
        """COPY new records straight into their table; False (and nothing written) when
        a key exists already. `staged` are flat rows: envelope, then columns; `times`,
        one per row, an import's (published_at, updated_at) instead of `now`. Ids are
        drawn for the rows in identity order, as the column's default would."""
        moment = datetime.fromisoformat(now)
        if times is None:
            staged.sort(key=_identity)
            stamped = [(r, moment, moment) for r in staged]
        else:
            stamped = sorted(
                ((r, *_moments(t, moment)) for r, t in zip(staged, times, strict=True)),
                key=lambda s: _identity(s[0]),
            )
        convert = [(12 + i, fn) for i, fn in sql.direct_converters]  # after the envelope
        ids = self._draw_ids(convention, len(stamped))

        def send(copy: psycopg.Copy) -> None:
            copy.set_types(sql.direct_types)
            write = copy.write_row
            for (r, published, updated), id_ in zip(stamped, ids, strict=True):
                row = [*r[:9], 1, published, updated, *r[9:], id_]
                for i, fn in convert:
                    value = row[i]
                    if value is not None:
                        row[i] = fn(value)
                write(row)

        return self._copy_new(sql.direct, send, convention.name, ids)

    def _copy_new(
        self,
        statement: str,
        send: Callable[[psycopg.Copy], None],
        convention: str,
        ids: Sequence[int],
    ) -> bool:
        """Run one COPY of new records (with their drawn `ids`) under a savepoint, then
        write their changes-feed rows; False (and nothing written) when a key exists
        already, or a value the binary format cannot carry (a decimal beyond numeric's
        range): the staged path then says so in the server's words."""
        self.conn.execute("SAVEPOINT ingestry_direct")
        try:
            with self.conn.cursor() as cur, cur.copy(statement) as copy:
                send(copy)
        except (psycopg.errors.UniqueViolation, psycopg.DataError):
            self.conn.execute("ROLLBACK TO SAVEPOINT ingestry_direct")
            return False
        self.conn.execute("RELEASE SAVEPOINT ingestry_direct")
        feed.write_new(self.conn, convention, ids)
        return True

    def _draw_ids(self, convention: Convention, count: int) -> list[int]:
        sequence = self._sequences.get(convention.name)
        if sequence is None:
            table = '"' + table_name(convention.name).replace('"', '""') + '"'
            (sequence,) = self.conn.execute(feed.SEQUENCE, (table,)).fetchone() or (None,)
            if sequence is None:
                raise RuntimeError(f"record table {table} has no id sequence")
            self._sequences[convention.name] = sequence
        return feed.draw_ids(self.conn, sequence, count)

    def _upsert(
        self,
        tx: Transaction,
        sql: RecordSQL,
        convention: Convention,
        staged: list[tuple[Any, ...]],
        sizes: list[int],
        full: bool,
        now: str,
    ) -> tuple[int, int, list[RecordChange]]:
        """COPY into staging, then insert and update round by round (see `records`)."""
        self._fill(tx, sql.stage, staged, full)
        name = convention.name
        changes: list[RecordChange] = []
        created = updated = 0
        for round_, size in enumerate(sizes):
            params = {"now": now, "round": round_}
            inserted = self.conn.execute(sql.insert, params).fetchall()
            created += len(inserted)
            changes += [
                RecordChange(name, t, unescape_text(u), unescape_text(i), 1) for t, u, i in inserted
            ]
            if len(inserted) < size:
                for t, u, i, version in self.conn.execute(sql.update, params):
                    up, sid = unescape_text(u), unescape_text(i)
                    changes.append(RecordChange(name, t, up, sid, version))
                    updated += 1
        return created, updated, changes

    def unchanged_payloads(
        self,
        tx: Transaction,
        source: str,
        convention: Convention,
        kind: tuple[str, str],
        extractor_version: str,
        keys: Sequence[tuple[int, str, bytes]],
        arrivals: Arrivals | None = None,
    ) -> set[int]:
        """`kind`: the records' (source type, upstream)."""
        if not keys:
            return set()
        tx.begin()
        lines = None if arrivals is None else arrivals.lines
        self._fill(tx, rescan.PAYLOAD_PROBE, rescan.probe_rows(keys, lines))
        params: dict[str, Any] = {
            "source": source, "type": kind[0], "upstream": escape_text(kind[1]),
            "version": extractor_version,
        }  # fmt: skip
        if arrivals is None:
            changed = {n for (n,) in self.conn.execute(rescan.changed_payloads(convention), params)}
            return {n for n, _, _ in keys} - changed
        (probed,) = self.conn.execute(rescan.probe_with_raw_ids(convention), params)
        same, raw_ids, lines = rescan.no_ops(keys, arrivals.lines, probed)
        if same:
            origin = None if arrivals.origin is None else escape_text(arrivals.origin)
            arrival = (arrivals.received_at, origin)
            self.conn.execute(*lined_receipts(raw_ids, lines, arrival, arrivals.receipt))
        return set(same)

    def start_run(
        self, tx: Transaction, srn: str, source: str, origins: list[str], now: str
    ) -> None:
        tx.begin()
        self.conn.execute(
            "INSERT INTO ingest_runs (srn, source, started_at, status, origins)"
            " VALUES (%s, %s, %s::timestamptz, 'running', %s::jsonb)",
            (srn, source, now, escape_json(orjson.dumps(origins).decode())),
        )

    def finish_run(
        self, tx: Transaction, srn: str, status: str, summary: dict[str, Any], now: str
    ) -> None:
        tx.begin()
        self.conn.execute(
            "UPDATE ingest_runs SET finished_at = %s::timestamptz, status = %s,"
            " summary = %s::jsonb WHERE srn = %s",
            (now, status, escape_json(orjson.dumps(summary).decode()), srn),
        )

    # --- staging, partitions, statements ------------------------------------------------

    def _fill(self, tx: Transaction, stage: Stage, rows: Any, full: bool = True) -> None:
        known = self._stages.get(stage.name) or self._pending_stages.get(stage.name)
        if known != stage:
            for statement in stage.ddl:
                self.conn.execute(statement)
            self._pending_stages[stage.name] = stage
            self._stages.pop(stage.name, None)
        elif stage.name in self._filled:
            self.conn.execute(f'TRUNCATE "{stage.name}"')
        copy_rows(self.conn, stage, rows, full)
        self._filled.add(stage.name)

    def _ensure_partitions(self, tx: Transaction, received: Iterable[str]) -> None:
        """Create the month partitions the batch's receipt moments fall in."""
        months = {month_of(at) for at in received} - self._partitions
        months -= self._pending_partitions
        if not months:
            return
        if tx.begun:  # a strict run crossing a month: create inside its transaction
            ensure_partitions(self.conn, months)
            self._pending_partitions |= months
            return
        with self.conn.transaction():  # its own short transaction, before the batch's
            ensure_partitions(self.conn, months)
        self._partitions |= months

    def _record_sql(self, convention: Convention) -> RecordSQL:
        cached = self._sql.get(convention.name)
        if cached is None or cached.columns != convention.column_names:
            cached = RecordSQL.of(convention)
            self._sql[convention.name] = cached
        return cached


def _text(value: str | None) -> str | None:
    return None if value is None else escape_text(value)


def _moments(times: RowTimes | None, moment: datetime) -> tuple[datetime, datetime]:
    if times is None:
        return moment, moment
    return datetime.fromisoformat(times[0]), datetime.fromisoformat(times[1])


def _identity(row: tuple[Any, ...]) -> tuple[str, str, str]:
    """(source_type, upstream, source_id) of a staged row (upstream ends the envelope)."""
    return row[0], row[8], row[1]
