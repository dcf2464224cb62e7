"""`ingestry import` of a records export (issue 17 item 3): provenance, srn, columns
and metadata kept; idempotent; `--as-import`; the round trip SQLite -> PostgreSQL ->
SQLite gives identical records, exact numbers included."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

import ingestry
from ingestry.domain.errors import InputError
from ingestry.domain.records import record_srn
from ingestry.services.export import record_line
from ingestry.store import Store
from tests.backends import database
from tests.conftest import DEFAULT_SQLITE, _server, write_project
from tests.integration.test_ingest import order

LONG = "12345678901234567890.123456789"
BIG = 123456789012345678901234567890


def _export(store: Store, path: Path) -> Path:
    """The records of every convention as `records list --json` lines."""
    with path.open("wb") as out:
        for convention in sorted(store.settings.conventions):
            for record in store.records(convention):
                out.write(record_line(record))
    return path


def _identity(store: Store) -> list[tuple[object, ...]]:
    """What must survive a move: srn, provenance, data source, columns, metadata, times."""
    return [
        (
            r.srn,
            r.source,
            r.data_source,
            dict(r.columns),
            dict(r.metadata),
            r.published_at,
            r.updated_at,
        )
        for convention in sorted(store.settings.conventions)
        for r in store.records(convention)
    ]


def _fill(store: Store, project: Path) -> None:
    store.ingest_files("customer_orders", [project / "data/samples/orders.jsonl"])
    store.ingest_files("exchange_rates", [project / "data/samples/exchange_rates.csv"])
    store.ingest("customer_orders", [order("BIG", total_price=LONG, note=BIG, n={"m": -BIG})])
    store.ingest("orders_simple", [order("S-1"), order("S-2", financial={"paid": True})])


@contextmanager
def _store_on(kind: str, root: Path) -> Iterator[Store]:
    root.mkdir(parents=True)
    with database(kind, root / "db", _server(kind)) as db:
        write_project(root, db.url if kind == "postgres" else DEFAULT_SQLITE)
        with ingestry.open(root / "ingestry.yaml") as store:
            yield store


def test_round_trip_sqlite_postgres_sqlite_keeps_records_exactly(tmp_path: Path) -> None:
    with (
        _store_on("sqlite", tmp_path / "a") as first,
        _store_on("postgres", tmp_path / "b") as second,
        _store_on("sqlite", tmp_path / "c") as third,
    ):
        _fill(first, tmp_path / "a")
        want = _identity(first)
        assert len(want) > 10
        summary = second.import_export(str(_export(first, tmp_path / "a.jsonl")))
        assert (summary.records_created, summary.rejected) == (len(want), 0)
        assert _identity(second) == want
        third.import_export(str(_export(second, tmp_path / "b.jsonl")))
        assert _identity(third) == want
        # the exported lines themselves are the same bytes from every store
        assert _export(third, tmp_path / "c.jsonl").read_bytes().count(b"\n") == len(want)
        big = third.get(record_srn("order", "harvest", "customer_orders", "BIG"))
        assert big.columns["total"] == Decimal(LONG)
        assert big.metadata["note"] == BIG and big.metadata["n"] == {"m": -BIG}


def test_importing_twice_changes_nothing(store: Store, project: Path, tmp_path: Path) -> None:
    _fill(store, project)
    path = _export(store, tmp_path / "export.jsonl")
    with _store_on("sqlite", tmp_path / "target") as target:
        first = target.import_export(str(path))
        again = target.import_export(str(tmp_path))  # the directory holding the export
        assert first.records_created == again.records_unchanged > 0
        assert (again.records_created, again.records_updated, again.rejected) == (0, 0, 0)


def test_as_import_publishes_import_provenance(store: Store, project: Path, tmp_path: Path) -> None:
    _fill(store, project)
    path = _export(store, tmp_path / "export.jsonl")
    before = {r.srn: r for r in store.records("order")}
    summary = store.import_export(str(path), as_import="node-a")
    assert summary.records_created == summary.received > 0
    for srn, original in before.items():
        copy = store.get(record_srn("order", "import", "node-a", srn))
        assert (copy.source.type, copy.source.id) == ("import", srn)
        assert dict(copy.columns) == dict(original.columns)
        assert dict(copy.metadata) == dict(original.metadata)
    assert store.import_export(str(path), as_import="node-a").records_unchanged == summary.received


def test_bad_lines_are_rejected_by_line_and_the_rest_imported(store: Store, tmp_path: Path) -> None:
    store.ingest("orders_simple", [order("S-1")])
    good = _export(store, tmp_path / "good.jsonl").read_bytes()
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"{not json\n" + b'{"convention": "nope", "srn": "x"}\n' + good)
    with _store_on("sqlite", tmp_path / "target") as target:
        summary = target.import_export(str(path))
    assert (summary.records_created, summary.rejected) == (1, 2)
    assert summary.errors[0].startswith("mixed.jsonl line 1: not an exported record")
    assert summary.errors[1].startswith("mixed.jsonl line 2:")


def test_a_missing_path_or_an_unknown_bundle_version_is_refused(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / "manifest.json").write_text('{"format": "ingestry-raw-bundle"}')
    with pytest.raises(InputError, match="format_version None"):
        store.import_export(str(tmp_path))
    with pytest.raises(InputError, match="no such file"):
        store.import_export(str(tmp_path / "missing"))


def _bundle(folder: Path, source: str, payloads: list[bytes]) -> Path:
    """A raw bundle as docs/export.md (format 1) fixes it."""
    import base64
    import hashlib
    import json

    folder.mkdir()
    lines = b"".join(
        json.dumps(
            {
                "source": source,
                "source_id": f"n{i}",
                "sha256": hashlib.sha256(p).hexdigest(),
                "size": len(p),
                "bytes": base64.b64encode(p).decode(),
                "receipts": [],
            }
        ).encode()
        + b"\n"
        for i, p in enumerate(payloads)
    )
    (folder / f"{source}_raw.jsonl").write_bytes(lines)
    (folder / f"{source}_raw_headers.jsonl").write_bytes(b"")
    files = [
        {"name": n, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
        for n, d in ((f"{source}_raw.jsonl", lines), (f"{source}_raw_headers.jsonl", b""))
    ]
    manifest = {"format": "ingestry-raw-bundle", "format_version": 1, "source": source}
    (folder / "manifest.json").write_text(json.dumps(manifest | {"files": files}))
    return folder


def test_a_raw_bundle_is_ingested_with_the_same_bytes_and_srns(
    store: Store, project: Path, tmp_path: Path
) -> None:
    payloads = (project / "data/samples/orders.jsonl").read_bytes().splitlines()
    store.ingest("customer_orders", payloads)
    bundle = _bundle(tmp_path / "bundle", "customer_orders", payloads)
    with _store_on("sqlite", tmp_path / "target") as target:
        summary = target.import_export(str(bundle))
        assert (summary.raw_stored, summary.records_created) == (
            len(payloads),
            store.count("order"),
        )
        assert [r.srn for r in target.records("order")] == [r.srn for r in store.records("order")]
        first = next(iter(store.records("order")))
        assert target.raw("customer_orders", first.source.id)[0].payload == (
            store.raw("customer_orders", first.source.id)[0].payload
        )
        again = target.import_export(str(bundle))
        assert (again.raw_stored, again.raw_duplicates) == (0, len(payloads))
        assert again.records_created == again.records_updated == 0


def test_a_damaged_raw_bundle_is_refused_before_anything_is_written(
    store: Store, tmp_path: Path
) -> None:
    bundle = _bundle(
        tmp_path / "bundle", "customer_orders", [b'{"id": "X", "created_at": "2026-11-01"}']
    )
    raw = bundle / "customer_orders_raw.jsonl"
    raw.write_bytes(raw.read_bytes().replace(b'"size": ', b'"size":  '))
    with pytest.raises(InputError, match="differs from the manifest"):
        store.import_export(str(bundle))
    assert store.count("order") == 0


RAW_CSV = """  rates_raw:
    strategy: raw
    convention: exchange_rate
    rationale: Partner files, cannot re-fetch
    format: csv
    id: [date, base, quote]
"""


@contextmanager
def _raw_store_on(kind: str, root: Path) -> Iterator[Store]:
    """A store whose config also has a raw CSV source (`rates_raw`)."""
    root.mkdir(parents=True)
    with database(kind, root / "db", _server(kind)) as db:
        write_project(root, db.url if kind == "postgres" else DEFAULT_SQLITE)
        config = root / "ingestry.yaml"
        config.write_text(config.read_text() + RAW_CSV)
        with ingestry.open(config) as store:
            yield store


def _bundle_of(store: Store, source: str, out: Path) -> dict[tuple[str, str], object]:
    """Per (source id, sha256): the bytes and every receipt, as a raw bundle holds them."""
    import orjson

    store.export_raw(source, out=out)
    found = {}
    for line in (out / f"{source}_raw.jsonl").read_bytes().splitlines():
        entry = orjson.loads(line)
        found[(entry["source_id"], entry["sha256"])] = (entry["bytes"], entry["receipts"])
    return found


def _arrive(store: Store, tmp: Path) -> None:
    """JSONL payloads sent twice, one changed in between; CSV rows from two files (LF
    and CRLF) with a quoted line break, one sent again."""
    store.ingest("customer_orders", [order("R-1"), order("R-2")])
    store.ingest("customer_orders", [order("R-1", note="changed")])
    store.ingest("customer_orders", [order("R-1"), order("R-2")])
    first = tmp / "rates_a.csv"
    first.write_bytes(
        b"date,base,quote,rate,provider\n2026-11-01,EUR,USD,1.08,ecb\n"
        b'2026-11-01,EUR,GBP,0.87,"two\nlines"\n'
    )
    second = tmp / "rates_b.csv"
    second.write_bytes(b"date,base,quote,rate\r\n2026-11-02,EUR,USD,1.09\r\n")
    store.ingest_files("rates_raw", [first])
    store.ingest_files("rates_raw", [second])
    store.ingest_files("rates_raw", [first])


def test_raw_bundle_round_trip_keeps_every_byte_and_every_receipt(tmp_path: Path) -> None:
    """Issue 17: a raw bundle import writes the bundle's receipts (run, received_at,
    origin, line, container), not the import run's; CSV bundles (rows read again under
    their header) too; SQLite -> PostgreSQL -> SQLite; importing twice adds nothing."""
    (tmp_path / "in").mkdir()
    with (
        _raw_store_on("sqlite", tmp_path / "a") as first,
        _raw_store_on("postgres", tmp_path / "b") as second,
        _raw_store_on("sqlite", tmp_path / "c") as third,
    ):
        _arrive(first, tmp_path / "in")
        for source in ("customer_orders", "rates_raw"):
            want = _bundle_of(first, source, tmp_path / f"a-{source}")
            assert max(len(r) for _, r in want.values()) == 2  # a payload sent twice
            done = second.import_export(str(tmp_path / f"a-{source}"))
            assert (done.raw_stored, done.rejected) == (len(want), 0)
            assert _bundle_of(second, source, tmp_path / f"b-{source}") == want
            third.import_export(str(tmp_path / f"b-{source}"))
            assert _bundle_of(third, source, tmp_path / f"c-{source}") == want
            again = third.import_export(str(tmp_path / f"b-{source}"))
            assert (again.raw_stored, again.raw_duplicates) == (0, len(want))
            assert _bundle_of(third, source, tmp_path / f"d-{source}") == want

        def content(store: Store) -> list[tuple[object, ...]]:  # the run and times: the import's
            return [(x[0], x[2], x[3], x[4]) for x in _identity(store)]

        for store in (second, third):
            assert content(store) == content(first)
            gbp = store.get(
                record_srn("exchange_rate", "harvest", "rates_raw", "2026-11-01|EUR|GBP")
            )
            assert gbp.metadata["provider"] == "two\nlines"
