"""Our PostgreSQL sessions store large values with lz4 where the server offers it
(adapters/postgres/toast.py): the data sessions and the control engine that keeps
harvested pages; INGESTRY_PG_TOAST_COMPRESSION=server leaves the server's default."""

from __future__ import annotations

import pytest

from ingestry.adapters.postgres import toast
from ingestry.adapters.postgres.engine import control_engine
from ingestry.adapters.postgres.storage import connect
from ingestry.domain.errors import ConfigError
from tests.backends import Database

pytestmark = pytest.mark.parametrize("backend", ["postgres"])

LARGE = b'{"id":"it-1","name":"item 1","amount":3},' * 2000  # ~84 KB, compressible


def _offered(db: Database) -> bool:
    offered = db.scalar("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    return "lz4" in (offered or [])


def test_a_data_session_stores_large_values_with_lz4(db: Database) -> None:
    assert _offered(db), "the test server is built with lz4 (Debian's PostgreSQL 15 is)"
    conn = connect(db.url)
    try:
        assert conn.execute("SHOW default_toast_compression").fetchone() == ("lz4",)
        conn.execute("CREATE TEMP TABLE t (body bytea)")
        conn.execute("INSERT INTO t VALUES (%s)", (LARGE,))
        row = conn.execute("SELECT pg_column_compression(body) FROM t").fetchone()
        assert row == ("lz4",)
    finally:
        conn.close()


def test_the_control_engine_sessions_which_write_harvested_pages_use_lz4(db: Database) -> None:
    engine = control_engine(db.url)
    try:
        with engine.connect() as conn:
            shown = conn.exec_driver_sql("SHOW default_toast_compression").scalar()
            assert shown == "lz4"
    finally:
        engine.dispose()


def test_server_leaves_the_servers_setting(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(toast.ENV, "server")
    conn = connect(db.url)
    try:
        (server,) = conn.execute(
            "SELECT reset_val FROM pg_settings WHERE name = 'default_toast_compression'"
        ).fetchone()
        assert conn.execute("SHOW default_toast_compression").fetchone() == (server,)
    finally:
        conn.close()


def test_an_unknown_choice_is_a_config_error_naming_the_variable(db: Database) -> None:
    with pytest.raises(ConfigError, match="INGESTRY_PG_TOAST_COMPRESSION='zstd'"):
        toast.choice({toast.ENV: "zstd"})
