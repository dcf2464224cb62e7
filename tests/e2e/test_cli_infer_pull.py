"""`sources infer URL` (docs/harvest.md, "Proposing a pull"): from an API's first page,
a convention, where the items are and the paginator the page points at. Each
proposal, merged with `--write`, harvests every item of the real test upstream, on
every backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from tests.e2e.cli import run
from tests.harvest_upstream import Upstream, make_items, serve

PATHS = {
    # what the first page shows: (the URL asked, the paginator proposed)
    "link": ("/link", '{type: "link_header"}'),
    "jsonlink": ("/jsonlink", '{type: "json_link", path: "next"}'),
    "cursor": ("/cursor", '{type: "cursor", path: "next_cursor", param: "cursor"}'),
    "offset": ("/offset?offset=0&limit=10", '{type: "offset", limit: 10}'),
    "pages": ("/pages?page=1", '{type: "page_number", start: 1}'),
    # OData's next link: a key with a dot, quoted in the path
    "odata": ("/odata", '{type: "json_link", path: "\\"@odata.nextLink\\""}'),
    "after": (
        "/after",
        '{type: "cursor", last_item: "id", param: "starting_after", has_more: "has_more"}',
    ),
}


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve(Upstream(items=make_items(35), page_size=10)) as up:
        yield up


@pytest.mark.parametrize("kind", sorted(PATHS))
def test_the_proposal_harvests_every_item(project: Path, upstream: Upstream, kind: str) -> None:
    path, paginator = PATHS[kind]
    written = run(
        "sources", "infer", upstream.url + path, "--name", kind, "--write", "--json", cwd=project
    )
    assert written.returncode == 0, written.stderr
    proposal = orjson.loads(written.stdout)
    assert f"      paginator: {paginator}  # " in proposal["yaml"]
    # the items change at updated_at: incremental pulls proposed, commented out
    assert "      # cursor: {field: updated_at, param: PARAM}  # " in proposal["yaml"]
    assert proposal["rows_sampled"] == 10
    assert proposal["sources"][kind]["pull"]["url"] == upstream.url + path.split("?")[0]
    columns = proposal["conventions"][kind]["columns"]
    assert len(columns) == 4 and columns["amount"] == {"type": "integer"}
    done = run("harvest", kind, "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    summary = orjson.loads(done.stdout)
    assert (summary["records_created"], summary["quarantined"]) == (35, 0), proposal["yaml"]


def test_a_token_is_sent_from_the_environment_and_never_written(
    local_project: Path, upstream: Upstream
) -> None:
    upstream.token = "s3cret-token"
    url = upstream.url + "/cursor"
    refused = run("sources", "infer", url, cwd=local_project)
    assert refused.returncode != 0
    assert b"answered 401" in refused.stderr and b"--bearer-env" in refused.stderr
    env = {"API_TOKEN": "s3cret-token"}
    shown = run(
        "sources",
        "infer",
        url,
        "--bearer-env",
        "API_TOKEN",
        "--header",
        "Accept: application/json",
        cwd=local_project,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout.decode()
    assert 'auth: {type: "bearer", env: "API_TOKEN"}' in text
    assert 'headers: {Accept: "application/json"}' in text
    assert "s3cret" not in text
    assert upstream.headers[-1]["accept"] == "application/json"


def test_an_answer_that_is_not_a_list_of_objects_is_an_error(
    local_project: Path, upstream: Upstream
) -> None:
    upstream.items = []
    done = run("sources", "infer", upstream.url + "/cursor", cwd=local_project)
    assert done.returncode != 0 and b"no list of objects" in done.stderr
    missing = run("sources", "infer", upstream.url + "/nowhere", cwd=local_project)
    assert missing.returncode != 0 and b"answered 404" in missing.stderr
