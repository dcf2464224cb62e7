"""A records export keeps version history (DESIGN, "Export and import"): each record's
earlier versions come before it, oldest first; `import` into a fresh store restores
them (same srns, same version numbers, same content); importing twice changes
nothing; `--as-import` publishes current content only; `current_only` exports one row
per record. Both backends (the `store` fixture), and across them."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from ingestry.domain.records import record_srn
from ingestry.store import Store
from tests.integration.test_import import _store_on
from tests.integration.test_ingest import order

SOURCE = "customer_orders"


def _srn(ident: str) -> str:
    return record_srn("order", "harvest", SOURCE, ident)


def _updated(store: Store) -> None:
    """A-1 at version 3, A-2 at version 2, A-3 never updated."""
    store.ingest(SOURCE, [order("A-1"), order("A-2"), order("A-3")])
    store.ingest(SOURCE, [order("A-1", note="second"), order("A-2", total_price="99.10")])
    store.ingest(SOURCE, [order("A-1", note="third", total_price="1.05")])


def _history(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Each record's versions: number, provenance, data source, columns, metadata."""
    out = {}
    for record in store.records("order"):
        out[record.srn] = [
            (v.version, v.source, v.data_source, dict(v.columns), dict(v.metadata))
            for v in store.history(record.srn)
        ]
    return out


def test_a_records_export_writes_every_version_oldest_first(store: Store, tmp_path: Path) -> None:
    _updated(store)
    summary = store.export(SOURCE, format="jsonl", out=tmp_path)
    assert (summary.records, summary.versions) == (3, 6)
    import orjson

    lines = [orjson.loads(x) for x in Path(summary.files[0]).read_bytes().splitlines()]
    assert [(x["srn"], x["version"]) for x in lines] == [
        (_srn("A-1"), 1), (_srn("A-1"), 2), (_srn("A-1"), 3), (_srn("A-2"), 1),
        (_srn("A-2"), 2), (_srn("A-3"), 1),
    ]  # fmt: skip
    assert lines[1]["metadata"]["note"] == "second" and lines[2]["columns"]["total"] == "1.05"
    current = store.export(SOURCE, format="jsonl", out=tmp_path / "c", current_only=True)
    assert (current.records, current.versions) == (3, 3)


def test_csv_and_parquet_carry_the_history_too(store: Store, tmp_path: Path) -> None:
    _updated(store)
    table = pq.read_table(store.export(SOURCE, format="parquet", out=tmp_path).files[0])
    assert table.column("version").to_pylist() == [1, 2, 3, 1, 2, 1]
    only = store.export(SOURCE, format="csv", out=tmp_path / "c", current_only=True)
    assert Path(only.files[0]).read_text().count("\n") == 1 + 3


def test_import_restores_the_history_and_twice_changes_nothing(
    store: Store, tmp_path: Path
) -> None:
    _updated(store)
    want = _history(store)
    assert [len(v) for v in want.values()] == [3, 2, 1]
    export = store.export(SOURCE, format="jsonl", out=tmp_path / "out").files[0]
    for kind in ("sqlite", "postgres"):
        with _store_on(kind, tmp_path / kind) as target:
            first = target.import_export(export)
            assert (first.records_created, first.records_updated, first.rejected) == (3, 3, 0)
            assert _history(target) == want
            again = target.import_export(export)
            assert (again.records_created, again.records_updated) == (0, 0)
            assert again.records_unchanged == 6
            assert _history(target) == want


def test_as_import_publishes_the_current_content_only(store: Store, tmp_path: Path) -> None:
    _updated(store)
    current = {r.srn: dict(r.columns) for r in store.records("order")}
    export = store.export(SOURCE, format="jsonl", out=tmp_path / "out").files[0]
    with _store_on("sqlite", tmp_path / "target") as target:
        done = target.import_export(export, as_import="node-a")
        assert (done.records_created, done.records_updated, done.rejected) == (3, 0, 0)
        records = list(target.records("order"))
        assert {r.version for r in records} == {1}
        assert {r.source.id: dict(r.columns) for r in records} == current  # type: ignore[union-attr]


def _timed_history(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Each record's versions with their times (what moving a store must keep)."""
    return {
        srn: [(*v, t.published_at, t.updated_at) for v, t in zip(versions, times, strict=True)]
        for srn, versions in _history(store).items()
        for times in [store.history(srn)]
    }


def test_round_trip_sqlite_postgres_sqlite_keeps_every_version_and_its_times(
    tmp_path: Path,
) -> None:
    """Issue 17: moving a store keeps each version's original published_at/updated_at,
    not the import's; the times survive a second hop and a repeated import."""
    with (
        _store_on("sqlite", tmp_path / "a") as first,
        _store_on("postgres", tmp_path / "b") as second,
        _store_on("sqlite", tmp_path / "c") as third,
    ):
        _updated(first)
        want = _timed_history(first)
        times = {t for versions in want.values() for v in versions for t in v[-2:]}
        assert len(times) >= 3  # three ingests, three moments
        second.import_export(first.export(SOURCE, format="jsonl", out=tmp_path / "1").files[0])
        assert _timed_history(second) == want
        hop = second.export(SOURCE, format="jsonl", out=tmp_path / "2").files[0]
        third.import_export(hop)
        assert _timed_history(third) == want
        again = third.import_export(hop)
        assert (again.records_created, again.records_updated) == (0, 0)
        assert _timed_history(third) == want
        # restoring times is not a change: the feed holds the six versions' rows only
        assert third.changes(limit=1000).next_cursor == (0, 6)  # SQLite: (0, last seq)


def test_as_import_keeps_the_import_times(store: Store, tmp_path: Path) -> None:
    _updated(store)
    before = max(r.updated_at for r in store.records("order"))
    export = store.export(SOURCE, format="jsonl", out=tmp_path / "out").files[0]
    with _store_on("sqlite", tmp_path / "target") as target:
        target.import_export(export, as_import="node-a")
        assert all(r.published_at > before for r in target.records("order"))
