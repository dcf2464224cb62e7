"""The fidelity suite (issue 13): the hazard corpus (`corpus.py`) through every format and
both strategies, on SQLite and PostgreSQL, through the real CLI commands.

- Every accepted byte comes back identical: `raw show SOURCE ID --bytes` for a raw
  source's records, `quarantine show N --bytes` for every quarantined payload.
- Each payload has its expected outcome (a record, or quarantined with its bytes).
- Every record is identical across backends: `records list --json` gives the same
  bytes (once the run's moments and srn, which differ between any two runs, are masked).
- Replay is a no-op: it writes nothing and the records list the same bytes.

Replay after a re-sent file (A, B, then A again) follows the latest receipt (see
docs/receipts.md): a no-op too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ingestry.entrypoints.cli import cli
from tests.backends import POSTGRES_DEFAULT, POSTGRES_ENV, Database, database, postgres_server_url
from tests.conftest import require_service
from tests.fidelity import corpus
from tests.fidelity.corpus import FORMATS, STRATEGIES, Payload, source_name

pytestmark = pytest.mark.postgres
BACKENDS = ("sqlite", "postgres")
COMBOS = [(f, s) for f in FORMATS for s in STRATEGIES]
#: What differs between any two runs, whatever the backend: masked before comparing.
_RUN_FIELDS = re.compile(rb'"(published_at|updated_at|harvest_run_srn)":"[^"]*"')


@dataclass
class Store:
    """One backend's project: its config and a way to run the CLI on it."""

    kind: str
    config: Path
    url: str
    files: dict[str, tuple[Path, list[Payload]]] = field(default_factory=dict)

    def run(self, *args: str) -> Result:
        result = CliRunner().invoke(
            cli,
            ["--config", str(self.config), *args],
            env={"INGESTRY_DATABASE_URL": self.url},
            catch_exceptions=False,
        )
        assert result.exit_code == 0, (self.kind, args, result.output)
        return result

    def lines(self, *args: str) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.run(*args).stdout_bytes.splitlines()]

    def records(self, source: str) -> bytes:
        convention = "place" if source.startswith("geojson") else "hazard"
        listed = self.run("records", "list", "--convention", convention, "--json").stdout_bytes
        mine = [ln for ln in listed.splitlines() if f'"data_source":"{source}"'.encode() in ln]
        return b"\n".join(mine) + b"\n"


def project(root: Path, db: Database) -> Store:
    root.mkdir(parents=True, exist_ok=True)
    config = root / "ingestry.yaml"
    text = corpus.CONFIG.format(database=db.url, sources=corpus.sources_yaml())
    config.write_text(text, encoding="utf-8")
    store = Store(db.kind, config, db.url)
    for fmt in FORMATS:
        data, payloads = corpus.layout(fmt)
        path = root / f"corpus.{fmt}"
        path.write_bytes(data)
        store.files[fmt] = (path, payloads)
    return store


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Store]]:
    """The corpus ingested into every source, once per backend (module scope: the
    checks below only read)."""
    require_service("PostgreSQL", POSTGRES_ENV, POSTGRES_DEFAULT)
    root = tmp_path_factory.mktemp("fidelity")
    with (
        database("sqlite", root / "sqlite") as lite,
        database("postgres", root / "postgres", postgres_server_url()) as pg,
    ):
        made = {db.kind: project(root / db.kind, db) for db in (lite, pg)}
        for store in made.values():
            for fmt, strategy in COMBOS:
                path = store.files[fmt][0]
                store.run("ingest", source_name(fmt, strategy), str(path), "--json")
        yield made


def expected(store: Store, fmt: str) -> list[Payload]:
    payloads = store.files[fmt][1]
    if fmt == "geojson":  # a feature's integer beyond 64 bits is plain metadata there
        return [
            Payload(p.ident, p.data, "record") if p.ident == "integer-overflow" else p
            for p in payloads
        ]
    return payloads


@pytest.mark.parametrize(("fmt", "strategy"), COMBOS)
@pytest.mark.parametrize("kind", BACKENDS)
def test_each_payload_has_its_outcome_and_its_bytes_come_back(
    stores: dict[str, Store], kind: str, fmt: str, strategy: str
) -> None:
    store, source = stores[kind], source_name(fmt, strategy)
    payloads = expected(store, fmt)
    records = {r["source"]["id"]: r for r in map(json.loads, store.records(source).splitlines())}
    assert sorted(records) == sorted(p.ident for p in payloads if p.outcome == "record")
    quarantined = {q["sha256"]: q for q in store.lines("quarantine", "list", source, "--json")}
    wanted = [p for p in payloads if p.outcome == "quarantine"]
    assert len(quarantined) == len(wanted), [q["reason"] for q in quarantined.values()]
    for payload in wanted:
        entry = quarantined[_sha(payload.data)]
        shown = store.run("quarantine", "show", str(entry["id"]), "--bytes").stdout_bytes
        assert shown == payload.data, (payload.ident, entry["reason"])
    if strategy == "raw":
        for payload in payloads:
            if payload.outcome == "record":
                shown = store.run("raw", "show", source, payload.ident, "--bytes").stdout_bytes
                assert shown == payload.data, payload.ident


@pytest.mark.parametrize(("fmt", "strategy"), COMBOS)
def test_records_are_byte_identical_across_backends(
    stores: dict[str, Store], fmt: str, strategy: str
) -> None:
    source = source_name(fmt, strategy)
    lite, pg = (_RUN_FIELDS.sub(rb'"\1":"~"', stores[k].records(source)) for k in BACKENDS)
    assert lite.splitlines() == pg.splitlines()


def test_a_json_number_is_exact_in_every_column_and_backend(stores: dict[str, Store]) -> None:
    """Issue 13, item 3, on the records themselves (the corpus' first rows)."""
    for store in stores.values():
        listed = store.records("jsonl_raw")
        assert b'"total":"12345678901234567890.123456789"' in listed
        assert b'"doc":123456789012345678901234567890' in listed
        assert b'"total":"0.000000000000000000000000000001"' in listed
        assert b'"price":"12.50"' in listed
        assert b'"total":"100","price":null' in listed


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", BACKENDS)
def test_replay_is_a_no_op(stores: dict[str, Store], kind: str, fmt: str) -> None:
    store, source = stores[kind], source_name(fmt, "raw")
    before = store.records(source)
    [summary] = store.lines("replay", source, "--json")
    assert (summary["records_created"], summary["records_updated"]) == (0, 0), summary
    assert store.records(source) == before


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


# --- cases fixed on other branches (inputs, receipts) ------------------------------


def _fresh(tmp_path: Path, db: Database) -> Store:
    return project(tmp_path / "project", db)


def _ingest(store: Store, source: str, path: Path) -> Result:
    return CliRunner().invoke(
        cli,
        ["--config", str(store.config), "ingest", source, str(path), "--json"],
        env={"INGESTRY_DATABASE_URL": store.url},
    )


def test_a_json_lines_file_with_a_bom_is_read_like_json_and_csv(
    tmp_path: Path, db: Database
) -> None:
    store = _fresh(tmp_path, db)
    data, payloads = corpus.jsonl(bom=True)
    path = tmp_path / "bom.jsonl"
    path.write_bytes(data)
    store.run("ingest", "jsonl_raw", str(path), "--json")
    records = {json.loads(r)["source"]["id"] for r in store.records("jsonl_raw").splitlines()}
    assert records == {p.ident for p in payloads if p.outcome == "record"}
    first = store.run("raw", "show", "jsonl_raw", payloads[0].ident, "--bytes").stdout_bytes
    assert first == corpus.BOM + payloads[0].data  # the raw bytes keep the BOM


@pytest.mark.parametrize("fmt", ["json", "geojson"])
def test_deep_nesting_on_the_json_document_path_is_quarantined(
    tmp_path: Path, db: Database, fmt: str
) -> None:
    store = _fresh(tmp_path, db)
    deep = "[" * 500 + "]" * 500
    element = f'{{"id": "deep", "created_at": {corpus.AT}, "doc": {deep}}}'
    if fmt == "geojson":
        element = (
            f'{{"type": "Feature", "id": "deep", "geometry": null, "properties":'
            f' {{"created_at": {corpus.AT}, "extra": {deep}}}}}'
        )
        data = f'{{"type": "FeatureCollection", "features": [{element}]}}'
    else:
        data = f"[{element}]"
    path = tmp_path / f"deep.{fmt}"
    path.write_text(data)
    result = _ingest(store, f"{fmt}_raw", path)
    assert result.exit_code == 0, result.output
    [entry] = store.lines("quarantine", "list", f"{fmt}_raw", "--json")
    shown = store.run("quarantine", "show", str(entry["id"]), "--bytes").stdout_bytes
    assert shown == element.encode()


def test_an_unframeable_raw_document_is_kept_as_one_quarantined_payload(
    tmp_path: Path, db: Database
) -> None:
    store = _fresh(tmp_path, db)
    data = b'[{"id": "cut", "created_at": "2026-11-01T10:00:00Z", "note": "the rest is mis'
    path = tmp_path / "cut.json"
    path.write_bytes(data)
    result = _ingest(store, "json_raw", path)
    assert result.exit_code == 0, result.output
    [entry] = store.lines("quarantine", "list", "json_raw", "--json")
    assert store.run("quarantine", "show", str(entry["id"]), "--bytes").stdout_bytes == data


def test_replay_after_a_re_sent_file_is_a_no_op(tmp_path: Path, db: Database) -> None:
    store = _fresh(tmp_path, db)
    first, _ = corpus.jsonl()
    changed = first.replace(b'"note": "', b'"note": "changed ')
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(first)
    b.write_bytes(changed)
    for path in (a, b, a):  # A, then B, then A again: A was received last
        store.run("ingest", "jsonl_raw", str(path), "--json")
    before = store.records("jsonl_raw")
    [summary] = store.lines("replay", "jsonl_raw", "--json")
    assert (summary["records_created"], summary["records_updated"]) == (0, 0), summary
    assert store.records("jsonl_raw") == before
