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
