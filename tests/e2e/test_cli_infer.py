"""`sources infer` on five public-style files the test makes (issue 16, item 5): each
proposal, merged into the config with `--write`, ingests every row with nothing
quarantined, on every backend; comments of the config survive the merge."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from tests.e2e.cli import run


def _weather(path: Path) -> None:
    """Semicolon, Latin-1, decimal comma (a European weather export)."""
    lines = ["Station;Datum;Temperatur;Niederschlag"]
    for n in range(400):
        lines.append(f"Zürich-{n};2012-01-{n % 28 + 1:02d};{n % 30 - 5},{n % 10};{n % 7},5")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))


def _flights(path: Path) -> None:
    """R-style NA markers in numeric columns, 2.4% of them."""
    rng = random.Random(3)
    lines = ["flight_id,carrier,dep_delay,arr_delay,distance"]
    for n in range(3000):
        delay = "NA" if n % 41 == 0 else str(rng.randint(-20, 300))
        arrival = "NA" if n % 53 == 0 else f"{rng.uniform(-30, 300):.1f}"
        lines.append(
            f"{n},{rng.choice(['UA', 'AA', 'NA'])},{delay},{arrival},{rng.randint(80, 4000)}"
        )
    path.write_text("\n".join(lines) + "\n")


def _slash_dates(path: Path) -> None:
    lines = ["date,station_code,max_temp,min_temp"]
    for n in range(365):
        lines.append(f"2012/{n // 28 % 12 + 1:02d}/{n % 28 + 1:02d},ST{n},{n % 35}.5,{n % 20 - 10}")
    path.write_text("\n".join(lines) + "\n")


def _epoch_ms(path: Path) -> None:
    rows = [
        {"event": f"e{n}", "ts": 1700000000000 + n * 1234, "value": n * 0.5, "ok": n % 2 == 0}
        for n in range(500)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def _json_at_a_path(path: Path) -> None:
    doc = {
        "meta": {"count": 120, "tags": ["a", "b"]},
        "data": {"items": [{"sku": f"S-{n}", "price": f"{n}.99", "stock": n} for n in range(120)]},
    }
    path.write_text(json.dumps(doc, indent=1))


FILES: dict[str, tuple[str, Callable[[Path], None], int]] = {
    "weather": ("wetter.csv", _weather, 400),
    "flights": ("flights.csv", _flights, 3000),
    "daily": ("daily.csv", _slash_dates, 365),
    "events": ("events.jsonl", _epoch_ms, 500),
    "catalog": ("catalog.json", _json_at_a_path, 120),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_infer_proposes_a_config_that_ingests_every_row(project: Path, name: str) -> None:
    file_name, make, rows = FILES[name]
    path = project / file_name
    make(path)
    config = project / "ingestry.yaml"
    config.write_text("# my notes stay\n" + config.read_text())
    shown = run("sources", "infer", file_name, "--name", name, "--rows", "200", cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.decode().startswith(f"# ingestry sources infer {file_name}")
    written = run(
        "sources", "infer", file_name, "--name", name, "--rows", "200", "--write", "--json",
        cwd=project,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    proposal = orjson.loads(written.stdout)
    assert proposal["yaml"] == shown.stdout.decode()
    assert config.read_text().startswith("# my notes stay\n")
    result = run("ingest", name, file_name, "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert (summary["records_created"], summary["quarantined"]) == (rows, 0), proposal["yaml"]
    again = run("sources", "infer", file_name, "--name", name, "--write", cwd=project)
    assert again.returncode == 1 and b"exists already" in again.stderr


def test_the_proposal_says_what_it_saw(project: Path) -> None:
    _flights(project / "flights.csv")
    _weather(project / "wetter.csv")
    _slash_dates(project / "daily.csv")
    _epoch_ms(project / "events.jsonl")
    _json_at_a_path(project / "catalog.json")

    def proposal(file_name: str) -> dict[str, object]:
        out = run("sources", "infer", file_name, "--name", "x", "--json", cwd=project)
        assert out.returncode == 0, out.stderr
        loaded: dict[str, object] = orjson.loads(out.stdout)
        return loaded

    flights = proposal("flights.csv")
    text = str(flights["yaml"])
    assert 'dep_delay: {type: "integer"}  # integer, 2.4% null (NA)' in text
    assert 'carrier: {type: "text"}' in text  # NA among text is a carrier code
    assert 'id: "flight_id"' in text
    weather = str(proposal("wetter.csv")["yaml"])
    for part in ('delimiter: ";"', 'encoding: "cp1252"', 'decimal: ","', 'type: "date"'):
        assert part in weather
    assert 'format: "%Y/%m/%d"' in str(proposal("daily.csv")["yaml"])
    assert 'format: "epoch_ms"' in str(proposal("events.jsonl")["yaml"])
    catalog = proposal("catalog.json")
    assert 'records_path: "data.items"' in str(catalog["yaml"])
    assert catalog["rows_total"] == 120
