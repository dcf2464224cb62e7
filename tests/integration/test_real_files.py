"""Real-world CSV files on both backends (issue 16, items 1-3): dialects, encodings,
null markers and parse formats, with the raw bytes kept exact."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import ingestry
from ingestry.domain.errors import ConfigError
from ingestry.domain.records import record_srn
from tests.backends import Database
from tests.integration.realfiles_support import project_with

COLUMNS: dict[str, Any] = {
    "station": {"type": "text", "required": True},
    "temp": {"type": "decimal"},
    "rain": {"type": "float"},
}


def _ingest(
    tmp_path: Path, db: Database, source: dict[str, Any], data: bytes, columns: Any = None
) -> tuple[Any, dict[str, dict[str, Any]], list[Any], ingestry.Store]:
    config = project_with(tmp_path, db, {"format": "csv", "id": "station", **source},
                          columns or COLUMNS)  # fmt: skip
    path = tmp_path / "data" / "in.csv"
    path.write_bytes(data)
    store = ingestry.open(config)
    summary = store.ingest_files("messy", [path])
    records = {r.source.id: dict(r.columns) for r in store.records("thing")}
    return summary, records, store.quarantine("messy"), store


def test_semicolon_latin1_decimal_comma_and_the_bytes_come_back_exact(
    tmp_path: Path, db: Database
) -> None:
    data = "station;temp;rain\r\nZürich;1.234,5;0,25\r\nGenève;-3,0;NA\r\n".encode("latin-1")
    source = {"delimiter": ";", "encoding": "latin-1", "decimal": ",", "thousands": "."}
    summary, records, _quarantined, store = _ingest(tmp_path, db, source, data)
    with store:
        assert (summary.records_created, summary.quarantined) == (2, 0)
        assert records["Zürich"]["temp"] == Decimal("1234.5")
        assert records["Zürich"]["rain"] == 0.25
        assert records["Genève"] == {"station": "Genève", "temp": Decimal("-3.0"), "rain": None}
        [raw] = store.raw("messy", "Genève")
        assert raw.payload == "Genève;-3,0;NA".encode("latin-1")
        # replay reads the stored Latin-1 bytes the same way: nothing changes
        replayed = store.replay("messy")
        assert replayed.records_updated == 0 and replayed.quarantined == 0


def test_auto_delimiter_and_encoding_record_what_was_used(tmp_path: Path, db: Database) -> None:
    data = b"station|temp|rain\nA|1.5|2\n" + "B\u00e9|2|3\n".encode("cp1252")
    summary, records, _, store = _ingest(
        tmp_path, db, {"delimiter": "auto", "encoding": "auto"}, data
    )
    with store:
        assert set(records) == {"A", "B\u00e9"}
        [described] = summary.inputs
        assert described["delimiter"] == "|"
        assert described["encoding"] == "cp1252+utf-8"


def test_utf16_with_bom_keeps_the_utf16_bytes(tmp_path: Path, db: Database) -> None:
    data = "station,temp,rain\r\nÅre,1,2\r\nOslo,3,4\r\n".encode("utf-16")
    summary, records, _, store = _ingest(tmp_path, db, {"encoding": "utf-16"}, data)
    with store:
        assert summary.quarantined == 0 and set(records) == {"Åre", "Oslo"}
        [raw] = store.raw("messy", "Oslo")
        assert raw.payload == "Oslo,3,4".encode("utf-16-le")
        assert store.replay("messy").quarantined == 0


def test_header_none_skip_rows_comment_quote_and_escape(tmp_path: Path, db: Database) -> None:
    data = b"exported by a logger\nversion 2\n# a note\nA\t'x\\'y'\t1\n# another\nB\t2\t3\n"
    source = {
        "delimiter": "tab",
        "header": "none",
        "names": ["station", "temp", "rain"],
        "skip_rows": 2,
        "comment": "#",
        "quote": "'",
        "escape": "\\",
    }
    columns = {**COLUMNS, "temp": {"type": "text"}}
    summary, records, quarantined, store = _ingest(tmp_path, db, source, data, columns)
    with store:
        assert quarantined == [] and records["A"]["temp"] == "x'y"
        assert summary.inputs[0]["skipped_lines"] == 4
        assert store.replay("messy").records_updated == 0


def test_null_markers_defaults_overrides_and_required_columns(tmp_path: Path, db: Database) -> None:
    columns = {
        "station": {"type": "text", "required": True},
        "note": {"type": "text"},
        "level": {"type": "integer", "nulls": ["-999"]},
        "rain": {"type": "float", "required": True},
    }
    data = b"station,note,level,rain\nA,NA,-999,1\nB,x,NA,N/A\nC,,5,2\n"
    _, records, quarantined, store = _ingest(tmp_path, db, {}, data, columns)
    with store:
        # a text column keeps the literal; a column's own list replaces the default
        assert records["A"] == {"station": "A", "note": "NA", "level": None, "rain": 1.0}
        assert records["C"]["note"] is None  # an empty cell is null, as always
        [entry] = quarantined
        assert entry.reason == ("column 'level' (path level): expected integer, got 'NA'"), (
            "NA is no null marker of level: its own list replaced the defaults"
        )


def test_a_required_column_holding_a_marker_names_the_marker(tmp_path: Path, db: Database) -> None:
    data = b"station,temp,rain\nA,1,N/A\n"
    columns = {**COLUMNS, "rain": {"type": "float", "required": True}}
    _, _, [entry], store = _ingest(tmp_path, db, {}, data, columns)
    store.close()
    assert entry.reason == "required column 'rain' is null (path rain): marker 'N/A'"


def test_formats_time_zone_epochs_and_booleans(tmp_path: Path, db: Database) -> None:
    columns = {
        "station": {"type": "text", "required": True},
        "day": {"type": "date", "format": "%Y/%m/%d"},
        "seen": {"type": "timestamp", "format": "%d.%m.%Y %H:%M", "timezone": "Europe/Zurich"},
        "ms": {"type": "timestamp", "format": "epoch_ms"},
        "s": {"type": "timestamp", "format": "epoch_s"},
        "local": {"type": "timestamp", "timezone": "America/New_York"},
        "ok": {"type": "boolean", "true_values": ["ja"], "false_values": ["nein"]},
    }
    data = (
        b"station,day,seen,ms,s,local,ok\n"
        b"A,2012/01/31,31.07.2020 14:30,1700000000123,1700000000,2020-01-01T00:00:00,ja\n"
        b"B,2012/13/01,x,y,z,2020-01-01T00:00:00Z,vielleicht\n"
    )
    _, records, quarantined, store = _ingest(tmp_path, db, {}, data, columns)
    with store:
        a = records["A"]
        assert str(a["day"]) == "2012-01-31"
        assert a["seen"].isoformat() == "2020-07-31T12:30:00+00:00"
        assert a["ms"].isoformat() == "2023-11-14T22:13:20.123000+00:00"
        assert a["s"].isoformat() == "2023-11-14T22:13:20+00:00"
        assert a["local"].isoformat() == "2020-01-01T05:00:00+00:00"
        assert a["ok"] is True
        [entry] = quarantined
        assert entry.reason == (
            "column 'day' (path day): expected date like %Y/%m/%d, got '2012/13/01'"
        )
        assert store.get(record_srn("thing", "harvest", "messy", "A")).columns["ok"] is True


@pytest.mark.parametrize(
    ("source", "column", "message"),
    [
        ({"delimiter": ";;"}, {}, "sources.messy.delimiter (line"),
        ({"encoding": "klingon"}, {}, "unknown encoding 'klingon'"),
        ({"header": "none"}, {}, "header: none needs the columns' `names`"),
        ({"records_path": "a.b"}, {}, "records_path (line"),
        ({}, {"format": "%Q"}, "temp.format"),
        ({}, {"timezone": "Mars/Base"}, "unknown time zone 'Mars/Base'"),
        ({"decimal": ",", "thousands": ","}, {}, "must differ from the decimal mark"),
    ],
)
def test_bad_read_options_are_config_errors_naming_the_key(
    tmp_path: Path, source: dict[str, Any], column: dict[str, Any], message: str
) -> None:
    columns = {**COLUMNS, "temp": {"type": "timestamp", **column}}
    path = project_with(tmp_path, _SQLITE, {"format": "csv", "id": "station", **source}, columns)
    with pytest.raises(ConfigError, match=None) as caught:
        ingestry.open(path)
    assert message in str(caught.value)


class _Local:
    kind = "sqlite"
    url = "sqlite:///data/ingestry.db"


_SQLITE: Any = _Local()


def test_a_csv_body_over_http_is_read_with_the_source_options(tmp_path: Path, db: Database) -> None:
    from tests.apiclient import api_client, auth, create_key

    source = {"delimiter": ";", "encoding": "latin-1", "decimal": ","}
    config = project_with(tmp_path, db, {"format": "csv", "id": "station", **source}, COLUMNS)
    token = create_key(config, "messy", ["messy"])
    body = "station;temp;rain\nSão;1,5;NA\n".encode("latin-1")
    with api_client(config) as client:
        response = client.post(
            "/v1/sources/messy/payloads",
            content=body,
            headers=auth(token, **{"content-type": "text/csv"}),
        )
    assert response.status_code in (200, 201), response.text
    with ingestry.open(config) as store:
        [record] = store.records("thing")
        assert dict(record.columns) == {"station": "São", "temp": Decimal("1.5"), "rain": None}
        assert store.raw("messy", "São")[0].payload == "São;1,5;NA".encode("latin-1")
