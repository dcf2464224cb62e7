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
