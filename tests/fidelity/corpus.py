"""The hazard corpus: payloads that break naive data layers, in every input format.

Each hazard is one payload with a known outcome (`record`: it must become a record;
`quarantine`: it must be quarantined with its bytes) and, for the JSON family, its
exact text. The builders lay the payloads out as a file of a format (JSON Lines, a
JSON array, a GeoJSON FeatureCollection, CSV) and say which bytes each payload is, so
the suite can check that exactly those bytes come back.
"""

from __future__ import annotations

from dataclasses import dataclass

AT = '"2026-11-01T10:00:00Z"'
BOM = b"\xef\xbb\xbf"

CONFIG = """\
database: {database}
conventions:
  hazard:
    columns:
      created_at: {{path: created_at, type: timestamp, required: true}}
      total:      {{path: total_price, type: decimal}}
      price:      {{path: price, type: decimal, precision: 12, scale: 2}}
      qty:        {{path: quantity, type: integer}}
      ratio:      {{path: ratio, type: float}}
      doc:        {{path: doc, type: json}}
      note:       {{path: note, type: text}}
  place:
    columns:
      created_at: {{path: properties.created_at, type: timestamp, required: true}}
      total:      {{path: properties.total_price, type: decimal}}
      note:       {{path: properties.note, type: text}}
      geom:       {{path: geometry, type: geometry}}
sources:
{sources}
"""
FORMATS = ("jsonl", "json", "csv", "geojson")
STRATEGIES = ("raw", "simple")


def source_name(fmt: str, strategy: str) -> str:
    return f"{fmt}_{strategy}"


def sources_yaml() -> str:
    blocks = []
    for fmt in FORMATS:
        for strategy in STRATEGIES:
            convention = "place" if fmt == "geojson" else "hazard"
            blocks.append(
                f"  {source_name(fmt, strategy)}:\n    strategy: {strategy}\n"
                f"    convention: {convention}\n    rationale: the fidelity suite\n"
                f"    format: {fmt}\n    id: id\n"
            )
    return "".join(blocks)


@dataclass(frozen=True)
class Payload:
    """One payload of a laid-out file: its exact bytes and its expected outcome."""

    ident: str
    data: bytes
    outcome: str  # "record" | "quarantine"


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


#: (id, members after `"id"` and `"created_at"` as JSON text, outcome). Texts are raw
#: JSON: escapes are the payload's own.
JSON_HAZARDS: list[tuple[str, str, str]] = [
    ("big-int", '"doc": 123456789012345678901234567890, "n": 123456789012345678901234567890',
     "record"),
    ("long-decimal", '"total_price": 12345678901234567890.123456789', "record"),
    ("long-decimal-text", '"total_price": "0.000000000000000000000000000001"', "record"),
    ("neg-zero", '"total_price": -0, "ratio": -0.0, "doc": -0.0, "n": -0', "record"),
    ("exponent", '"total_price": 1E2, "ratio": 1E2, "doc": 1e16, "n": 1.5E-7', "record"),
    ("price-scale", '"price": 12.5', "record"),
    ("price-rounds", '"price": 12.345', "quarantine"),
    ("non-ascii", '"note": "é 日本 \U0001f600 \u00ff"', "record"),
    ("escapes", r'"note": "a\"b\\c\/d\u00e9\n\t\ud83d\ude00"', "record"),
    ("duplicate-keys", '"note": "first", "note": "last", "doc": {"k": 1, "k": 2}', "record"),
    ("nul", r'"note": "a\u0000b", "doc": {"\u0000": "\u0000"}', "record"),
    ("lone-surrogate", r'"note": "\ud800"', "quarantine"),
    ("nan", '"ratio": NaN', "quarantine"),
    ("infinity", '"ratio": 1e999', "quarantine"),
    ("decimal-overflow", '"total_price": "1e999999999"', "quarantine"),
    ("integer-overflow", '"quantity": 99999999999999999999', "quarantine"),
    ("nested", f'"doc": {_deep(100)}', "record"),
    ("float-digits", '"ratio": 0.30000000000000004, "doc": [1.0, 0.1, 1e300]', "record"),
]  # fmt: skip
#: Payloads only JSON Lines can carry on its own line (a JSON document would not parse).
JSONL_ONLY: list[tuple[str, bytes, str]] = [
    ("invalid-utf8", b'{"id": "invalid-utf8", "created_at": ' + AT.encode() + b', "note": "\xff"}',
     "quarantine"),
    ("not-json", b'{"id": "not-json", "created_at": ', "quarantine"),
    ("very-deep", b'{"id": "very-deep", "doc": ' + _deep(100_000).encode() + b"}", "quarantine"),
]  # fmt: skip


def _object(ident: str, members: str) -> bytes:
    return f'{{"id": "{ident}", "created_at": {AT}, {members}}}'.encode()


def jsonl(eol: bytes = b"\n", bom: bool = False) -> tuple[bytes, list[Payload]]:
    payloads = [Payload(i, _object(i, m), o) for i, m, o in JSON_HAZARDS]
    payloads += [Payload(i, d, o) for i, d, o in JSONL_ONLY]
    body = b"".join(p.data + eol for p in payloads)
    return (BOM if bom else b"") + body, payloads


def json_array(eol: bytes = b"\n") -> tuple[bytes, list[Payload]]:
    payloads = [Payload(i, _object(i, m), o) for i, m, o in JSON_HAZARDS]
    body = b"[" + eol + (b"," + eol).join(b"  " + p.data for p in payloads) + eol + b"]" + eol
    return body, payloads


def geojson(eol: bytes = b"\n") -> tuple[bytes, list[Payload]]:
    payloads = []
    for ident, members, outcome in JSON_HAZARDS:
        members = members.replace('"doc"', '"extra"').replace('"price"', '"extra_price"')
        if ident == "price-rounds":
            continue  # no price column in `place`
        feature = (
            f'{{"type": "Feature", "id": "{ident}", "geometry": {{"type": "Point",'
            f' "coordinates": [-0.0, 1E2]}}, "properties": {{"created_at": {AT}, {members}}}}}'
        )
        payloads.append(Payload(ident, feature.encode(), outcome))
    features = (b"," + eol).join(p.data for p in payloads)
    body = b'{"type": "FeatureCollection", "features": [' + eol + features + eol + b"]}" + eol
    return body, payloads


CSV_HEADER = b"id,created_at,total_price,price,quantity,ratio,doc,note"
#: (id, the row's cells after id and created_at, outcome)
CSV_HAZARDS: list[tuple[str, bytes, str]] = [
    ("big-int", b",,,,123456789012345678901234567890,", "record"),
    ("long-decimal", b"12345678901234567890.123456789,,,,,", "record"),
    ("neg-zero", b"-0,-0.00,0,-0.0,-0,", "record"),
    ("exponent", b"1E2,1e0,,1E2,1e16,", "record"),
    ("quoted", b',,,,"{""k"": ""a,b""}","a,""b""\nc\r\nd"', "record"),
    ("non-ascii", "0.10,,,,,é 日本 \U0001f600".encode(), "record"),
    ("nul", b",,,,,a\x00b", "record"),
    ("decimal-overflow", b"1e999999999,,,,,", "quarantine"),
    ("integer-overflow", b",,99999999999999999999,,,", "quarantine"),
    ("price-rounds", b",12.345,,,,", "quarantine"),
    ("invalid-utf8", b",,,,,\xff", "quarantine"),
    ("short-row", b",", "quarantine"),
    ("bad-json-cell", b",,,,{nope,", "quarantine"),
]


def csv(eol: bytes = b"\n", bom: bool = False) -> tuple[bytes, list[Payload]]:
    payloads = [
        Payload(i, i.encode() + b",2026-11-01T10:00:00Z," + cells, o) for i, cells, o in CSV_HAZARDS
    ]
    body = (BOM if bom else b"") + CSV_HEADER + eol + b"".join(p.data + eol for p in payloads)
    return body, payloads


def layout(fmt: str) -> tuple[bytes, list[Payload]]:
    """The corpus file of a format; CRLF line ends where the format allows both."""
    if fmt == "jsonl":
        return jsonl(eol=b"\r\n")
    if fmt == "json":
        return json_array(eol=b"\r\n")
    if fmt == "geojson":
        return geojson()
    return csv(eol=b"\r\n", bom=True)
