"""sqlite_writes (issues 16 and 18, SQLite write cost): events keyed by record rowid

SQLite only (PostgreSQL is left as it is). The outbox's per-record index was
`(srn, id)`: a ~45-byte text key whose entries land all over the index (ids sort as
text), so a bulk write dirtied many index pages per commit (~17% of a harvest's CPU).
Events now carry `record_id`, the rowid of their record in the convention's table
(which never changes: updates, soft deletes and restores keep the row), and the index
is `(convention, record_id)` (plus the rowid, the event id): short integer keys that a
first ingest appends at the end. Every query by srn looks the record's rowid up first
and keeps `srn = ?` as a filter, so an event whose record is gone (`record_id` NULL) is
still found by `(convention, NULL)`.

Upgrade fills `record_id` of the events already there from their srn; downgrade drops
the column and puts `(srn, id)` back.

Revision ID: 20261203_110000
Revises: 20261203_100000
"""

from __future__ import annotations

from alembic import op

revision = "20261203_110000"
down_revision = "20261203_100000"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("ALTER TABLE record_events ADD COLUMN record_id INTEGER")
    _fill_record_ids()
    op.drop_index("ix_record_events_srn", table_name="record_events")
    op.create_index("ix_record_events_record", "record_events", ["convention", "record_id"])


def _fill_record_ids() -> None:
    from ingestry.adapters.sql.names import table_name
    from ingestry.domain.records import parse_srn

    bind = op.get_bind()
    tables = {
        r[0] for r in bind.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    events = bind.exec_driver_sql("SELECT id, srn, convention FROM record_events").fetchall()
    for event_id, srn, convention in events:
        table = table_name(convention)
        try:
            _, source_type, upstream, source_id = parse_srn(srn)
        except ValueError:
            continue  # not a record srn: left NULL, still found by srn
        if table not in tables:
            continue
        bind.exec_driver_sql(
            f'UPDATE record_events SET record_id = (SELECT id FROM "{table}"'
            " WHERE source_type = ? AND upstream = ? AND source_id = ?) WHERE id = ?",
            (source_type, upstream, source_id, event_id),
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("ix_record_events_record", table_name="record_events")
    op.execute("ALTER TABLE record_events DROP COLUMN record_id")
    op.create_index("ix_record_events_srn", "record_events", ["srn", "id"])
