"""The columnar CSV path (extract/columnar.py) against the row path: for any CSV, with
bad cells mixed in, the same raw rows, records and quarantine entries (reasons
included), byte for byte."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestry.domain.conventions import ColumnParse, ColumnSpec, ColumnType, Convention
from ingestry.domain.reading import CSVDialect, Reading, ValueSpelling
from ingestry.domain.sources import DataSource, SourceFormat, StorageStrategy
from ingestry.extract.compiler import Extractor
from ingestry.extract.csvblocks import csv_block_frames, csv_block_slices
from ingestry.extract.csvframes import CSVFrames
from ingestry.services.batch import PreparedBatch, Provenance, prepare_batch

PROV = Provenance.of("harvest", harvest_run_srn="srn:ingestry:run:x", upstream_source="s")
NOW = "2024-05-01T00:00:00.000000+00:00"

#: Cells that each column type takes or refuses in some interesting way.
CELLS = [
    "", "NA", "N/A", "null", "x", "12", "-3", "+4", " 5 ", "007", "-0", "1.5", "-0.00",
    "0.10", ".5", "5.", "1e3", "1E-2", "1e999", "nan", "inf", "99999999999999999999",
    "123456789012345678", "1_000", "١٢", "12,5", "1.234,5", "1,234.5", "2024-01-31",
    "2024-02-30", "2024/01/31", "20240131", "0000-01-01", "2024-01-31T10:00:00",
    "2024-01-31T10:00:00Z", "true", "True", "TRUE", "Y", "no", "off", "0", "1", "2",
    '{"a": 1}', "[1, 2]", "a\nb", 'say "hi"', " ", "É",
    "-0,00", ",5", "5,", "1,5e3", "12,50", "1.5,0", "2024.01.31", "2024/02/30", "0000/01/01",
    "2024/1/31", " 2024/01/31",
]  # fmt: skip

#: Date patterns: `%Y<sep>%m<sep>%d` ones have a fast path (`formats.FAST_SPELLINGS`).
DATE_FORMATS = ["%Y/%m/%d", "%Y.%m.%d", "%Y-%m-%d", "%d/%m/%Y"]
NUMBERS = (ColumnType.INTEGER, ColumnType.FLOAT, ColumnType.DECIMAL)

TYPES = [
    ColumnType.TEXT, ColumnType.INTEGER, ColumnType.FLOAT, ColumnType.DECIMAL,
    ColumnType.BOOLEAN, ColumnType.DATE, ColumnType.TIMESTAMP, ColumnType.JSON,
]  # fmt: skip


@st.composite
def cases(draw: Any) -> tuple[DataSource, Convention, bytes]:
    width = draw(st.integers(1, 5))
    columns = []
    for k in range(width):
        kind = draw(st.sampled_from(TYPES))
        parse = None
        if kind is ColumnType.DATE and draw(st.booleans()):
            parse = ColumnParse(format=draw(st.sampled_from(DATE_FORMATS)))
        elif kind in NUMBERS and draw(st.booleans()):  # the comma alone has a fast path
            thousands = draw(st.sampled_from([".", None]))
            parse = ColumnParse(spelling=ValueSpelling(decimal=",", thousands=thousands))
        elif draw(st.booleans()):
            parse = ColumnParse(spelling=ValueSpelling(nulls=("x", "NA")))
        precision = (6, 2) if kind is ColumnType.DECIMAL and draw(st.booleans()) else (None, None)
        columns.append(
            ColumnSpec(
                f"c{k}",
                (f"c{k}",),
                kind,
                required=draw(st.booleans()),
                parse=parse,
                precision=precision[0],
                scale=precision[1],
            )
        )
    two_ids = draw(st.booleans())
    entity = draw(st.booleans())
    nulls = draw(st.sampled_from([None, ("NA",), ("", "null", "-3")]))
    source = DataSource(
        name="s", strategy=draw(st.sampled_from(list(StorageStrategy))), convention="conv",
        rationale="r", format=SourceFormat.CSV,
        id_paths=(("id",), ("id2",)) if two_ids else (("id",),),
        entity_type_path=("kind",) if entity else None,
        reading=Reading(dialect=CSVDialect(delimiter=";"), spelling=ValueSpelling(nulls=nulls)),
    )  # fmt: skip
    names = ["id", "id2", "kind", "extra", *(c.name for c in columns)]
    if draw(st.booleans()):  # a declared column the header lacks
        names.remove(columns[-1].name)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(names)
    ids = st.sampled_from(["a", "b", "c", "", "d|e"])
    for _ in range(draw(st.integers(0, 12))):
        row = [draw(ids), draw(ids), draw(st.sampled_from(["", "t1", "t2"]))]
        row += [draw(st.sampled_from(CELLS)) for _ in names[3:]]
        if draw(st.integers(0, 9)) == 0:  # the wrong number of fields
            row = row[:-1]
        writer.writerow(row)
    if draw(st.booleans()):
        out.write('a;"unterminated\n')
    return source, Convention("conv", tuple(columns)), out.getvalue().encode()


def _batch(source: DataSource, extractor: Extractor, data: bytes, columnar: bool) -> Any:
    frames = CSVFrames(iter(data.splitlines(keepends=True)), (), source.reading)
    listed = list(frames)
    batch = prepare_batch(
        listed, source, extractor, PROV, received_at=NOW, origin="f.csv",
        header=frames.keyed_header, columnar=columnar,
    )  # fmt: skip
    return _plain(batch)


def _plain(batch: PreparedBatch) -> Any:
    return (
        list(batch.raw), list(batch.records), batch.quarantine, batch.headers,
        batch.quarantine_header, batch.repeated, batch.duplicate_ids,
    )  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_columnar_path_gives_what_the_row_path_gives(case: Any) -> None:
    source, convention, data = case
    extractor = Extractor(source, convention)
    assert extractor.columnar is not None
    assert _batch(source, extractor, data, True) == _batch(source, extractor, data, False)


def test_a_bad_cell_names_its_row_and_column_in_the_columnar_path() -> None:
    source = DataSource(
        name="s", strategy=StorageStrategy.RAW, convention="conv", rationale="r",
        format=SourceFormat.CSV, id_paths=(("id",),),
    )  # fmt: skip
    conv = Convention(
        "conv",
        (
            ColumnSpec("n", ("n",), ColumnType.INTEGER),
            ColumnSpec("d", ("d",), ColumnType.DATE, required=True),
        ),
    )
    extractor = Extractor(source, conv)
    assert extractor.columnar is not None
    rows = [{"id": "a", "n": "1", "d": "2024-01-01"}, {"id": "b", "n": "x", "d": "2024-01-02"}]
    drafts = extractor.columnar.drafts([*rows, None])
    assert drafts[0] == ("a", "conv", (1, "2024-01-01"), {"id": "a"})
    assert drafts[1:] == [None, None]  # a bad cell, a framing error: the row path's
    raw, records, quarantine, *_ = _batch(
        source, extractor, b"id,n,d\na,1,2024-01-01\nb,x,2024-01-02\nc,2,NA\n", True
    )
    assert [r[1] for r in records] == ["a"]
    assert [(q[2], q[3], q[5]) for q in quarantine] == [
        (b"b,x,2024-01-02", 3, "column 'n' (path n): expected integer, got 'x'"),
        (b"c,2,NA", 4, "required column 'd' is null (path d): marker 'NA'"),
    ]
    assert [r[4] for r in raw] == [b"a,1,2024-01-01", b"b,x,2024-01-02", b"c,2,NA"]


def test_sources_the_columnar_path_does_not_take() -> None:
    def source(fmt: SourceFormat, ids: tuple[tuple[str, ...], ...]) -> DataSource:
        return DataSource(
            name="s", strategy=StorageStrategy.RAW, convention="conv", rationale="r",
            format=fmt, id_paths=ids,
        )  # fmt: skip

    flat = Convention("conv", (ColumnSpec("n", ("n",), ColumnType.INTEGER),))
    nested = Convention("conv", (ColumnSpec("n", ("a", "n"), ColumnType.INTEGER),))
    assert Extractor(source(SourceFormat.CSV, (("id",),)), flat).columnar is not None
    assert Extractor(source(SourceFormat.JSONL, (("id",),)), flat).columnar is None
    assert Extractor(source(SourceFormat.CSV, (("a", "id"),)), flat).columnar is None
    assert Extractor(source(SourceFormat.CSV, (("id",),)), nested).columnar is None

    def mostly_formatted(fmt: str) -> Convention:
        dated = ColumnParse(format=fmt)
        return Convention(
            "conv",
            (
                ColumnSpec("n", ("n",), ColumnType.INTEGER),
                ColumnSpec("d", ("d",), ColumnType.DATE, parse=dated),
                ColumnSpec("e", ("e",), ColumnType.DATE, parse=dated),
            ),
        )

    plan = Extractor(source(SourceFormat.CSV, (("id",),)), mostly_formatted("%d/%m/%Y")).columnar
    assert plan is not None and not plan.worthwhile  # ingest keeps the row path
    # a year-month-day pattern is read in C-level passes (`formats.FAST_SPELLINGS`)
    plan = Extractor(source(SourceFormat.CSV, (("id",),)), mostly_formatted("%Y/%m/%d")).columnar
    assert plan is not None and plan.worthwhile
    assert Extractor(source(SourceFormat.CSV, (("id",),)), flat).columnar.worthwhile  # type: ignore[union-attr]


NOTE = '"caf\u00e9 ""x"""'


def test_a_long_batch_gives_the_row_paths_rows_on_every_strategy() -> None:
    for strategy in StorageStrategy:
        source = DataSource(
            name="s", strategy=strategy, convention="conv", rationale="r",
            format=SourceFormat.CSV, id_paths=(("id",),), entity_type_path=("kind",),
        )  # fmt: skip
        conv = Convention(
            "conv",
            (
                ColumnSpec("n", ("n",), ColumnType.INTEGER),
                ColumnSpec("p", ("p",), ColumnType.DECIMAL),
                ColumnSpec("d", ("d",), ColumnType.DATE),
                ColumnSpec("f", ("f",), ColumnType.FLOAT),
                ColumnSpec("b", ("b",), ColumnType.BOOLEAN),
            ),
        )
        data = b"id,kind,n,p,d,f,b,note\n" + b"".join(
            f"r{k},{'t' if k % 3 else ''},{'x' if k % 401 == 7 else k - 5},{k}.{k % 100:02d},"
            f"2024-01-{k % 28 + 1:02d},"
            f"{k / 7:.3f},{'YN'[k % 2]},{'NA' if k % 4 else NOTE}\n".encode()
            for k in range(1100)  # slices of COLUMNAR_SLICE rows, a bad cell in some
        )
        extractor = Extractor(source, conv)
        columnar = _batch(source, extractor, data, True)
        assert len(columnar[1]) == 1097 and len(columnar[2]) == 3
        assert columnar == _batch(source, extractor, data, False)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.integers(1, 5))
def test_a_block_prepared_part_by_part_gives_what_it_gives_framed_whole(
    case: Any, part: int
) -> None:
    """`prepare_batch` given a block's frames in parts (`slices`, framed as the loop
    reaches them) builds the same rows, quarantine, repeats and counts."""
    source, convention, data = case
    extractor = Extractor(source, convention)
    header_line, _, body = data.partition(b"\n")
    header = (hashlib.sha256(header_line).digest(), header_line)
    block = (2, body)
    whole = prepare_batch(
        csv_block_frames(block, header_line, source.reading), source, extractor, PROV,
        received_at=NOW, origin="f.csv", header=header, blob=body,
    )  # fmt: skip
    parts = prepare_batch(
        [], source, extractor, PROV, received_at=NOW, origin="f.csv", header=header,
        blob=body, slices=csv_block_slices(block, header_line, source.reading, part),
    )  # fmt: skip
    assert _plain(parts) == _plain(whole)
    assert parts.received == whole.received
    # framed for the plan (`csvcells.CellPart`: rows hold the metadata, the declared
    # fields come by column), and the same part given to the row path (rows restored)
    plan = extractor.columnar
    assert plan is not None
    for columnar in (None, False):
        cells = prepare_batch(
            [], source, extractor, PROV, received_at=NOW, origin="f.csv", header=header,
            blob=body, columnar=columnar,
            slices=csv_block_slices(block, header_line, source.reading, part, plan.keys),
        )  # fmt: skip
        assert _plain(cells) == _plain(whole)
        assert cells.received == whole.received


def test_a_part_framed_by_column_makes_an_empty_cell_null_as_the_row_dicts_do() -> None:
    """`csvcells.CellPart`: an empty cell of a declared text column (no null marker
    lists "") is null, as in the whole-row dicts; of an undeclared field, a null in
    the metadata; the id stays in the metadata."""
    source = DataSource(
        name="s", strategy=StorageStrategy.RAW, convention="conv", rationale="r",
        format=SourceFormat.CSV, id_paths=(("id",),),
        reading=Reading(spelling=ValueSpelling(nulls=("NA",))),
    )  # fmt: skip
    text, integer = ColumnType.TEXT, ColumnType.INTEGER
    conv = Convention("conv", (ColumnSpec("t", ("t",), text), ColumnSpec("n", ("n",), integer)))
    extractor = Extractor(source, conv)
    plan = extractor.columnar
    assert plan is not None
    header_line, body = b"id,t,x,n", b"a,,,1\nb,y,z,2\nc,NA,,\n"
    header = (hashlib.sha256(header_line).digest(), header_line)
    parts = list(csv_block_slices((2, body), header_line, source.reading, 512, plan.keys))
    assert [type(p).__name__ for p in parts] == ["CellPart"]
    batch = prepare_batch(
        [], source, extractor, PROV, received_at=NOW, origin="f.csv", header=header,
        blob=body, slices=iter(parts),
    )  # fmt: skip
    whole = prepare_batch(
        csv_block_frames((2, body), header_line, source.reading), source, extractor, PROV,
        received_at=NOW, origin="f.csv", header=header, blob=body,
    )  # fmt: skip
    assert _plain(batch) == _plain(whole)
    assert [(r[1], r[4], r[8]) for r in batch.records] == [
        ("a", '{"id":"a","x":null}', (None, 1)),
        ("b", '{"id":"b","x":"z"}', ("y", 2)),
        ("c", '{"id":"c","x":null}', (None, None)),
    ]
