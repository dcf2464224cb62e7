"""The store's node id where users see it: `status --json`, `GET /v1/node`, and the
node identity migration on a store that existed before it (both backends)."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

import ingestry
from ingestry.domain.errors import StorageError
from ingestry.store import Store
from tests.apiclient import api_client, auth, create_key
from tests.e2e.cli import run

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
    assert answer.json() == {"node_id": node}


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
