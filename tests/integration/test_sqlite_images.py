"""SQLite images (adapters/sqlite/images.py): rows a preparation worker bound into an
in-memory database and the writer copied in with one `INSERT … SELECT` are stored
exactly as the rows bound by the writer itself: same storage class, same value, every
column, for any values the rows may hold."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestry.adapters.sqlite import SQLiteStorage
from ingestry.adapters.sqlite.images import ImageEncoder, image_in
from ingestry.services.ports import RawRow, RecordRow
from tests.contract.conftest import CONVENTION, NOW, raw_row, record_row

#: anything a column may hold after coercion, and more (an image must not change a
#: value the writer would have bound as it is)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(st.characters(blacklist_categories=["Cs"]), max_size=30),
    st.binary(max_size=20),
)
ROW = st.fixed_dictionaries(
    {c.name: VALUES for c in CONVENTION.columns if c.derived is None},
)


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        out = {}
        for table in ("records_thing", "raw_payloads", "record_changes"):
            names = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            cells = ", ".join(f"typeof({n}), quote({n})" for n in names)
            out[table] = conn.execute(f"SELECT {cells} FROM {table} ORDER BY rowid").fetchall()
        return out
    finally:
        conn.close()


def _write(path: Path, raw: list[RawRow], records: list[RecordRow], imaged: bool) -> None:
    storage = SQLiteStorage(path)
    try:
        storage.prepare([CONVENTION], auto_upgrade=True)
        wire = ImageEncoder(CONVENTION)(raw, records) if imaged else None
        if imaged:
            # the writer takes both from their images (else this compares binds)
            assert image_in(wire, "raw", raw) is not None
            assert image_in(wire, "records", records) is not None
        with storage.session() as session:
            assert session.append_raw(raw, [], wire) == len(raw)
            result = session.upsert_records(CONVENTION, records, NOW, wire)
            assert result.created == len(records)
    finally:
        storage.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(ROW, min_size=1, max_size=12), metas=st.lists(st.text(max_size=8)))
def test_rows_from_an_image_are_stored_as_rows_bound_one_by_one(
    tmp_path_factory: Any, rows: list[dict[str, Any]], metas: list[str]
) -> None:
    where = tmp_path_factory.mktemp("images")
    records: list[RecordRow] = []
    for n, values in enumerate(rows):
        row = record_row(f"id-{n}", metadata={"m": metas[n % len(metas)] if metas else n})
        cols = tuple(values.get(c.name) for c in CONVENTION.columns)
        records.append((*row[:8], cols, row[9]))
    raw = [raw_row(f"id-{n}", f'{{"n":{n}}}'.encode(), line=n + 1) for n in range(len(rows))]
    _write(where / "bound.db", raw, records, imaged=False)
    _write(where / "imaged.db", raw, records, imaged=True)
    bound, imaged = _dump(where / "bound.db"), _dump(where / "imaged.db")
    assert len(bound["records_thing"]) == len(rows)
    assert imaged == bound


def test_a_batch_whose_values_differ_where_others_share_them_has_no_image() -> None:
    """The writer binds a batch's shared values once; a batch that does not share them
    takes the writer's own path, so the worker makes no image of it."""
    one = record_row("a")
    other = record_row("b", source_type="fork")
    assert ImageEncoder(CONVENTION)([], [one, other]) is None
    assert ImageEncoder(CONVENTION)([], [one]) is not None


def test_a_value_sqlite_cannot_bind_leaves_the_batch_to_the_writer() -> None:
    """A value binding refuses (an integer past 64 bits) makes no image: the writer's
    own path reports it for the row, as it always did."""
    row = record_row("a")
    names = [c.name for c in CONVENTION.columns]
    cols = tuple(2**70 if name == "count" else v for name, v in zip(names, row[8], strict=True))
    big: RecordRow = (*row[:8], cols, row[9])
    assert ImageEncoder(CONVENTION)([], [big]) is None
    with sqlite3.connect(":memory:") as conn, pytest.raises(OverflowError):
        conn.execute("SELECT ?", (2**70,))  # what the writer's own path meets


def test_an_image_after_one_that_failed_holds_only_its_own_rows() -> None:
    """Images are made in one database per worker and width, emptied each time; one
    that failed half way (no journal to roll it back) leaves nothing to the next."""
    good = [record_row(f"id-{n}") for n in range(4)]  # a statement of 4 goes in first
    row = good[0]
    names = [c.name for c in CONVENTION.columns]
    cols = tuple(2**70 if name == "count" else v for name, v in zip(names, row[8], strict=True))
    bad: RecordRow = (*row[:8], cols, row[9])
    encode = ImageEncoder(CONVENTION)
    assert encode([], [*good, bad]) is None
    wire = encode([], good[:2])
    assert wire is not None
    conn = sqlite3.connect(":memory:")
    conn.deserialize(wire["records"][0])
    assert [r[0] for r in conn.execute("SELECT c0 FROM r ORDER BY rowid")] == ["id-0", "id-1"]


def test_a_worker_forked_while_another_thread_holds_sqlites_mutexes_can_make_an_image() -> None:
    """A fork while another thread is inside SQLite left the child with a mutex no
    thread of it would ever release: its first `sqlite3.connect` hung for ever (a
    pull's workers make images: adapters/sqlite/forksafe.py). With the guard the fork
    waits for the mutexes and the worker makes its image."""
    import _sqlite3
    import ctypes
    import threading
    import time

    from ingestry.adapters.parallel import ProcessMap
    from ingestry.adapters.sqlite import forksafe

    assert forksafe.install()
    lib = ctypes.CDLL(_sqlite3.__file__)
    lib.sqlite3_mutex_alloc.restype = ctypes.c_void_p
    lib.sqlite3_mutex_alloc.argtypes = [ctypes.c_int]
    lib.sqlite3_mutex_enter.argtypes = lib.sqlite3_mutex_leave.argtypes = [ctypes.c_void_p]
    for static in (2, 3):  # SQLITE_MUTEX_STATIC_MAIN, SQLITE_MUTEX_STATIC_MEM
        held, done = threading.Event(), threading.Event()

        def hold(static: int = static, held: Any = held, done: Any = done) -> None:
            mutex = lib.sqlite3_mutex_alloc(static)
            lib.sqlite3_mutex_enter(mutex)
            held.set()
            time.sleep(1.0)  # the fork (milliseconds away) starts meanwhile
            lib.sqlite3_mutex_leave(mutex)
            done.set()

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait()
        images = ProcessMap(1).ordered(_image_rows, [3])  # forks now, the mutex held
        got: list[int] = []
        taker = threading.Thread(target=got.extend, args=(images,), daemon=True)
        taker.start()
        taker.join(30)  # a hung worker never answers: fail, not hang
        holder.join()
        assert got == [3] and done.is_set()


def _image_rows(n: int) -> int:
    """In the worker: an image of `n` rows, and how many it holds."""
    from ingestry.adapters.sqlite.images import image_of

    image = image_of(2, [(k, str(k)) for k in range(n)])
    assert image is not None
    conn = sqlite3.connect(":memory:")
    conn.deserialize(image)
    return int(conn.execute("SELECT count(*) FROM r").fetchone()[0])
