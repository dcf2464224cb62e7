"""A project whose sources pull from a test upstream (tests/harvest_upstream.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

import ingestry
from ingestry.store import Store
from tests.backends import Database
from tests.conftest import DEFAULT_SQLITE
from tests.harvest_upstream import Upstream

CONVENTION = """\
conventions:
  item:
    columns:
      name: {path: name, type: text}
      amount: {path: amount, type: integer}
      changed_at: {path: updated_at, type: text}
"""

PAGINATORS: dict[str, tuple[str, str, str | None]] = {
    # name: (path, paginator yaml, items path)
    "link": ("/link", "{type: link_header}", None),
    "jsonlink": ("/jsonlink", "{type: json_link, path: next}", "data.items"),
    "cursor": ("/cursor", "{type: cursor, path: next_cursor, param: cursor}", "items"),
    "offset": ("/offset", "{type: offset, limit: 10}", "items"),
    "pages": ("/pages", "{type: page_number}", None),
    # OData v4: the next link's key holds a dot, so the path quotes it
    "odata": ("/odata", """{type: json_link, path: '"@odata.nextLink"'}""", "value"),
}


def source_yaml(
    name: str,
    url: str,
    paginator: str,
    items: str | None,
    *,
    strategy: str = "raw",
    extra: str = "",
) -> str:
    lines = [
        f"  {name}:",
        f"    strategy: {strategy}",
        "    convention: item",
        "    rationale: rate-limited partner API",
        "    id: id",
        "    pull:",
        f"      url: {url}",
        f"      paginator: {paginator}",
        "      timeout: 1.0",
        "      backoff_seconds: 0.01",
        "      max_backoff_seconds: 2",
    ]
    if items:
        lines.append(f"      items: {items}")
    lines += [f"      {line}" for line in extra.splitlines() if line.strip()]
    return "\n".join(lines) + "\n"


def write_config(root: Path, database_url: str, sources: str) -> Path:
    path = root / "ingestry.yaml"
    path.write_text(f"database: {database_url}\n{CONVENTION}sources:\n{sources}", encoding="utf-8")
    (root / "data").mkdir(exist_ok=True)
    return path


def records(store: Store, source: str | None = None) -> dict[str, dict[str, Any]]:
    """id → columns of every `item` record (of `source`, when given)."""
    found = {}
    for record in store.records("item", limit=1_000_000):
        if source is None or getattr(record.source, "upstream_source", None) == source:
            found[record.source.id] = dict(record.columns)
    return found


def as_json(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What `records` gives for these upstream items."""
    return {
        i["id"]: {"name": i["name"], "amount": i["amount"], "changed_at": i["updated_at"]}
        for i in orjson.loads(orjson.dumps(items))
    }


def open_with(tmp_path: Path, db: Database, sources: str) -> Store:
    """A store on `db` whose config holds `sources` (YAML entries) and `CONVENTION`."""
    url = db.url if db.kind == "postgres" else DEFAULT_SQLITE
    return ingestry.open(write_config(tmp_path, url, sources))


def one_source(tmp_path: Path, db: Database, up: Upstream, kind: str = "link", **kw: str) -> Store:
    """One source `api` pulling `up` through paginator `kind` (`PAGINATORS`)."""
    path, paginator, items = PAGINATORS[kind]
    return open_with(tmp_path, db, source_yaml("api", up.url + path, paginator, items, **kw))
