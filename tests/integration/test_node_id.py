"""The store's node id where users see it: `status --json`, `GET /v1/node`, and the
node identity migration on a store that existed before it (both backends)."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

import ingestry
from ingestry.domain.errors import InputError, StorageError
from ingestry.domain.provenance import ImportSource
from ingestry.domain.records import record_srn
from ingestry.services.export import record_line
from ingestry.store import Store
from tests.apiclient import api_client, auth, create_key
from tests.e2e.cli import run
from tests.integration.test_ingest import order

NODE_ID = re.compile(r"node-[0-9a-f]{32}")
BEFORE = "20261202_160000"


def test_status_json_and_the_api_show_the_same_node_id(config_path: Path, project: Path) -> None:
    with ingestry.open(config_path) as store:
        node = store.node_id()
    assert NODE_ID.fullmatch(node)
    shown = run("status", "--json", cwd=project)
    assert shown.returncode == 0, shown.stderr
    lines = [orjson.loads(line) for line in shown.stdout.splitlines()]
    assert lines and {line["node_id"] for line in lines} == {node}
    assert {line["source"] for line in lines} >= {"customer_orders"}
    human = run("status", cwd=project)
    assert human.stdout.decode().splitlines()[0] == f"node {node}"
    token = create_key(config_path, "orders", ["customer_orders"])  # any key may read it
    with api_client(config_path) as client:
        assert client.get("/v1/node").status_code == 401
        answer = client.get("/v1/node", headers=auth(token))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"node_id": node, "conventions": ["order"]}  # what the key reads


def test_upgrading_an_older_store_gives_it_a_node_id_once(store: Store) -> None:
    first = store.node_id()
    store.schema_downgrade(BEFORE)  # a store as it was before the node identity
    with pytest.raises(StorageError, match="ingestry db upgrade"):
        store.node_id()
    store.schema_upgrade()
    upgraded = store.node_id()
    assert NODE_ID.fullmatch(upgraded) and upgraded != first  # a new node after going down
    store.schema_upgrade()  # at head already: nothing runs, the id stays
    assert store.node_id() == upgraded


def test_exports_name_the_node_and_import_as_import_uses_it(
    store: Store, project: Path, tmp_path: Path
) -> None:
    """`export` writes the node id into its manifest (records: a sidecar next to the
    file; raw bundle: manifest.json); `import --as-import` without a node takes it from
    there, so the copies' source_node is the exporting store's id, not a made-up one."""
    node = store.node_id()
    store.ingest_files("customer_orders", [project / "data/samples/orders.jsonl"])
    out = tmp_path / "out"
    done = store.export("customer_orders", format="jsonl", out=out)
    assert done.manifest is not None and Path(done.manifest).parent == out
    manifest = orjson.loads(Path(done.manifest).read_bytes())
    assert manifest["node_id"] == node and manifest["records"] == done.records > 0
    assert manifest["file"] == Path(done.files[0]).name
    raw = store.export_raw("customer_orders", out=tmp_path / "raw")
    assert orjson.loads((tmp_path / "raw" / "manifest.json").read_bytes())["node_id"] == node
    originals = [r.srn for r in store.records("order")]
    summary = store.import_export(str(out), as_import=True)
    assert summary.records_created == len(originals) and raw.payloads > 0
    for srn in originals:
        copy = store.get(record_srn("order", "import", node, srn))
        assert copy.source == ImportSource(id=srn, source_node=node)
    assert store.import_export(str(out), as_import=True).records_unchanged == len(originals)


def test_import_as_import_without_a_manifest_asks_for_the_node(
    store: Store, tmp_path: Path
) -> None:
    store.ingest("orders_simple", [order("S-1")])
    path = tmp_path / "listed.jsonl"
    path.write_bytes(b"".join(record_line(r) for r in store.records("order")))
    with pytest.raises(InputError, match=r"listed.jsonl: no manifest .* --as-import NODE"):
        store.import_export(str(path), as_import=True)
    assert store.count("order") == 1  # nothing written


def test_cli_import_as_import_takes_the_node_from_the_manifest(
    project: Path, tmp_path: Path
) -> None:
    assert run("ingest", "orders_simple", "data/samples/orders.jsonl", cwd=project).returncode == 0
    out = tmp_path / "out"
    exported = run("export", "orders_simple", "--format", "jsonl", "--out", str(out), cwd=project)
    assert exported.returncode == 0, exported.stderr
    node = orjson.loads(run("status", "--json", cwd=project).stdout.splitlines()[0])["node_id"]
    for args in (("import", "--as-import", str(out)), ("import", str(out), "--as-import")):
        done = run(*args, "--json", cwd=project)
        assert done.returncode == 0, done.stderr
        assert orjson.loads(done.stdout)["received"] > 0
    listed = run("records", "list", "--convention", "order", "--json", cwd=project)
    nodes = {
        orjson.loads(x)["source"].get("source_node")
        for x in listed.stdout.splitlines()
        if orjson.loads(x)["source"]["type"] == "import"
    }
    assert nodes == {node}
