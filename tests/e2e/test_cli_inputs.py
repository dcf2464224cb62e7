"""Inputs that never crash and never drop bytes, through the real CLI (every backend):
BOMs, deep nesting, unframeable documents, CSV headers, runs where nothing passes."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson

from tests.e2e.cli import run

BOM = b"\xef\xbb\xbf"
ROW = b'{"id":"%s","type":"order","created_at":"2026-01-01T00:00:00Z"}'


def summary_of(result: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    loaded = orjson.loads(result.stdout)
    assert isinstance(loaded, dict), result.stdout
    return loaded


def test_a_jsonl_file_starting_with_a_bom_is_read_like_json_and_csv(project: Path) -> None:
    first, second = ROW % b"BOM-1", ROW % b"BOM-2"
    (project / "bom.jsonl").write_bytes(BOM + first + b"\r\n" + second + b"\n")
    result = run("ingest", "customer_orders", "bom.jsonl", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    summary = summary_of(result)
    assert summary["quarantined"] == 0 and summary["records_created"] == 2
    shown = run("raw", "show", "customer_orders", "BOM-1", "--bytes", cwd=project)
    assert shown.stdout == BOM + first  # the raw bytes keep the BOM
    replay = run("replay", "customer_orders", "--json", cwd=project)
    assert replay.returncode == 0, replay.stderr
    again = summary_of(replay)
    assert again["records_unchanged"] == 2 and again["quarantined"] == 0


# --- nesting: one limit, one reason, every path ------------------------------------------

TOO_DEEP = "JSON nested deeper than 254 levels"
PLACES = """\
  places:
    strategy: raw
    convention: place
    rationale: Partner GeoJSON uploads
    format: geojson
    id: id
"""


def add_places(project: Path) -> None:
    """A GeoJSON source (the shared test config has none)."""
    config = project / "ingestry.yaml"
    place = "  place:\n    columns:\n      name: {path: properties.name}\n"
    text = config.read_text().replace("conventions:\n", "conventions:\n" + place)
    config.write_text(text + PLACES)


def nested(ident: str, levels: int) -> bytes:
    """An order whose `deep` member makes the whole document `levels` levels deep."""
    inner = b"[" * (levels - 1) + b"1" + b"]" * (levels - 1)
    return (ROW % ident.encode())[:-1] + b',"deep":' + inner + b"}"


def as_document(fmt: str, payload: bytes) -> bytes:
    if fmt == "jsonl":
        return payload + b"\n"
    if fmt == "json":
        return b"[" + payload + b"]"
    feature = payload.replace(b'"type":"order"', b'"type":"Feature","properties":{}', 1)
    return b'{"type":"FeatureCollection","features":[' + feature + b"]}"


SOURCES = {"jsonl": "customer_orders", "json": "orders_json", "geojson": "places"}


def test_nesting_has_one_limit_and_one_reason_on_every_path(project: Path) -> None:
    add_places(project)
    for fmt, source in SOURCES.items():
        names = []
        for levels in (254, 255, 500, 100_000):
            path = project / f"deep-{levels}.{fmt}"
            path.write_bytes(as_document(fmt, nested(f"{fmt}-{levels}", levels)))
            names.append(path.name)
        result = run("ingest", source, *names, "--json", cwd=project)
        assert result.returncode == 0, (fmt, result.stderr[-500:])
        summary = summary_of(result)
        assert (summary["records_created"], summary["quarantined"]) == (1, 3), (fmt, summary)
        listed = run("quarantine", "list", source, "--json", cwd=project)
        reasons = [orjson.loads(line)["reason"] for line in listed.stdout.splitlines()]
        assert reasons == [TOO_DEEP] * 3, (fmt, reasons)


# --- CSV header without the id; runs where nothing passes ---------------------------------


def test_a_csv_header_without_the_id_column_is_refused_before_the_first_row(
    project: Path,
) -> None:
    (project / "rates.csv").write_bytes(
        b"day,base,quote,rate,provider,a,b,c,d,e,f,g\n2026-11-01,EUR,USD,1.08,ecb,,,,,,,\n"
    )
    for args, stdin in (("rates.csv",), None), (("-",), (project / "rates.csv").read_bytes()):
        result = run("ingest", "exchange_rates", *args, cwd=project, stdin=stdin)
        assert result.returncode == 1
        name = "rates.csv" if args == ("rates.csv",) else "<stdin>"
        assert result.stderr.decode().strip() == (
            f"error: {name}: header has no 'date' "
            "(found: day, base, quote, rate, provider, a, b, c, d, e, …)"
        )
    stats = summary_of(run("stats", "--json", cwd=project))
    assert stats["exchange_rates"] == {"raw_rows": 0, "records": 0, "quarantined": 0}


def test_a_run_that_quarantines_everything_says_so(project: Path) -> None:
    (project / "bad.jsonl").write_bytes(b'{"id":"N1"}\n{"id":"N2"}\nnot json\n')
    result = run("ingest", "customer_orders", "bad.jsonl", "--json", cwd=project)
    assert result.returncode == 0
    assert summary_of(result)["quarantined"] == 3
    assert result.stderr.decode().strip() == (
        "warning: customer_orders: every payload was quarantined (3 of 3); "
        "see `ingestry quarantine list customer_orders`"
    )
    text = run("ingest", "customer_orders", "bad.jsonl", cwd=project)
    assert text.returncode == 0 and b"every payload was quarantined" in text.stderr
    strict = run("ingest", "customer_orders", "bad.jsonl", "--strict", cwd=project)
    assert strict.returncode == 1 and b"line 1" in strict.stderr
    fine = run("ingest", "customer_orders", "data/samples/orders.jsonl", cwd=project)
    assert fine.returncode == 0 and fine.stderr == b""


# --- documents that do not frame: kept whole (raw) or refused whole (simple) ----------------

SIMPLE_JSON = """\
  orders_json_simple:
    strategy: simple
    convention: order
    rationale: Re-fetchable JSON exports
    format: json
    id: id
"""
CUT_SHORT = "unexpected end of JSON document at line 1"


def elements(prefix: str, count: int) -> bytes:
    return b"[" + b",".join(ROW % f"{prefix}-{n}".encode() for n in range(count)) + b"]"


def quarantined(project: Path, source: str) -> list[dict[str, Any]]:
    listed = run("quarantine", "list", source, "--json", cwd=project)
    return [orjson.loads(line) for line in listed.stdout.splitlines()]


def shown(project: Path, entry: dict[str, Any]) -> bytes:
    return run("quarantine", "show", str(entry["id"]), "--bytes", cwd=project).stdout


def test_a_raw_source_keeps_a_document_that_does_not_frame_whole(project: Path) -> None:
    add_places(project)
    cut = elements("CUT", 2)[:-1] + b',{"id":'  # cut short after two whole elements
    big = elements("BIG", 6000)[:-1] + b" {"  # more than a batch of whole elements first
    good = elements("GOOD", 2)
    for name, data in (("cut.json", cut), ("big.json", big), ("good.json", good)):
        (project / name).write_bytes(data)
    result = run("ingest", "orders_json", "good.json", "cut.json", "big.json", "--json",
                 cwd=project)  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = summary_of(result)
    assert (summary["received"], summary["records_created"]) == (4, 2)
    assert (summary["raw_stored"], summary["quarantined"]) == (4, 2)
    entries = quarantined(project, "orders_json")
    assert [(e["origin"], e["line"], e["reason"]) for e in entries] == [
        ("cut.json", 1, CUT_SHORT),
        ("big.json", 1, CUT_SHORT),
    ]
    assert [shown(project, e) for e in entries] == [cut, big]
    stdin = run("ingest", "orders_json", "-", "--json", cwd=project, stdin=cut + b" ")
    assert summary_of(stdin)["quarantined"] == 1
    assert shown(project, quarantined(project, "orders_json")[-1]) == cut + b" "
    feature = b'{"type":"FeatureCollection","features":[{"type":"Feature","id":"P1"'
    (project / "cut.geojson").write_bytes(feature)
    places = run("ingest", "places", "cut.geojson", "--json", cwd=project)
    assert summary_of(places)["quarantined"] == 1
    assert shown(project, quarantined(project, "places")[0]) == feature
    strict = run("ingest", "orders_json", "good.json", "cut.json", "--strict", cwd=project)
    assert strict.returncode == 1
    assert strict.stderr.decode().strip() == (
        f"error: orders_json: cut.json line 1: {CUT_SHORT} (--strict: nothing was written)"
    )
    stats = summary_of(run("stats", "--json", cwd=project))["orders_json"]
    assert stats == {"raw_rows": 5, "records": 2, "quarantined": 3}


def test_a_simple_source_refuses_a_document_that_does_not_frame(project: Path) -> None:
    config = project / "ingestry.yaml"
    config.write_text(config.read_text() + SIMPLE_JSON)
    (project / "good.json").write_bytes(elements("GOOD", 2))
    (project / "big.json").write_bytes(elements("BIG", 6000)[:-1] + b',{"id":')
    result = run("ingest", "orders_json_simple", "good.json", "big.json", cwd=project)
    assert result.returncode == 1
    assert result.stderr.decode().strip() == f"error: big.json: {CUT_SHORT}"
    stats = summary_of(run("stats", "--json", cwd=project))["orders_json_simple"]
    assert stats == {"raw_rows": 0, "records": 0, "quarantined": 0}  # nothing written


def test_an_unframeable_document_longer_than_max_line_bytes_is_streamed_whole(
    project: Path,
) -> None:
    cut = elements("LONG", 60)[:-1]  # ~4 KB, no closing bracket
    (project / "long-cut.json").write_bytes(cut)
    env = {"INGESTRY_MAX_LINE_BYTES": "1000"}
    for args, stdin in ((("long-cut.json",), None), (("-",), cut + b"\n")):
        result = run("ingest", "orders_json", *args, "--json", cwd=project, stdin=stdin, env=env)
        assert summary_of(result)["quarantined"] == 1, result.stderr
    entries = quarantined(project, "orders_json")
    assert [e["reason"] for e in entries] == [CUT_SHORT, CUT_SHORT.replace("1", "2")]
    assert [shown(project, e) for e in entries] == [cut, cut + b"\n"]
