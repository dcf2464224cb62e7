"""The identity adapters (adapters/sqlite/binding.py) bind what sqlite3 binds without
them, and never replace an adapter the host program registered."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from ingestry.adapters.sqlite import binding

KEYS = [(kind, sqlite3.PrepareProtocol) for kind in binding.IDENTITY]
VALUES = (b"\x00\xffraw", None, True, False, 7, 1.5, "text", bytearray(b"ba"))


@pytest.fixture
def bare_adapters() -> Iterator[None]:
    """sqlite3.adapters without ours for the test, restored after."""
    saved = {key: sqlite3.adapters.pop(key) for key in KEYS if key in sqlite3.adapters}
    yield
    for key in KEYS:
        sqlite3.adapters.pop(key, None)
    sqlite3.adapters.update(saved)


def _stored() -> list[tuple[object, str]]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (v)")
    conn.executemany("INSERT INTO t VALUES (?)", [(v,) for v in VALUES])
    return conn.execute("SELECT v, typeof(v) FROM t ORDER BY rowid").fetchall()


@pytest.mark.usefixtures("bare_adapters")
def test_values_are_bound_as_without_the_adapters() -> None:
    before = _stored()
    binding.register()
    assert all(sqlite3.adapters[key] is binding.IDENTITY[key[0]] for key in KEYS)
    assert _stored() == before
    assert [t for _, t in before] == [
        "blob", "null", "integer", "integer", "integer", "real", "text", "blob"
    ]  # fmt: skip


@pytest.mark.usefixtures("bare_adapters")
def test_an_adapter_the_host_registered_is_kept() -> None:
    sqlite3.register_adapter(bytes, bytes.hex)
    binding.register()
    assert sqlite3.adapters[(bytes, sqlite3.PrepareProtocol)] == bytes.hex
