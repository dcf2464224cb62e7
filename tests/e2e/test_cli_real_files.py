"""Real-world files through the real CLI on every backend (issue 16): the raw bytes of
a Latin-1 file and of a gzip file come back exact from `raw show --bytes`."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import orjson

from tests.e2e.cli import run

STATIONS = """\
  stations:
    strategy: raw
    convention: station
    rationale: Weather exports from a partner, not re-fetchable
    format: csv
    id: code
    delimiter: ";"
    encoding: latin-1
    decimal: ","
"""
STATION = (
    "  station:\n    columns:\n      code: {type: text, required: true}\n"
    "      temp: {type: decimal}\n"
)


def add_stations(project: Path) -> None:
    config = project / "ingestry.yaml"
    text = config.read_text().replace("conventions:\n", "conventions:\n" + STATION)
    config.write_text(text + STATIONS)


def test_latin1_and_gzip_rows_come_back_exact(project: Path) -> None:
    add_stations(project)
    latin = "code;temp\nZÜR;1,5\n".encode("latin-1")
    (project / "a.csv").write_bytes(latin)
    packed = gzip.compress("code;temp\r\nGEN;-2,25\r\n".encode("latin-1"))
    (project / "b.csv.gz").write_bytes(packed)
    for name in ("a.csv", "b.csv.gz"):
        result = run("ingest", "stations", name, "--json", cwd=project)
        assert result.returncode == 0, result.stderr
        summary = orjson.loads(result.stdout)
        assert summary["records_created"] == 1 and summary["quarantined"] == 0
    assert summary["inputs"][0]["container_sha256"] == hashlib.sha256(packed).hexdigest()
    shown = run("raw", "show", "stations", "ZÜR", "--bytes", cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == "ZÜR;1,5".encode("latin-1")
    shown = run("raw", "show", "stations", "GEN", "--bytes", cwd=project)
    assert shown.stdout == b"GEN;-2,25"
    listed = run("records", "list", "--convention", "station", "--json", cwd=project)
    temps = sorted(orjson.loads(line)["columns"]["temp"] for line in listed.stdout.splitlines())
    assert temps == ["-2.25", "1.5"]


SHAPED = """\
  shaped:
    strategy: raw
    convention: station
    rationale: Needs code to reshape
    format: jsonl
    id: code
    extractor: reshape_mod:reshape
"""


def test_an_extractor_module_beside_the_config_loads_from_anywhere(
    project: Path, tmp_path: Path
) -> None:
    """Issue 16 item 6: `module:function` is imported from the config's folder first,
    with no PYTHONPATH, whatever the working directory."""
    add_stations(project)
    config = project / "ingestry.yaml"
    config.write_text(config.read_text() + SHAPED)
    (project / "reshape_mod.py").write_text(
        "def reshape(doc):\n    return {'code': doc['k'].upper(), 'temp': doc['t']}\n"
    )
    (project / "in.jsonl").write_bytes(b'{"k": "abc", "t": "1.25"}\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(
        "--config", str(config), "ingest", "shaped", str(project / "in.jsonl"), "--json",
        cwd=elsewhere,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout)["records_created"] == 1
    (project / "reshape_mod.py").unlink()
    missing = run(
        "--config", str(config), "ingest", "shaped", str(project / "in.jsonl"), cwd=elsewhere
    )
    assert missing.returncode == 1
    assert f"{project / 'reshape_mod.py'} or {project / 'reshape_mod' / '__init__.py'}" in (
        missing.stderr.decode()
    )
