"""`ingestry import` parses a large export in worker processes (issue 17, import at
1M): the records, srns, versions, times, deletions, counts and errors (file and line)
are exactly those of parsing inline, on both backends; importing twice stays a no-op."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

import ingestry.services.importer as importer
from ingestry.adapters import importfile
from ingestry.adapters.importfile import export_blocks, export_lines
from ingestry.adapters.parallel import ProcessMap
from ingestry.store import Store
from tests.integration.test_export_deleted import _deleted_a2
from tests.integration.test_export_history import SOURCE
from tests.integration.test_import import BIG, LONG, _store_on
from tests.integration.test_ingest import order


def _export_dir(tmp_path: Path) -> Path:
    """Two export files: history, a tombstone, exact numbers, and bad lines between
    good ones (not JSON, an unknown convention, a time without a zone, a record its
    convention refuses); the second file ends without a line feed."""
    with _store_on("sqlite", tmp_path / "source") as source:
        _deleted_a2(source)
        source.ingest(SOURCE, [order(f"B-{n}", note="x" * n) for n in range(40)])
        source.ingest(SOURCE, [order("BIG", total_price=LONG, note=BIG, n={"m": -BIG})])
        source.ingest(SOURCE, [order("B-7", note="changed")])
        source.ingest("orders_simple", [order("S-1"), order("S-2", financial={"paid": True})])
        full = source.export(SOURCE, out=tmp_path / "x", include_deleted=True).files[0]
        simple = source.export("orders_simple", out=tmp_path / "y").files[0]
    lines = Path(full).read_bytes().splitlines(keepends=True)
    late = orjson.loads(lines[-1])
    late["published_at"] = "2026-01-01T00:00:00"
    refused = orjson.loads(lines[-2])
    refused["columns"]["created_at"] = "not a time"  # put back for the extractor
    bad = [
        b"{not json\n",
        b"\n",
        b'{"convention": "nope", "srn": "x", "source": {"type": "deposition", "id": "x"}}\n',
        orjson.dumps(late) + b"\n",
        orjson.dumps(refused) + b"\n",
    ]
    out = tmp_path / "export"
    out.mkdir()
    mixed = lines[:3] + bad[:2] + lines[3:20] + bad[2:] + lines[20:]
    (out / "a.jsonl").write_bytes(b"".join(mixed))
    (out / "b.jsonl").write_bytes(Path(simple).read_bytes().rstrip(b"\n"))
    return out


def _state(store: Store) -> list[tuple[Any, ...]]:
    """Every version of every record, deleted ones included, as read back."""
    out = []
    for convention in sorted(store.settings.conventions):
        for record in store.records(convention, include_deleted=True):
            for v in store.history(record.srn):
                out.append(
                    (
                        v.srn, v.version, v.source, v.data_source, dict(v.columns),
                        dict(v.metadata), v.published_at, v.updated_at, v.deleted,
                    )
                )  # fmt: skip
    return out


def _summary(done: Any) -> dict[str, Any]:
    return {k: v for k, v in done.as_dict().items() if k not in ("seconds", "path")}


_parse = importer.parse_block


def _parse_noting_pid(*args: Any) -> Any:
    """`parse_block`, leaving the parsing process's id behind (the test's own file)."""
    with open(os.environ["IMPORT_TEST_PIDS"], "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()}\n")
    return _parse(*args)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_workers_import_exactly_what_inline_parsing_does(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = _export_dir(tmp_path)
    monkeypatch.setattr(importfile, "BLOCK_BYTES", 900)  # many blocks, lines longer than one
    pids = tmp_path / "pids"
    monkeypatch.setenv("IMPORT_TEST_PIDS", str(pids))
    monkeypatch.setattr(importer, "parse_block", _parse_noting_pid)
    monkeypatch.setenv("INGESTRY_WORKERS", "0")
    with _store_on(kind, tmp_path / "inline") as inline:
        want = inline.import_export(str(export))
        want_state = _state(inline)
    assert {int(p) for p in pids.read_text().split()} == {os.getpid()}
    pids.unlink()
    monkeypatch.setenv("INGESTRY_WORKERS", "2")
    monkeypatch.setenv("INGESTRY_PARALLEL_MIN_BYTES", "0")
    with _store_on(kind, tmp_path / "workers") as target:
        done = target.import_export(str(export))
        assert os.getpid() not in {int(p) for p in pids.read_text().split()}
        assert _summary(done) == _summary(want)
        assert _state(target) == want_state
        again = target.import_export(str(export))
        assert (again.records_created, again.records_updated, again.records_deleted) == (0, 0, 0)
        assert _state(target) == want_state
    assert (done.records_deleted, done.rejected) == (1, 4)
    assert done.records_created > 40 and done.records_updated == 4
    # parse errors as lines are read, publish errors (line 23's convention, line 25's
    # column) as their layer is published
    where = [e.split(": ")[0] for e in done.errors]
    assert sorted(where) == [f"a.jsonl line {n}" for n in (23, 24, 25, 4)]
    assert done.errors[0].startswith("a.jsonl line 4: not an exported record")
    assert any("created_at" in e for e in done.errors[2:]), done.errors
    big = next(s for s in want_state if s[0].endswith(":BIG"))
    assert big[4]["total"] == Decimal(LONG) and big[5]["note"] == BIG


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 20])
def test_blocks_hold_every_line_once_numbered_as_lines(size: int, tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_bytes(b'{"a": 1}\n\n' + b"x" * 100 + b"\n\n  \nlast")
    (tmp_path / "b.jsonl").write_bytes(b"one\ntwo\n")
    (tmp_path / "c.jsonl").write_bytes(b"")
    want = [(name, number, line.rstrip(b"\n")) for name, number, line in export_lines(tmp_path)]
    got = []
    for name, first, block in export_blocks(tmp_path, size):
        assert block.endswith((b"\n", b"last"))
        lines = block.split(b"\n")
        if block.endswith(b"\n"):
            lines.pop()
        got += [(name, first + n, line) for n, line in enumerate(lines)]
    assert got == want


def _square(n: int) -> Any:
    """Marshal writes an int; a Decimal takes pickle."""
    return Decimal(n) ** 2 if n % 3 == 0 else n * n


def test_an_ordered_map_keeps_the_order_and_values_marshal_cannot_write() -> None:
    got = list(ProcessMap(2, look_ahead=2).ordered(_square, range(25)))
    assert got == [_square(n) for n in range(25)]
