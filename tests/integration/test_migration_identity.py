"""Upgrading a store from the revision before the identity change (20261202_100000),
on every backend: record tables gain `upstream` from each record's provenance, the
identity key becomes (source_type, upstream, source_id), and every stored srn (history,
outbox, hook runs, features) is rewritten to the spelling with the upstream."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import ingestry
from ingestry.adapters import migrate
from ingestry.domain.records import record_srn
from ingestry.migrations import HEAD
from tests.backends import Database
from tests.integration.test_ingest import order

BEFORE = "20261202_100000"
AT = "2026-11-23T10:00:00+00:00"
RUN = "srn:ingestry:harvest-run:1"
Json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Key = sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")

#: (source_type, source_id, provenance, new upstream) of the records before the upgrade
RECORDS = [
    ("harvest", "A:1", {"harvest_run_srn": RUN, "upstream_source": "customer_orders"},
     "customer_orders"),
    ("deposition", "D-1", {}, ""),
    ("fork", "F-1", {"source_node": "eu 1"}, "eu 1"),
    ("import", "F-1", {"source_node": "https://eu-2"}, "https://eu-2"),
]  # fmt: skip


def old_srn(convention: str, kind: str, ident: str) -> str:
    return f"srn:ingestry:record:{convention}:{kind}:{quote(ident, safe='')}"


def _old_table(name: str, *columns: sa.Column[object]) -> sa.Table:
    """A record table as the revisions before 20261202_110000 made it."""
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("source_type", Key, nullable=False),
        sa.Column("source_id", Key, nullable=False),
        sa.Column("source", Json, nullable=False),
        sa.Column("data_source", sa.Text),
        sa.Column("metadata", Json, nullable=False),
        sa.Column("content_hash", sa.LargeBinary, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("extractor_version", sa.Text),
        sa.Column("raw_sha256", sa.LargeBinary),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *columns,
        sa.UniqueConstraint("source_type", "source_id", name=f"uq_{name}_identity"),
        sa.Index(f"ix_{name}_data_source", "data_source"),
    )


def _old_store(db: Database) -> None:
    """A store at BEFORE holding records of each provenance type, history (one of a
    record that is gone), outbox events, a hook run and a feature."""
    migrate.upgrade(db.engine, BEFORE)
    orders = _old_table(
        "records_order",
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("total", sa.Text().with_variant(sa.Numeric(), "postgresql")),
    )
    docs = _old_table("records_doc", sa.Column("doc", Json))
    with db.engine.begin() as conn:
        orders.create(conn)
        docs.create(conn)
        conn.execute(
            sa.text(
                "INSERT INTO convention_columns (convention, name, type, position, indexed)"
                " VALUES ('order', 'created_at', 'timestamp', 0, false),"
                " ('order', 'total', 'decimal', 1, false), ('doc', 'doc', 'json', 0, false)"
            )
        )
        for n, (kind, ident, fields, _) in enumerate(RECORDS):
            source = {"type": kind, "id": ident, **fields}
            data_source = "customer_orders" if kind == "harvest" else None
            _insert(db, conn, "order", kind, ident, source, data_source, 2, {"n": n})
            srn = old_srn("order", kind, ident)
            conn.execute(
                sa.text(
                    "INSERT INTO record_events (srn, convention, version, created_at)"
                    " VALUES (:srn, 'order', 2, :at)"
                ),
                {"srn": srn, "at": AT},
            )
            _history(conn, srn, source, 1)
        gone = {"type": "harvest", "id": "G-1", "harvest_run_srn": RUN, "upstream_source": "old"}
        _history(conn, old_srn("order", "harvest", "G-1"), gone, 1)
        a1 = old_srn("order", "harvest", "A:1")
        conn.execute(
            sa.text(
                "INSERT INTO hook_runs (srn, version, convention, hook, status, started_at,"
                " duration_seconds) VALUES (:srn, 2, 'order', 'risk', 'succeeded', :at, 0.1)"
            ),
            {"srn": a1, "at": AT},
        )
        conn.execute(
            sa.text(
                "INSERT INTO record_features (srn, version, hook, name, convention, value,"
                f" produced_at) VALUES (:srn, 2, 'risk', 'score', 'order', {_json(db, ':v')}, :at)"
            ),
            {"srn": a1, "v": "1", "at": AT},
        )
        for ident, text in (("big", "123456789012345678901234567890"), ("small", "12345")):
            source = {"type": "deposition", "id": ident}
            _insert(db, conn, "doc", "deposition", ident, source, None, 1, {})
            conn.execute(
                sa.text(f"UPDATE records_doc SET doc = {_json(db, ':t')} WHERE source_id = :i"),
                {"t": text, "i": ident},
            )


def _insert(
    db: Database,
    conn: sa.Connection,
    convention: str,
    kind: str,
    ident: str,
    source: dict[str, str],
    data_source: str | None,
    version: int,
    metadata: dict[str, int],
) -> None:
    """A record row as the application wrote it (ISO text moments, JSON text)."""
    conn.execute(
        sa.text(
            f"INSERT INTO records_{convention} (source_type, source_id, source, data_source,"
            " metadata, content_hash, version, published_at, updated_at) VALUES (:t, :i,"
            f" {_json(db, ':s')}, :d, {_json(db, ':m')}, :h, :v, :at, :at)"
        ),
        {"t": kind, "i": ident, "s": orjson.dumps(source).decode(), "d": data_source,
         "m": orjson.dumps(metadata).decode(), "h": bytes(16), "v": version, "at": AT},
    )  # fmt: skip
    if convention == "order":
        conn.execute(
            sa.text(
                "UPDATE records_order SET created_at = :at,"
                f" total = {':total' if db.kind == 'sqlite' else 'CAST(:total AS numeric)'}"
                " WHERE source_type = :t AND source_id = :i"
            ),
            {"at": AT, "total": "1.50", "t": kind, "i": ident},
        )


def _json(db: Database, param: str) -> str:
    return param if db.kind == "sqlite" else f"CAST({param} AS jsonb)"


def _history(conn: sa.Connection, srn: str, source: dict[str, str], version: int) -> None:
    pg = conn.dialect.name == "postgresql"
    json = "CAST({} AS jsonb)" if pg else "{}"
    conn.execute(
        sa.text(
            "INSERT INTO record_versions (srn, version, convention, source, data_source,"
            " metadata, columns, content_hash, published_at, version_at, superseded_at)"
            f" VALUES (:srn, :v, 'order', {json.format(':source')}, NULL, {json.format(':m')},"
            f" {json.format(':m')}, :h, :at, :at, :at)"
        ),
        {"srn": srn, "v": version, "source": orjson.dumps(source).decode(), "m": "{}",
         "h": bytes(16), "at": AT},
    )  # fmt: skip


def test_upgrade_adds_the_upstream_and_rewrites_every_srn(db: Database, config_path: Path) -> None:
    _old_store(db)
    if db.kind == "sqlite":  # SQLAlchemy's JSON is NUMERIC affinity: numbers were mangled
        kinds = dict(db.rows("SELECT source_id, typeof(doc) FROM records_doc"))
        assert kinds == {"big": "real", "small": "integer"}
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == HEAD
    new = {(kind, ident): record_srn("order", kind, up, ident) for kind, ident, _, up in RECORDS}
    assert sorted(db.rows("SELECT source_type, upstream, source_id FROM records_order")) == sorted(
        (kind, up, ident) for kind, ident, _, up in RECORDS
    )
    assert sorted(r[0] for r in db.rows("SELECT srn FROM record_events")) == sorted(new.values())
    gone = record_srn("order", "harvest", "old", "G-1")
    history = {r[0] for r in db.rows("SELECT srn FROM record_versions")}
    assert history == {*new.values(), gone}
    a1 = new[("harvest", "A:1")]
    assert db.rows("SELECT srn FROM hook_runs") == [(a1,)]
    assert db.rows("SELECT srn FROM record_features") == [(a1,)]
    with ingestry.open(config_path) as store:
        record = store.get(a1)
        assert (record.version, record.source.id, str(record.columns["total"])) == (
            2,
            "A:1",
            "1.50",
        )
        assert [r.version for r in store.history(new[("fork", "F-1")])] == [1, 2]
        assert [f.name for f in store.features(a1)] == ["score"]
        # the new identity key: the same id from another data source is another record
        summary = store.ingest("orders_simple", [order("A:1")])
        assert summary.records_created == 1
        assert store.get(a1).version == 2
    if db.kind == "sqlite":  # JSON columns have TEXT affinity now: integers are text again
        kinds = dict(db.rows("SELECT source_id, typeof(doc) FROM records_doc"))
        assert kinds == {"big": "text", "small": "text"}
        assert db.scalar("SELECT doc FROM records_doc WHERE source_id = 'small'") == "12345"


def test_downgrade_restores_the_old_srns_unless_upstreams_collide(db: Database) -> None:
    _old_store(db)
    migrate.upgrade(db.engine)
    migrate.downgrade(db.engine, BEFORE)
    old = sorted(old_srn("order", kind, ident) for kind, ident, _, _ in RECORDS)
    assert sorted(r[0] for r in db.rows("SELECT srn FROM record_events")) == old
    assert "upstream" not in {c["name"] for c in sa.inspect(db.engine).get_columns("records_order")}
    migrate.upgrade(db.engine)
    db.execute(
        "INSERT INTO records_order (source_type, upstream, source_id, source, metadata,"
        f" content_hash, version, published_at, updated_at) VALUES ('harvest', 'other', 'A:1',"
        f" {_json(db, ':s')}, {_json(db, ':m')}, :h, 1, :at, :at)",
        s='{"type":"harvest","id":"A:1","harvest_run_srn":"r","upstream_source":"other"}',
        m="{}",
        h=bytes(16),
        at=AT,
    )
    with pytest.raises(Exception, match="differ only by their upstream"):
        migrate.downgrade(db.engine, BEFORE)
